"""Datasets: named, versioned sets of items.

The rules live here (and the import's in `truthset.datasets.importer`); the queries in
`truthset.datasets.repository`. Functions flush and never commit: the caller's session
scope owns the transaction.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.datasets import repository
from truthset.errors import BadInput, Conflict, NotFound
from truthset.jobs import data_fit
from truthset.media.storage import AllowedRoots, parse_s3_uri
from truthset.store.lookup import get_by_name
from truthset.store.models import Dataset, User

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def check_api_source(source: str, roots: AllowedRoots) -> None:
    """What an API caller imports from must itself lie inside the server's allowed roots:
    a local manifest, CSV or folder, an S3 object, or an S3 prefix (whose listing would
    otherwise make every object under it an item, and the media route serve them)."""
    if source.startswith("s3://"):
        parse_s3_uri(source)  # a malformed URI, a bad bucket name or '..' is named as such
        inside = roots.allows(source.rstrip("/"))
    else:
        inside = roots.allows(str(Path(source).resolve()))
    if not inside:
        raise BadInput(f"source {source!r} is outside the server's allowed roots")


def create_dataset(session: Session, name: str, *, now: float | None = None) -> Dataset:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadInput(
            f"dataset name {name!r} must be 1-200 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    if repository.dataset_name_taken(session, name):
        raise Conflict(f"a dataset named {name!r} already exists")
    dataset = Dataset(name=name, created_at=time.time() if now is None else now, version=0)
    session.add(dataset)
    session.flush()
    return dataset


def get_dataset(session: Session, name: str) -> Dataset:
    return get_by_name(session, Dataset, name)


def describe(dataset: Dataset, items: int) -> dict[str, Any]:
    """A dataset as the API and the CLI show it."""
    return {
        "name": dataset.name,
        "items": items,
        "version": dataset.version,
        "created_at": dataset.created_at,
    }


def describe_dataset(session: Session, dataset: Dataset) -> dict[str, Any]:
    return describe(dataset, dataset.item_count)


def list_datasets(session: Session) -> list[dict[str, Any]]:
    return [describe(d, d.item_count) for d in repository.all_datasets(session)]


def list_items(
    session: Session, dataset: Dataset, *, offset: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    rows = repository.items_page(session, dataset.id, offset=offset, limit=limit)
    return [{"id": ext, "data": orjson.loads(data)} for ext, data in rows]


def delete_dataset(session: Session, dataset: Dataset) -> None:
    job = repository.name_of_a_job_using(session, dataset.id)
    if job is not None:
        raise Conflict(f"job {job!r} uses dataset {dataset.name!r}; delete the job first")
    repository.delete_items(session, dataset.id)
    session.delete(dataset)
    session.flush()


# -- the console's datasets page -------------------------------------------------------------

# How many items the kinds and the task types offered are judged on (as data_fit does).
KIND_SAMPLE = 200
REPORT_LINES = 1000
REPORTS_FOLDER = "import-reports"


def items_page(
    session: Session, dataset: Dataset, *, after: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """One page of items in external-id order (each with what it holds and where the media
    route serves its file) and the id to ask the next page after (None on the last page)."""
    rows = repository.items_after(session, dataset.id, after=after, limit=limit + 1)
    items = []
    for item_id, ext, stored in rows[:limit]:
        data = orjson.loads(stored)
        ref = data.get("source-ref") if isinstance(data, dict) else None
        media = f"/api/items/{item_id}/media" if isinstance(ref, str) else None
        items.append({"id": ext, "data": data, "kind": item_kind(data), "media_url": media})
    return {"items": items, "next": items[-1]["id"] if len(rows) > limit else None}


def item_kind(item: dict[str, Any]) -> str:
    """What an item holds, in the words of data_fit: "text" (inline source), the kind of
    file its source-ref names ("image", "audio", "video"...), "file" for a ref whose
    extension says nothing, "other" for neither."""
    if isinstance(item.get("source"), str):
        return "text"
    ref = item.get("source-ref")
    if isinstance(ref, str):
        return data_fit.file_kind(ref) or "file"
    return "other"


def overview(session: Session, dataset: Dataset) -> dict[str, Any]:
    """The dataset with what its items hold (counted on a sample spread over it), the task
    types whose needs its items meet, and the jobs that read it. Called in a read-only
    session (the routes'): what it counts has been committed."""
    sample = [orjson.loads(d) for d in repository.sample_items(session, dataset.id, KIND_SAMPLE)]
    kinds: dict[str, int] = {}
    for item in sample:
        kind = item_kind(item)
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        **describe(dataset, dataset.item_count),
        "kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
        "sampled": len(sample),
        "task_types": fitting_task_types(sample, set(kinds)),
        "jobs": repository.job_names_using(session, dataset.id),
    }


