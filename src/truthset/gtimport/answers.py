"""Ground Truth's worker-response files read as answers of this project's task types.

A file is `{"answers": [{"workerId", "answerContent", "acceptanceTime", "submissionTime",
"timeSpentInSeconds", "workerMetadata"}]}`; `answerContent` holds the worker tool's
payload keyed by the template element's `name` (`{"crowd-image-classifier": {"label":
"dog"}}`, `{"boundingBox": {"boundingBoxes": [...], "inputImageProperties": {...}}}`).
This is the inverse of the exports' worker responses (`truthset.exports.layout`, which
wraps an answer under `element_name(task type)`): the payload is taken from under the
element, which the task type then validates like any submitted answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from truthset.datasets.gt_labels import parse_creation_date
from truthset.errors import BadInput
from truthset.exports.layout import element_name


@dataclass(frozen=True)
class ResponseAnswer:
    """One worker's answer as the file gives it (the content not yet validated)."""

    worker_id: str
    content: Any
    accepted_at: float
    submitted_at: float
    time_spent: float


def parse_time(value: Any) -> float | None:
    """A worker-response time, `2020-12-28T18:59:15.191Z` (UTC), as UNIX seconds; None
    when it is not one. (`fromisoformat` is ~40x faster than `strptime`: a big job has
    hundreds of thousands of these.)"""
    if not isinstance(value, str) or len(value) < 19 or value[10:11] != "T":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return parse_creation_date(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _time(answer: dict[str, Any], key: str, where: str) -> float | None:
    value = answer.get(key)
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise BadInput(
            f"{where}: {key} {value!r} is not a Ground Truth time (2020-12-28T18:59:15.191Z)"
        )
    return parsed


def read_response_file(data: bytes, where: str) -> list[ResponseAnswer]:
    """The answers of one worker-response file; a file that is not one is an error
    naming it (`where`) and, inside it, the answer and the field."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"{where} is not valid JSON ({exc})") from None
    answers = doc.get("answers") if isinstance(doc, dict) else None
    if not isinstance(answers, list):
        raise BadInput(f'{where} is not a worker-response file: no "answers" list')
    found = []
    for i, answer in enumerate(answers):
        at = f"{where}: answers[{i}]"
        if not isinstance(answer, dict):
            raise BadInput(f"{at} is not an object")
        worker = answer.get("workerId")
        if not isinstance(worker, str) or not worker.strip():
            raise BadInput(f"{at}.workerId must be the worker's id (a string)")
        if "answerContent" not in answer:
            raise BadInput(f"{at} has no answerContent")
        submitted = _time(answer, "submissionTime", at)
        accepted = _time(answer, "acceptanceTime", at)
        spent = answer.get("timeSpentInSeconds")
        if spent is not None and (
            isinstance(spent, bool)
            or not isinstance(spent, int | float)
            or not math.isfinite(spent)
            or spent < 0
        ):
            raise BadInput(f"{at}.timeSpentInSeconds must be a number of seconds, got {spent!r}")
        if submitted is None:
            raise BadInput(f"{at} has no submissionTime")
        if accepted is None:
            accepted = submitted - float(spent or 0.0)
        if accepted > submitted:
            raise BadInput(f"{at}: acceptanceTime is after submissionTime")
        found.append(
            ResponseAnswer(
                worker_id=worker,
                content=answer["answerContent"],
                accepted_at=accepted,
                submitted_at=submitted,
                time_spent=float(spent) if spent is not None else submitted - accepted,
            )
        )
    return found


def tool_payload(answer_content: Any, task_type_name: str, task_type: Any) -> Any:
    """The worker tool's payload out of Ground Truth's `answerContent`: the value under
    the element the task type's template names (`element_name`), else the one element a
    template of another name answered with. Anything else is handed on as it is, for the
    task type to refuse or accept."""
    if not isinstance(answer_content, dict):
        return answer_content
    own = element_name(task_type_name, task_type)
    if own in answer_content:
        return answer_content[own]
    if len(answer_content) == 1:
        (inner,) = answer_content.values()
        if isinstance(inner, dict):
            return inner
    return answer_content
