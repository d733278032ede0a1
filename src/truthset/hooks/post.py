"""The post-annotation (consolidation) hook as a background run.

A task of a job with `post_annotation` whose answers are all in waits, full and without a
label (`work/consolidation.py` leaves it so instead of the task type's consolidation). The
run sends such tasks in batches: the payload file (`[{"datasetObjectId", "dataObject",
"annotations": [{"workerId", "annotationData": {"content": "<answer JSON>"}}]}]`) goes to
the job's S3 output folder or behind a signed URL of truthset's own (`hooks.payloads`),
the request names it, and each entry of the response
(`[{"datasetObjectId", "consolidatedAnnotation": {"content": {<attr>: ..., <attr>-metadata:
...}}}]`) becomes its task's label through the label writer, as returned. An item the
response leaves out or gives in another shape fails with the reason; a hook that fails
every try fails the batch's items. The job goes on either way.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from sqlalchemy.orm import Session

from truthset.exports.layout import data_object, worker_id
from truthset.exports.output_settings import output_settings
from truthset.hooks import repository
from truthset.hooks.calling import HookError, call_target
from truthset.hooks.events import post_annotation_request
from truthset.hooks.payloads import store_payload
from truthset.hooks.pre import claim_lifetime
from truthset.hooks.settings import POST_RUN, hook_target
from truthset.jobs.service import get_job, refresh_state
from truthset.labels.writer import write_label
from truthset.runs.periodic import Throttle
from truthset.runs.registry import run_kind
from truthset.runs.service import enqueue
from truthset.store.models import Job
from truthset.store.raw import stored_json
from truthset.tasktypes import Consolidation

BATCH = 100
_turns = Throttle()


def payload_entries(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    """The payload file's entries for (task id, position, external id, data) rows."""
    by_task: dict[int, list[dict[str, Any]]] = {int(r[0]): [] for r in rows}
    for task_id, user_id, name, created, imported_as, content in repository.answers_of_tasks(
        session, list(by_task)
    ):
        by_task[int(task_id)].append(
            {
                "workerId": imported_as or worker_id(user_id, name, created),
                "annotationData": {"content": orjson.dumps(stored_json(content)).decode()},
            }
        )
    return [
        {
            "datasetObjectId": str(position),
            "dataObject": data_object(orjson.loads(data)),
            "annotations": by_task[int(task_id)],
        }
        for task_id, position, _external, data in rows
    ]


def labels_of_response(
    job: Job, response: Any, wanted: set[str]
) -> tuple[dict[str, Consolidation], dict[str, str]]:
    """(labels by datasetObjectId, reasons by datasetObjectId for the items that fail)."""
    attr = job.label_attribute
    shape = (
        'the post-annotation hook must answer [{"datasetObjectId": ..., "consolidatedAnnotation":'
        f' {{"content": {{"{attr}": ...}}}}}}, ...]'
    )
    if not isinstance(response, list):
        got = orjson.dumps(response).decode()[:200]
        return {}, dict.fromkeys(wanted, f"{shape}, not {got}")
    labels: dict[str, Consolidation] = {}
    reasons: dict[str, str] = {}
    for n, entry in enumerate(response):
        object_id = entry.get("datasetObjectId") if isinstance(entry, dict) else None
        if isinstance(object_id, int) and not isinstance(object_id, bool):
            object_id = str(object_id)
        if not isinstance(object_id, str) or object_id not in wanted:
            continue  # an entry for no item of this batch: nothing to label
        annotation = entry.get("consolidatedAnnotation")
        content = annotation.get("content") if isinstance(annotation, dict) else None
        if not isinstance(content, dict) or attr not in content:
            reasons[object_id] = (
                f"entry {n} of the post-annotation hook's answer has no"
                f" consolidatedAnnotation.content.{attr}"
            )
            continue
        meta = content.get(f"{attr}-metadata", {})
        if not isinstance(meta, dict):
            reasons[object_id] = f"entry {n}: {attr}-metadata must be an object"
            continue
        confidence = meta.get("confidence")
        labels[object_id] = Consolidation(
            value=content[attr],
            meta=meta,
            confidence=float(confidence)
            if isinstance(confidence, int | float) and not isinstance(confidence, bool)
            else None,
            method="post_annotation",
        )
    for object_id in wanted - set(labels) - set(reasons):
        reasons[object_id] = f"the post-annotation hook's answer has no datasetObjectId {object_id}"
    return labels, reasons