def fitting_task_types(sample: list[dict[str, Any]], kinds: set[str]) -> list[str]:
    """The task types a job over items like `sample` may have: those whose media every
    sampled item fits (data_fit's rule, which job creation applies), and those taking any
    media. An empty dataset fits every task type."""
    from truthset.tasktypes import all_task_types

    offered = []
    for task_type in all_task_types().values():
        media = task_type.media
        if not sample or media == "any":
            fits = True
        elif media in ("text", "image", "audio"):
            fits = all(data_fit.item_misfit(media, item) is None for item in sample)
        else:  # media data_fit does not check (a plugin's): offered when the items are it
            fits = media in kinds
        if fits:
            offered.append(task_type.name)
    # The task types made for the data first; a custom template is the fallback.
    return sorted(offered, key=lambda name: name == "custom")


def _report_name_re(dataset: str) -> re.Pattern[str]:
    # The router's report names: <dataset>-<YYYYmmddTHHMMSS>-<6 hex>.jsonl
    return re.compile(rf"^{re.escape(dataset)}-\d{{8}}T\d{{6}}-[0-9a-f]{{6}}\.jsonl$")


def import_reports(data_dir: Path, dataset: str) -> dict[str, float]:
    """The bad-line reports of the dataset's imports: file name -> when it was written."""
    folder = data_dir / REPORTS_FOLDER
    if not folder.is_dir():
        return {}
    name_re = _report_name_re(dataset)
    return {p.name: p.stat().st_mtime for p in folder.iterdir() if name_re.match(p.name)}


def read_import_report(data_dir: Path, dataset: str, file: str) -> dict[str, Any]:
    """The bad lines (line number and reason) a report holds, the first REPORT_LINES."""
    if not _report_name_re(dataset).match(file):
        raise NotFound(f"dataset {dataset!r} has no import report {file!r}")
    path = data_dir / REPORTS_FOLDER / file
    if not path.is_file():
        raise NotFound(f"dataset {dataset!r} has no import report {file!r}")
    lines: list[Any] = []
    more = False
    with open(path, "rb") as fh:
        for raw_line in fh:
            if len(lines) == REPORT_LINES:
                more = True
                break
            if raw_line.strip():
                lines.append(orjson.loads(raw_line))
    return {"file": file, "lines": lines, "more": more}


_COUNTS = ("lines", "added", "merged", "duplicates", "invalid")
# How many of an import's bad lines its audit event keeps (its report file has them all).
EVENT_ERRORS = 5


def import_event_detail(source: str | None, result: dict[str, Any]) -> dict[str, Any]:
    """What the audit event of an in-request import keeps of its result."""
    report = result.get("report_path")
    return {
        "source": source,
        **{k: result[k] for k in _COUNTS if k in result},
        "errors": result.get("errors", [])[:EVENT_ERRORS],
        "report": Path(report).name if report else None,
    }


