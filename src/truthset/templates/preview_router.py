"""HTTP of the console's template preview (staff only).

POST /api/templates/render renders a template over the first item of a dataset (or a
line, or a `task.input`) and answers the page, the elements it declares and what is
wrong with it, plus `preview_url`: the same page, kept a few minutes, served by
GET /api/templates/preview/{id}.html with the worker task page's headers.

Why a URL and not the HTML put into the console's frame (`srcdoc`, a blob: URL): a
srcdoc or blob document takes the policy of the page that makes it — the console's,
whose `connect-src 'self'` and scripts differ from a task page's — so the preview would
run under other rules than the workers' page, and blob: URLs even carry the console's
origin. Served by URL, the page brings its own Content-Security-Policy with `sandbox
allow-scripts allow-forms` (never allow-same-origin): an opaque origin even if opened
outside the frame, `connect-src 'none'`, the same policy a worker's page runs under, so
a template (the requester's HTML, scripts and all) cannot read the console's cookie or
call the API with its session, and what the requester sees is what workers get.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from truthset.api.deps import ReadSession, StaffUser, get_workspace
from truthset.templates.preview import PreviewStore, render_preview
from truthset.templates.rendering import MAX_TEMPLATE
from truthset.templates.service import page_headers
from truthset.templates.signing import grant_key

router = APIRouter(tags=["templates"])
PREVIEW_FOLDER = "previews"


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    html: str = Field(max_length=MAX_TEMPLATE, description="the template: HTML + Liquid")
    dataset: str | None = Field(None, description="render over this dataset's first item")
    line: dict[str, Any] | None = Field(None, description="render over this manifest line")
    labels: list[str] | dict[str, Any] | None = Field(
        None, description="task.input.labels: names, or a Ground Truth label category file"
    )
    task_input: Any = Field(None, description="task.input itself, as a pre-annotation hook gives")


def _origin(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _store(request: Request) -> PreviewStore:
    return PreviewStore(get_workspace(request).settings.data_dir / PREVIEW_FOLDER)


@router.post("/templates/render")
def render_template(
    body: RenderRequest, request: Request, user: StaffUser, session: ReadSession
) -> dict[str, Any]:
    """Ground Truth's RenderUiTemplate for the console's editor."""
    ws = get_workspace(request)
    result = render_preview(
        session,
        html=body.html,
        dataset=body.dataset,
        line=body.line,
        labels=body.labels,
        task_input=body.task_input,
        roots=ws.roots(),
        grant_key=grant_key(ws.settings.data_dir),
        origin=_origin(request),
    )
    preview_id, expires = _store(request).save(user.id, result["html"])
    return {
        **result,
        "preview_url": f"/api/templates/preview/{preview_id}.html",
        "preview_expires": expires,
    }


@router.get("/templates/preview/{preview_id}.html", response_class=HTMLResponse)
def preview_page(preview_id: str, request: Request, user: StaffUser) -> Response:
    page = _store(request).load(preview_id, user.id)
    return HTMLResponse(page, headers=page_headers(_origin(request)))
