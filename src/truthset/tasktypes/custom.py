"""Custom jobs: a Ground Truth worker task template (HTML + Liquid + crowd elements).

The template lives in the job's settings (``settings["template"]["html"]``, checked and
parsed by ``truthset.templates``); when the job is created the elements it declares are
kept in its label config as ``crowdElements`` (``[{"tag", "name", "attributes"}]``), so
that every path that checks an answer (submit, gold, review, Ground Truth import) sees
them through the label config alone. The label categories are optional: with some, they
reach the template as ``task.input.labels`` unless a pre-annotation hook says otherwise,
and computed ``categories`` / ``labels`` attributes are checked against them.

Answer: Ground Truth's ``answerContent``, ``{<element name>: <value in the element's
shape>}`` (:mod:`truthset.tasktypes.crowd_answers`).

Consolidation without a post-annotation hook, per element: the value that more than half
of the (weighted) workers gave, compared as canonical JSON, else ``null``; one worker's
answer is taken as it is. The label is ``{<element name>: <that value>}``; its metadata
keeps each element's agreement and every worker's answer (``worker-answers``), so nothing
a worker gave is lost to the vote. A post-annotation hook replaces all of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from truthset.errors import BadInput
from truthset.tasktypes.base import (
    GT_DOCUMENT_VERSION,
    Consolidation,
    LabelConfig,
    WorkerAnswer,
    parse_gt_label_config,
)
from truthset.tasktypes.crowd_answers import ANSWER_TAGS, validate_template_answer

ELEMENTS_KEY = "crowdElements"


def declared_elements(config: LabelConfig) -> list[dict[str, Any]]:
    return list(config.raw.get(ELEMENTS_KEY) or [])


def _check_elements(raw: Any) -> None:
    if not isinstance(raw, list):
        raise BadInput(f"label config: {ELEMENTS_KEY} must be a list")
    for i, e in enumerate(raw):
        if (
            not isinstance(e, dict)
            or e.get("tag") not in ANSWER_TAGS
            or not isinstance(e.get("name"), str)
            or not isinstance(e.get("attributes"), dict)
        ):
            raise BadInput(
                f"label config: {ELEMENTS_KEY}[{i}] must be {{tag, name, attributes}} of an"
                " element that takes an answer"
            )


@dataclass(frozen=True)
class CustomTemplateType:
    name: str = "custom"
    # Anything: the template decides what of the item it shows.
    media: str = "any"
    ui_module: str = "tools/template.js"
    output_type: str = "groundtruth/custom"
    supports_auto_labeling: bool = False
    # The work API's `next` names the rendered task page of such a job.
    serves_template_page: bool = True

    def parse_label_config(self, raw: Any) -> LabelConfig:
        if raw is None or raw == {} or raw == []:
            raw = {"document-version": GT_DOCUMENT_VERSION, "labels": []}
        if isinstance(raw, dict) and ELEMENTS_KEY in raw:
            _check_elements(raw[ELEMENTS_KEY])
            rest = {k: v for k, v in raw.items() if k != ELEMENTS_KEY}
            parsed = parse_gt_label_config(rest or {"labels": []}, min_labels=0)
            return LabelConfig(
                labels=parsed.labels,
                raw={**parsed.raw, ELEMENTS_KEY: raw[ELEMENTS_KEY]},
                short_names=parsed.short_names,
            )
        return parse_gt_label_config(raw, min_labels=0)

    def check_settings(self, settings: dict[str, Any]) -> None:
        if not isinstance(settings.get("template"), dict):
            raise BadInput(
                'a custom job needs its worker task template: settings.template = {"html": ...}'
                " (truthset job create --template FILE)"
            )

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        return validate_template_answer(
            answer, declared_elements(config), list(config.labels) or None
        )

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        if not answers:
            raise ValueError("no answers to consolidate")
        names: list[str] = []
        for a in answers:
            names.extend(n for n in a.content if n not in names)
        total = sum(a.weight for a in answers)
        value: dict[str, Any] = {}
        agreement: dict[str, float] = {}
        for name in names:
            votes: dict[bytes, float] = {}
            first: dict[bytes, Any] = {}
            for a in answers:
                if name not in a.content:
                    continue
                key = orjson.dumps(a.content[name], option=orjson.OPT_SORT_KEYS)
                votes[key] = votes.get(key, 0.0) + a.weight
                first.setdefault(key, a.content[name])
            best = max(votes, key=lambda k: votes[k])
            share = votes[best] / total
            agreement[name] = round(share, 2)
            value[name] = first[best] if len(answers) == 1 or share > 0.5 else None
        confidence = 0.0 if len(answers) <= 1 else min(agreement.values(), default=0.0)
        return Consolidation(
            value=value,
            meta={
                "agreement": agreement,
                "worker-answers": [
                    {"workerId": a.worker_id, "answerContent": a.content} for a in answers
                ],
            },
            confidence=confidence,
            method="majority-per-element",
        )


CUSTOM = CustomTemplateType()