def import_history(session: Session, dataset: str, data_dir: Path) -> list[dict[str, Any]]:
    """Every import of the dataset, newest first: the background runs (with their results
    or errors) and the in-request imports and uploads the audit log recorded (who, when,
    accepted or refused), each with its bad-line report when it wrote one."""
    reports = import_reports(data_dir, dataset)
    users: dict[int, str | None] = {}

    def user_name(user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in users:
            user = session.get(User, user_id)
            users[user_id] = user.name if user is not None else None
        return users[user_id]

    entries: list[dict[str, Any]] = []
    for run in repository.import_runs(session, dataset):
        result = run.result or {}
        report_path = result.get("report_path") or (run.params or {}).get("report_path")
        report = Path(report_path).name if report_path else None
        entries.append(
            {
                "at": run.created_at,
                "by": user_name(run.created_by),
                "how": "run",
                "run": run.id,
                "source": (run.params or {}).get("source"),
                "state": run.state,
                "error": run.error,
                "counts": {k: result[k] for k in _COUNTS if k in result},
                "errors": result.get("errors", []),
                "report": report if report in reports else None,
            }
        )
    events = repository.import_requests(session, dataset)
    # A run-starting POST is its run's own entry: each run claims the nearest accepted POST
    # within seconds of it (an in-request import answers 202 too, so one each, no more).
    claimed: set[int] = set()
    for run_at in [e["at"] for e in entries]:
        near = [
            ev
            for ev in events
            if ev.outcome == "ok" and ev.id not in claimed and abs(ev.at - run_at) < 30
        ]
        if near:
            claimed.add(min(near, key=lambda ev: abs(ev.at - run_at)).id)
    for event in events:
        if event.id in claimed:
            continue
        if event.action in repository.IMPORT_ACTIONS:
            detail = event.detail or {}
            entries.append(
                {
                    "at": event.at,
                    "by": event.actor_name,
                    "how": "upload" if event.action == "dataset.upload" else "request",
                    "run": None,
                    "source": detail.get("source"),
                    "state": "succeeded",
                    "error": None,
                    "counts": {k: detail[k] for k in _COUNTS if k in detail},
                    "errors": detail.get("errors", []),
                    "report": detail.get("report") if detail.get("report") in reports else None,
                }
            )
            continue
        route = (event.target or "").rsplit("/", 1)[-1]
        how = {"upload": "upload", "media": "media upload"}.get(route, f"request ({route})")
        entries.append(
            {
                "at": event.at,
                "by": event.actor_name,
                "how": how,
                "run": None,
                "source": None,
                "state": "succeeded" if event.outcome == "ok" else event.outcome,
                "error": f"answered {event.status}" if event.outcome != "ok" else None,
                "counts": {},
                "errors": [],
                "report": None,
            }
        )
    # A report no run names belongs to the in-request import that ended when it was closed.
    named = {e["report"] for e in entries if e["report"]}
    requests = [e for e in entries if e["run"] is None]
    for file, written in sorted(reports.items(), key=lambda kv: kv[1]):
        if file in named:
            continue
        candidates = [e for e in requests if e["report"] is None and abs(e["at"] - written) < 60]
        if candidates:
            min(candidates, key=lambda e: abs(e["at"] - written))["report"] = file
        else:
            entries.append(
                {
                    "at": written,
                    "by": None,
                    "how": "report",
                    "run": None,
                    "source": None,
                    "state": "succeeded",
                    "error": None,
                    "counts": {},
                    "errors": [],
                    "report": file,
                }
            )
    entries.sort(key=lambda e: -e["at"])
    return _one_entry_per_media_upload(entries)


def _one_entry_per_media_upload(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The browser adds uploaded media 200 files a request: the requests of one upload
    (one person's, each within two minutes of the one before) are one entry, with how
    many batches it took. `entries` is newest first."""
    out: list[dict[str, Any]] = []
    oldest_at = 0.0
    for entry in entries:
        last = out[-1] if out else None
        if (
            last is not None
            and entry["how"] == "media upload"
            and last["how"] == "media upload"
            and (last["by"], last["state"]) == (entry["by"], entry["state"])
            and oldest_at - entry["at"] < 120
        ):
            last["batches"] += 1
        else:
            out.append({**entry, "batches": 1} if entry["how"] == "media upload" else entry)
        oldest_at = entry["at"]
    return out
