from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from truthset.cli.common import DatabaseUrl, DataDir, echo_json, handle_errors, workspace
from truthset.errors import BadInput


@handle_errors
def simulate(
    job: str,
    answers: Annotated[
        Path | None,
        typer.Option(
            help="replay recorded answers (task,worker,label): one account per recorded worker"
        ),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(help="true labels (task,label) that synthetic workers answer from"),
    ] = None,
    workers: Annotated[int, typer.Option(help="number of synthetic workers")] = 10,
    worker_accuracy: Annotated[
        str,
        typer.Option(help="accuracy of each synthetic worker; a comma-separated list is cycled"),
    ] = "0.8",
    spammers: Annotated[float, typer.Option(help="share of workers answering at random")] = 0.0,
    gold: Annotated[Path | None, typer.Option(help="task,label to score the final labels")] = None,
    concurrency: Annotated[int, typer.Option(help="requests in flight at once")] = 16,
    seed: int = 0,
    server: Annotated[str | None, typer.Option(help="URL of a running server")] = None,
    token: Annotated[str | None, typer.Option(help="an admin token for --server")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="stop after this long")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Rehearse a job against the real API with simulated workers, then score its labels."""
    from truthset.sdk import Client
    from truthset.simulate.runner import run_simulation, score
    from truthset.simulate.workers import read_csv, replay_workers, synthetic_workers

    if (answers is None) == (truth is None):
        raise BadInput("give either --answers (replay) or --truth (synthetic workers)")
    truth_map = {r["task"]: r["label"] for r in read_csv(truth, ("task", "label"))} if truth else {}
    gold_map = (
        {r["task"]: r["label"] for r in read_csv(gold, ("task", "label"))}
        if gold
        else dict(truth_map)
    )
    sim_workers = (
        replay_workers(answers, seed)
        if answers
        else synthetic_workers(workers, worker_accuracy, spammers, seed)
    )
    stop = None
    if server is None:
        from truthset.api.tokens import issue_token
        from truthset.server.serve import start_background_server
        from truthset.workforce.service import create_user

        ws = workspace(data_dir, database_url)
        with ws.db.session_scope() as session:
            from sqlalchemy import select

            from truthset.store.models import User

            admin = session.scalar(select(User).where(User.name == "simulator"))
            if admin is None:
                admin = create_user(session, "simulator", role="admin")
            token = issue_token(session, admin, name="simulate")
        server, stop = start_background_server(ws)
    elif not token:
        raise BadInput("--server needs --token (an admin's API token)")
    assert token is not None
    try:
        report = run_simulation(
            server,
            token,
            job,
            sim_workers,
            truth_map,
            concurrency=concurrency,
            max_seconds=max_seconds,
        )
        with Client(server, token) as admin_client:
            info = admin_client.job(job)
            if info["state"] == "completed" and (info.get("settings") or {}).get("quality", {}).get(
                "method"
            ) not in (None, "mv"):
                admin_client.consolidate(job)
            labels = admin_client.labels(job)
            report.final = {
                "state": info["state"],
                "counters": admin_client.job(job)["counters"],
                **score(labels, gold_map),
            }
    finally:
        if stop is not None:
            stop()
    out = report.as_dict()
    typer.echo(
        f"{job}: {out['answers']:,} answers by {out['workers']} simulated workers in "
        f"{out['seconds']} s ({out['answers_per_second']}/s); accuracy on gold "
        f"{out.get('accuracy_on_gold')}",
        err=True,
    )
    echo_json(out)
    if os.environ.get("TRUTHSET_SIMULATE_STRICT") and out["errors"]:
        raise typer.Exit(1)
