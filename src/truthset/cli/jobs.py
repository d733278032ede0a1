from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from truthset.cli.common import (
    DatabaseUrl,
    DataDir,
    echo_json,
    handle_errors,
    read_json_file,
    run_here,
    workspace,
)
from truthset.datasets.sources import read_json_document
from truthset.errors import BadInput
from truthset.jobs import service, views
from truthset.jobs.schemas import JobCreate

app = typer.Typer(help="Labeling jobs.", no_args_is_help=True)


@app.command("create")
@handle_errors
def create_cmd(
    name: Annotated[
        str | None, typer.Argument(help="job name (a Ground Truth request names its own)")
    ] = None,
    task_type: Annotated[
        str | None, typer.Option("--task-type", help="e.g. text-classification")
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(help="Ground Truth label category file (JSON): a path or s3://bucket/key"),
    ] = None,
    from_ground_truth: Annotated[
        Path | None,
        typer.Option(
            "--from-ground-truth",
            help="a SageMaker CreateLabelingJob request (JSON, as the API or boto3 takes it)",
        ),
    ] = None,
    allow_root: Annotated[
        list[str] | None,
        typer.Option(help="extra folder or s3://bucket/prefix the request may read from"),
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="input dataset")] = None,
    input_job: Annotated[str | None, typer.Option(help="chain from this job's output")] = None,
    workers_per_item: int = 1,
    team: Annotated[list[str] | None, typer.Option(help="team that may work on it")] = None,
    instructions: Annotated[Path | None, typer.Option(help="Markdown instructions")] = None,
    task_time_limit: int = 300,
    task_availability: int = 864000,
    max_concurrent_tasks: int = 1000,
    max_human_labeled: int | None = None,
    max_percentage_labeled: float | None = None,
    auto_label: Annotated[
        bool, typer.Option("--auto-label", help="a model labels the items it is sure of")
    ] = False,
    target_accuracy: Annotated[float, typer.Option(help="auto-label accuracy to guarantee")] = 0.95,
    confidence_level: Annotated[
        float, typer.Option(help="confidence level of the accuracy guarantee")
    ] = 0.95,
    al_strategy: Annotated[
        str,
        typer.Option(
            help="active learning: margin, least-confidence, entropy, k-center, mix, random..."
        ),
    ] = "margin",
    label_attribute: str | None = None,
    settings: Annotated[Path | None, typer.Option(help="JSON file of job settings")] = None,
    template: Annotated[
        str | None,
        typer.Option(help="worker task template (HTML + Liquid): a path or s3://; a custom job"),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a labeling job over a dataset or another job's output, or from a Ground
    Truth CreateLabelingJob request (--from-ground-truth: its manifest is imported into a
    dataset named after the job; fields without an equivalent are listed as warnings)."""
    if from_ground_truth is not None:
        given = {
            "NAME": name,
            "--task-type": task_type,
            "--labels": labels,
            "--dataset": dataset,
            "--input-job": input_job,
            "--team": team,
            "--max-human-labeled": max_human_labeled,
            "--max-percentage-labeled": max_percentage_labeled,
            "--label-attribute": label_attribute,
            "--settings": settings,
            "--template": template,
            "--auto-label": auto_label or None,
            "--workers-per-item": None if workers_per_item == 1 else workers_per_item,
            "--task-time-limit": None if task_time_limit == 300 else task_time_limit,
            "--task-availability": None if task_availability == 864000 else task_availability,
            "--max-concurrent-tasks": None
            if max_concurrent_tasks == 1000
            else max_concurrent_tasks,
        }
        clashing = [option for option, value in given.items() if value]
        if clashing:
            raise BadInput(
                f"--from-ground-truth takes the job from the request; {', '.join(clashing)} "
                "cannot be given with it (only --instructions and --allow-root)"
            )
        _create_from_ground_truth(
            from_ground_truth, instructions, allow_root or [], data_dir, database_url
        )
        return
    if template is not None:
        task_type = task_type or "custom"
    if name is None or task_type is None or (labels is None and template is None):
        raise BadInput("give NAME, --task-type and --labels (or --from-ground-truth REQUEST.json)")
    job_settings = read_json_file(settings, "settings") if settings else {}
    if auto_label:
        # Other auto-labeling keys (features, batch_size, warm_start) may come from --settings.
        from_file = job_settings.get("auto_label")
        job_settings["auto_label"] = {
            **(from_file if isinstance(from_file, dict) else {}),
            "target_accuracy": target_accuracy,
            "confidence_level": confidence_level,
            "strategy": al_strategy,
        }
    ws = workspace(data_dir, database_url)
    if template is not None:
        from truthset.templates.sources import read_text_document

        html = read_text_document(template, "template", endpoint_url=ws.settings.s3_endpoint_url)
        job_settings["template"] = {"html": html, "source": template}
    spec = JobCreate(
        name=name,
        task_type=task_type,
        label_config=None
        if labels is None
        else read_json_document(
            labels, "label category file", endpoint_url=ws.settings.s3_endpoint_url
        ),
        dataset=dataset,
        input_job=input_job,
        workers_per_item=workers_per_item,
        teams=team or [],
        instructions=instructions.read_text(encoding="utf-8") if instructions else "",
        task_time_limit=task_time_limit,
        task_availability=task_availability,
        max_concurrent_tasks=max_concurrent_tasks,
        max_human_labeled=max_human_labeled,
        max_percentage_labeled=max_percentage_labeled,
        label_attribute=label_attribute,
        settings=job_settings,
    )
    with ws.db.session_scope() as session:
        job = service.create_job(session, spec)
        echo_json(views.job_summary(session, job, for_staff=True))


def _create_from_ground_truth(
    request_path: Path,
    instructions: Path | None,
    allow_root: list[str],
    data_dir: str | None,
    database_url: str | None,
) -> None:
    from truthset.sagemaker.service import create_from_request, env_region

    request = read_json_file(request_path, "request")
    ws = workspace(data_dir, database_url, allow_root)
    base_dir = request_path.resolve().parent
    # Local files the request names may also lie beside the request file.
    roots = ws.roots()
    roots.add(str(base_dir))
    with ws.db.session_scope() as session:
        created = create_from_request(
            session,
            request,
            roots=roots,
            allowed_roots=ws.allowed_roots,
            endpoint_url=ws.settings.s3_endpoint_url,
            created_by=None,
            region=env_region(),
            instructions=instructions.read_text(encoding="utf-8") if instructions else None,
            base_dir=base_dir,
        )
        echo_json(
            {
                "job": views.job_summary(session, created.job, for_staff=True),
                "import": created.imported,
                "warnings": created.mapped.warnings,
            }
        )


@app.command("list")
@handle_errors
def list_cmd(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        from sqlalchemy import select

        from truthset.store.models import Job

        for job in session.scalars(select(Job).order_by(Job.id)):
            c = service.counters(session, job.id)
            typer.echo(
                f"{job.name:30} {job.state:12} {job.task_type:32} total={c['total']} "
                f"human={c['human_labeled']} machine={c['machine_labeled']} "
                f"failed={c['failed']} unlabeled={c['unlabeled']}"
            )


@app.command("show")
@handle_errors
def show_cmd(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        echo_json(views.job_summary(session, service.get_job(session, name), for_staff=True))


@app.command("stop")
@handle_errors
def stop_cmd(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        job = service.stop_job(session, service.get_job(session, name))
        typer.echo(f"{job.name}: {job.state}")


@app.command("resume")
@handle_errors
def resume_cmd(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        job = service.resume_job(session, service.get_job(session, name))
        typer.echo(f"{job.name}: {job.state}")


@app.command("delete")
@handle_errors
def delete_cmd(
    name: str,
    yes: Annotated[bool, typer.Option("--yes")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    if not yes:
        typer.confirm(f"delete job {name} with all its answers and labels?", abort=True)
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        service.delete_job(session, service.get_job(session, name))
    typer.echo(f"deleted {name}")


@app.command("prelabel")
@handle_errors
def prelabel_cmd(
    name: str,
    detector: Annotated[
        str,
        typer.Option(
            help="face or cat-face (OpenCV Haar cascades) for box jobs; energy or webrtcvad"
            " (voice activity) for audio segment jobs; onnx: the job's own model"
            " (settings.prelabel.onnx) for box, classification and segmentation jobs"
        ),
    ],
    label: Annotated[str | None, typer.Option(help="the job label the proposals get")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Put a detector's boxes into a bounding-box job's unstarted items, voice-activity
    segments into an audio segment job's, or the job's own ONNX model's predictions, for
    workers to correct (runs as a background
    run; `job show` and the API report the time it saves)."""
    from truthset.autolabel.prelabel import check_request

    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        job = service.get_job(session, name)
        params = {
            "job": job.name,
            "detector": detector,
            "label": check_request(job, detector, label),
        }
        job_id = job.id
    echo_json(run_here(ws, "prelabel", params, job_id=job_id, what="pre-labeling"))


@app.command("label-issues")
@handle_errors
def label_issues_cmd(
    name: str,
    folds: Annotated[int, typer.Option(min=2, max=20, help="cross-validation folds")] = 5,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Check a classification job's human labels with a cross-validated model and flag the
    likely errors for review (they come first in the review queue); prints the most
    suspicious ones."""
    from truthset.autolabel.label_issues import check_job

    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        job = service.get_job(session, name)
        check_job(job)
        params = {"job": job.name, "folds": folds}
        job_id = job.id
    echo_json(run_here(ws, "label_issues", params, job_id=job_id, what="label checking"))


@app.command("activity")
@handle_errors
def activity_cmd(
    name: str,
    worker: str | None = None,
    limit: int = 1000,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The worker activity log: accept, submit, decline, release, expire."""
    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        for ev in views.activity(
            session, service.get_job(session, name), worker=worker, limit=limit, offset=0
        ):
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ev["at"]))
            typer.echo(f"{ts} {ev['event']:8} {ev['worker']:20} {ev['item']}")


@app.command("consolidate")
@handle_errors
def consolidate_cmd(
    name: str,
    method: Annotated[
        str | None,
        typer.Option(help="auto, mv, wawa, ds, gt-mds, onecoin or glad; default the job's setting"),
    ] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Refit the job's labels and worker skills on all of its answers."""
    from truthset.quality.service import reconsolidate_job

    ws = workspace(data_dir, database_url)
    with ws.db.session_scope() as session:
        echo_json(reconsolidate_job(session, service.get_job(session, name), method=method))


@app.command("agreement")
@handle_errors
def agreement_cmd(name: str, data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Krippendorff's alpha, Fleiss' kappa, pairwise Cohen's kappa, per-label agreement."""
    from truthset.quality.service import agreement_report

    ws = workspace(data_dir, database_url)
    with ws.db.session_scope(write=False) as session:
        echo_json(agreement_report(session, service.get_job(session, name)))
