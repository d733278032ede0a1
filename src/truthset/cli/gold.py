from __future__ import annotations

from pathlib import Path

import typer

from truthset.cli.common import DatabaseUrl, DataDir, echo_json, handle_errors, workspace
from truthset.jobs.service import get_job

app = typer.Typer(help="Gold items: known answers mixed into the work.", no_args_is_help=True)


@app.command("add")
@handle_errors
def add_cmd(
    job: str, gold: Path, data_dir: DataDir = None, database_url: DatabaseUrl = None
) -> None:
    """Mark items as gold from a CSV `task,label` (task = item id; multi-label: a|b)."""
    from truthset.quality.gold import add_gold, read_gold_csv

    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        the_job = get_job(session, job)
        echo_json(add_gold(session, the_job, read_gold_csv(gold, the_job.task_type)))
