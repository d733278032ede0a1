"""`truthset template render`: a template over one manifest line (Ground Truth's
RenderUiTemplate), to check a template before a job runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from truthset.cli.common import DataDir, handle_errors, read_json_file, workspace
from truthset.errors import BadInput
from truthset.templates.sources import read_text_document

app = typer.Typer(
    help="Worker task templates (Ground Truth's HTML + Liquid).", no_args_is_help=True
)


@app.command("render")
@handle_errors
def render_cmd(
    template: Annotated[str, typer.Argument(help="the template: a path or s3://bucket/key")],
    input_line: Annotated[
        Path | None, typer.Option("--input", help="a manifest line (JSON): task.input's default")
    ] = None,
    task_input: Annotated[
        Path | None,
        typer.Option(
            "--task-input", help="task.input itself (JSON), as a pre-annotation hook gives"
        ),
    ] = None,
    labels: Annotated[
        str | None, typer.Option(help="label names, comma-separated: task.input.labels")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Print the rendered HTML. Media references inside the workspace's allowed roots
    become signed URLs of its media route (relative: no server origin is known here)."""
    from truthset.templates.elements import declared_elements
    from truthset.templates.rendering import parse_template
    from truthset.templates.service import default_task_input, render_page
    from truthset.templates.signing import grant_key

    if (input_line is None) == (task_input is None):
        raise BadInput("give --input LINE.json or --task-input TASKINPUT.json")
    ws = workspace(data_dir, None)
    html = read_text_document(template, "template", endpoint_url=ws.settings.s3_endpoint_url)
    parse_template(html)
    declared_elements(html)
    if task_input is not None:
        value = read_json_file(task_input, "task input")
    else:
        line = read_json_file(input_line, "manifest line")  # type: ignore[arg-type]
        if not isinstance(line, dict):
            raise BadInput("the manifest line must be a JSON object")
        names = [x.strip() for x in (labels or "").split(",") if x.strip()]
        value = default_task_input(line, names)
    typer.echo(
        render_page(
            job_id=("render", template),
            html=html,
            task_input=value,
            roots=ws.roots(),
            grant_key=grant_key(ws.settings.data_dir),
            origin="",
        )
    )