@run_kind(POST_RUN, resumable=True)  # only unlabeled waiting tasks are sent: redo-safe
def post_annotation_run(ctx: Any, *, job: str) -> dict[str, Any]:
    owner = f"run {ctx.run_id} {uuid.uuid4().hex[:12]}"
    try:
        return _post_annotation(ctx, job, owner)
    finally:
        with ctx.db.session_scope() as session:
            repository.drop_claims(session, owner)


def _post_annotation(ctx: Any, job: str, owner: str) -> dict[str, Any]:
    labeled = failed = 0
    while True:
        now = time.time()
        with ctx.db.session_scope() as session:
            the_job = get_job(session, job)
            target = hook_target(session, the_job, "post_annotation")
            if target is None:
                break
            # Claimed, as the pre-annotation run claims: another run of the job (another
            # process) skips these items, so none is sent to the hook twice.
            rows = repository.claim_tasks_awaiting_consolidation(
                session, the_job.id, owner, BATCH, now, now + claim_lifetime(target, 1)
            )
            if not rows:
                break
            entries = payload_entries(session, rows)
            output = output_settings(the_job.settings or {})
        now = time.time()
        uri, local = store_payload(
            ctx.settings,
            output["path"] if output else None,
            the_job.name,
            orjson.dumps(entries),
            now,
        )
        wanted = {str(r[1]) for r in rows}
        try:
            response = call_target(target, post_annotation_request(the_job, uri))
            labels, reasons = labels_of_response(the_job, response, wanted)
        except HookError as exc:
            labels, reasons = {}, dict.fromkeys(wanted, f"post-annotation hook failed: {exc}")
        finally:
            if local is not None:
                local.unlink(missing_ok=True)
        now = time.time()
        with ctx.db.session_scope() as session:
            for task_id, position, _external, _data in rows:
                object_id = str(position)
                if not repository.holds_post_claim(session, task_id, owner):
                    continue  # decided meanwhile, or our claim lapsed and was taken
                if object_id in labels:
                    write_label(
                        session,
                        the_job.id,
                        task_id,
                        labels[object_id],
                        human=True,
                        now=now,
                        complete=True,
                    )
                    labeled += 1
                else:
                    repository.fail_task(
                        session, task_id, "post_annotation", reasons[object_id], now
                    )
                    failed += 1
            repository.drop_claims(session, owner)
            refresh_state(session, the_job.id, now=now)
        ctx.progress(labeled + failed, message=f"{len(rows)} items sent to the hook")
    return {"job": job, "labeled": labeled, "failed": failed}


def schedule_due(session: Session, *, now: float | None = None, every: float = 2.0) -> list[str]:
    """Queue the run for jobs with tasks waiting for their consolidation hook."""
    now = time.time() if now is None else now
    if not _turns.due(session, now, every):
        return []
    names = []
    for job in repository.jobs_with_setting(session, "post_annotation", live_only=False):
        if job.state not in ("in_progress", "stopping", "stopped"):
            continue
        if repository.has_active_run(session, job.id, POST_RUN):
            continue
        if repository.cooldown_left(session, job.id, POST_RUN, now) > 0:
            continue  # its last runs failed (the hook no longer allowed...): back off
        if repository.tasks_awaiting_consolidation(session, job.id, 1):
            enqueue(session, POST_RUN, {"job": job.name}, job_id=job.id, now=now)
            names.append(job.name)
    return names
