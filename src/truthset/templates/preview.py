"""The console's template preview: a template over one item, as a worker would see it.

`render_preview` renders a template the requester is still writing over the first item
of a dataset (or a line, or a `task.input` given as is) exactly as a worker's task page
is made (`service.with_crowd_elements`, signed media URLs), but without the per-job
template cache: every keystroke is a new text, and those must not push the templates of
running jobs out of it. A syntax error is a BadInput naming the line (no page can be
made); what only makes the job refused later (no `<crowd-form>`, two elements of one
name) or a media reference that could not be signed comes back in `errors` beside the
page, so the requester sees both.

`PreviewStore` keeps rendered pages for a few minutes under a random id, so the console
can show one in a sandboxed frame loaded by URL, with the task page's own headers (see
`preview_router`). The pages are files under the data directory, not process memory:
a server of several processes shares that directory (the grant key lives there too),
and the frame's GET may reach a process other than the one that rendered it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.datasets.repository import dataset_named, items_page
from truthset.errors import BadInput, NotFound
from truthset.media.storage import AllowedRoots
from truthset.templates.elements import declared_elements
from truthset.templates.rendering import parse_template, render
from truthset.templates.service import default_task_input, with_crowd_elements
from truthset.templates.signing import grant_expiry, grant_url

PREVIEW_LIFETIME = 600
MAX_PREVIEWS = 500
PREVIEW_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_LINE = re.compile(r"^template line (\d+): ")


def labels_of(labels: Any) -> list[str]:
    """Label names from a list of names or a Ground Truth label category file."""
    if labels is None:
        return []
    entries = labels.get("labels") if isinstance(labels, dict) else labels
    if not isinstance(entries, list):
        raise BadInput('labels: a list of label names or {"labels": [{"label": ...}]}')
    names: list[str] = []
    for i, entry in enumerate(entries):
        name = entry.get("label") if isinstance(entry, dict) else entry
        if not isinstance(name, str) or not name:
            raise BadInput(f"labels[{i}]: a label name (text) or {{'label': <name>}}")
        names.append(name)
    return names


def first_line(session: Session, dataset: str) -> dict[str, Any]:
    """The manifest line of the dataset's first item (in import order)."""
    found = dataset_named(session, dataset)
    if found is None:
        raise NotFound(f"dataset {dataset!r} not found")
    rows = items_page(session, found.id, offset=0, limit=1)
    if not rows:
        raise BadInput(f"dataset {dataset!r} has no items to preview")
    line = orjson.loads(rows[0].data)
    if not isinstance(line, dict):
        raise BadInput(f"dataset {dataset!r}: its first item is not a JSON object")
    return line


def _problem(exc: BadInput) -> dict[str, Any]:
    message = str(exc.detail)
    found = _LINE.match(message)
    return {"line": int(found.group(1)) if found else None, "message": message}


def render_preview(
    session: Session,
    *,
    html: str,
    dataset: str | None = None,
    line: dict[str, Any] | None = None,
    labels: Any = None,
    task_input: Any = None,
    roots: AllowedRoots,
    grant_key: bytes,
    origin: str,
    now: float | None = None,
) -> dict[str, Any]:
    """{"html": the page, "elements": declared, "errors": [{"line", "message"}],
    "task_input": what the template was rendered over}."""
    sources = (("dataset", dataset), ("line", line), ("task_input", task_input))
    given = [name for name, value in sources if value is not None]
    if len(given) > 1:
        raise BadInput(f"give one of dataset, line or task_input, not {' and '.join(given)}")
    template = parse_template(html)  # BadInput naming the line: no page without it
    errors: list[dict[str, Any]] = []
    try:
        elements = declared_elements(html)
    except BadInput as exc:
        elements = []
        errors.append(_problem(exc))
    if task_input is None:
        if dataset is not None:
            line = first_line(session, dataset)
        task_input = default_task_input(line or {}, labels_of(labels))
    expires = grant_expiry(now)
    refused: list[str] = []

    def granter(ref: str) -> str:
        if roots.allows(ref):
            return grant_url(grant_key, ref, expires, origin)
        refused.append(ref)
        return ""

    page = with_crowd_elements(render(template, task_input, granter), origin)
    for ref in dict.fromkeys(refused):
        errors.append(
            {
                "line": None,
                "message": f"grant_read_access: {ref!r} is outside the workspace's allowed"
                " roots and buckets, so it became an empty URL",
            }
        )
    return {"html": page, "elements": elements, "errors": errors, "task_input": task_input}


class PreviewStore:
    """Rendered preview pages by random id, for PREVIEW_LIFETIME seconds, per user."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _path(self, preview_id: str) -> Path:
        if not PREVIEW_ID.match(preview_id):
            raise NotFound(f"preview {preview_id!r} not found")
        return self.folder / f"{preview_id}.json"

    def save(self, user_id: int, page: str, now: float | None = None) -> tuple[str, float]:
        now = time.time() if now is None else now
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sweep(now)
        preview_id = secrets.token_urlsafe(24)
        expires = now + PREVIEW_LIFETIME
        path = self._path(preview_id)
        partial = path.with_suffix(".part")
        # The page holds signed media URLs: readable by the server's user only.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(orjson.dumps({"user": user_id, "expires": expires, "page": page}))
        os.replace(partial, path)
        return preview_id, expires

    def load(self, preview_id: str, user_id: int, now: float | None = None) -> str:
        now = time.time() if now is None else now
        try:
            stored = orjson.loads(self._path(preview_id).read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            stored = None
        # Another user's preview is reported as missing, as an expired one is.
        if not stored or stored.get("user") != user_id or stored.get("expires", 0) < now:
            raise NotFound(f"preview {preview_id!r} not found (previews last a few minutes)")
        return str(stored["page"])

    def sweep(self, now: float) -> None:
        """Remove expired previews, and the oldest beyond MAX_PREVIEWS."""
        try:
            entries = [(e.stat().st_mtime, e.path) for e in os.scandir(self.folder)]
        except FileNotFoundError:
            return
        entries.sort()
        keep = len(entries)
        for mtime, path in entries:
            if mtime + PREVIEW_LIFETIME < now or keep > MAX_PREVIEWS:
                with contextlib.suppress(FileNotFoundError):  # another process swept it
                    os.unlink(path)
                keep -= 1
