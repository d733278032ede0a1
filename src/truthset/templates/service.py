"""Custom jobs' templates: the settings section's checks and a worker's task page.

A task page is the job's template rendered over the task's `task.input` (the
pre-annotation hook's `taskInput`, else Ground Truth's default, below), with truthset's
crowd elements loaded in its `<head>` and a Content-Security-Policy that sandboxes it
(`page_headers`). Parsed templates are kept per job and text (`rendering.TEMPLATES`),
rendered pages per task, task input and grant period (`PAGES`), so a worker opening the
next task of a job costs one query and, the first time, one render.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.errors import BadInput, Gone, NotFound
from truthset.media.storage import AllowedRoots
from truthset.store.models import Job, User
from truthset.tasktypes.custom import ELEMENTS_KEY
from truthset.templates import repository
from truthset.templates.elements import declared_elements
from truthset.templates.rendering import TEMPLATES, parse_template, render, template_hash
from truthset.templates.signing import grant_expiry, grant_url

TEMPLATE_KEYS = frozenset({"html", "source"})
CROWD_SCRIPT = "/static/crowd/crowd-elements.js"
# Ground Truth's own loader: blocked by the page's policy anyway, and ours replaces it.
_AMAZON_LOADER = re.compile(
    r"<script\b[^>]*\bsrc=[\"']?https://assets\.crowd\.aws/[^>]*>\s*</script\s*>", re.I
)
_HEAD = re.compile(r"<head\b[^>]*>", re.I)


def template_of(settings: dict[str, Any]) -> str:
    section = settings.get("template")
    if not isinstance(section, dict):
        raise BadInput('settings.template must be an object {"html": <the template text>}')
    unknown = sorted(set(section) - TEMPLATE_KEYS)
    if unknown:
        raise BadInput(f"settings.template: unknown keys {', '.join(unknown)} (html, source)")
    html = section.get("html")
    if not isinstance(html, str):
        raise BadInput("settings.template.html must be the template's text")
    if "source" in section and not isinstance(section["source"], str):
        raise BadInput("settings.template.source must be text (where the template came from)")
    return html


def check_template(html: str) -> list[dict[str, Any]]:
    """Parse the template (BadInput naming the line) and return its declared elements."""
    parse_template(html)
    return declared_elements(html)


def check_section(session: Session, task_type: str, settings: dict[str, Any]) -> None:
    if "template" not in settings:
        return
    if task_type != "custom":
        raise BadInput(
            f"settings.template: a {task_type} job has its own tool; only custom jobs run"
            " a template"
        )
    check_template(template_of(settings))


def check_change(session: Session, job: Job, settings: dict[str, Any]) -> None:
    if settings.get("template") != job.settings.get("template"):
        # Answers already given were checked against the old template's elements.
        raise BadInput("settings.template cannot change once the job exists: create a new job")


def after_create(session: Session, job: Job) -> None:
    if "template" not in job.settings:
        return
    elements = declared_elements(template_of(job.settings))
    job.label_config = {**(job.label_config or {}), ELEMENTS_KEY: elements}
    session.flush()


def default_task_input(line: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """Ground Truth's `task.input` without a pre-annotation hook, plus the job's labels."""
    task_input: dict[str, Any] = {
        "taskObject": line.get("source-ref", line.get("source")),
        "manifestLine": line,
    }
    if labels:
        task_input["labels"] = labels
    return task_input


def _labels_of(label_config: Any) -> list[str]:
    entries = label_config.get("labels") if isinstance(label_config, dict) else None
    if not isinstance(entries, list):
        return []
    return [e["label"] for e in entries if isinstance(e, dict) and isinstance(e.get("label"), str)]


def with_crowd_elements(html: str, origin: str) -> str:
    tag = f'<script type="module" src="{origin}{CROWD_SCRIPT}"></script>'
    html = _AMAZON_LOADER.sub("", html)
    head = _HEAD.search(html)
    if head is None:
        return tag + html  # the parser puts a leading script into the head it makes
    return html[: head.end()] + tag + html[head.end() :]


def page_headers(origin: str) -> dict[str, str]:
    """The task page's policy: its own sandbox (no allow-same-origin: an opaque origin
    that cannot read the portal's storage or call the API with the worker's session),
    scripts only inline and truthset's crowd elements, images and media only from
    truthset (signed grants) and data/blob URLs, no fetches, no form posts elsewhere."""
    policy = "; ".join(
        (
            "sandbox allow-scripts allow-forms",
            "default-src 'none'",
            f"script-src {origin}/static/ 'unsafe-inline'",  # crowd/ imports tools/ and js/
            f"style-src 'unsafe-inline' {origin}/static/",
            f"img-src {origin} data: blob:",
            f"media-src {origin} blob:",
            f"font-src {origin}/static/",
            "connect-src 'none'",
            "form-action 'none'",
            "base-uri 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # The page holds signed URLs: never kept by a shared cache.
        "Cache-Control": "private, no-store",
    }


class PageCache:
    def __init__(self, size: int = 4096):
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> str | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], page: str) -> None:
        with self._lock:
            self._entries[key] = page
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


PAGES = PageCache()


def render_page(
    *,
    job_id: Any,
    html: str,
    task_input: Any,
    roots: AllowedRoots,
    grant_key: bytes,
    origin: str,
    now: float | None = None,
) -> str:
    """The template over `task_input`, with the crowd elements and signed media URLs."""
    expires = grant_expiry(now)

    def granter(ref: str) -> str:
        return grant_url(grant_key, ref, expires, origin) if roots.allows(ref) else ""

    return with_crowd_elements(render(TEMPLATES.get(job_id, html), task_input, granter), origin)


def task_page(
    session: Session,
    assignment_id: int,
    worker: User,
    *,
    roots: AllowedRoots,
    grant_key: bytes,
    origin: str,
    now: float | None = None,
) -> str:
    """The rendered page of the worker's leased assignment of a custom job."""
    now = time.time() if now is None else now
    row = repository.task_page_row(session, assignment_id)
    if row is None or row.worker_id != worker.id:
        # Another worker's assignment is reported as missing, as the work API does.
        raise NotFound(f"assignment {assignment_id} not found")
    if row.status != "leased" or row.deadline < now:
        raise Gone(f"assignment {assignment_id} is no longer leased to you")
    settings = row.settings or {}
    if "template" not in settings:
        raise NotFound(
            f"assignment {assignment_id} is of a {row.task_type} job, which has no template"
        )
    html = template_of(settings)
    key = (row.job_id, template_hash(html), row.task_id, row.input_at, grant_expiry(now), origin)
    page = PAGES.get(key)
    if page is None:
        task_input = row.task_input
        if task_input is None:
            task_input = default_task_input(orjson.loads(row.data), _labels_of(row.label_config))
        page = render_page(
            job_id=row.job_id,
            html=html,
            task_input=task_input,
            roots=roots,
            grant_key=grant_key,
            origin=origin,
            now=now,
        )
        PAGES.put(key, page)
    return page
