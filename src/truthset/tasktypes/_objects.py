"""The shape every "objects on an image" task type shares (boxes, polygons, polylines,
keypoints): the answer is a list of labelled objects plus ``inputImageProperties``, the
label is ``{"image_size": [...], "annotations": [...]}`` with one confidence per object in
``objects`` and the ``class-map`` of the classes present, as Ground Truth's
object-detection output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from truthset.errors import BadInput
from truthset.tasktypes import _attribute_answers as attrs
from truthset.tasktypes._agreement import soft_f1
from truthset.tasktypes._spatial import (
    SIZE_TOLERANCE,
    adjustment_meta,
    agreed_image_size,
    check_job_settings,
    checked,
    initial_value_modified,
    object_list,
    overall_confidence,
    payload_of,
    resolve_image_size,
    single_worker_objects,
    size_props,
    usable_params,
    worker_skills,
)
from truthset.tasktypes.base import (
    Consolidation,
    LabelConfig,
    WorkerAnswer,
    class_names,
    parse_gt_label_config,
)


@dataclass(frozen=True)
class ImageObjectsType:
    """Base of the image object task types.

    Subclasses fill the hooks: ``_validate`` (the quality/spatial validator),
    ``_normalize`` (one stored object), ``_consolidator``, ``_from_annotation`` (for
    ``initial_answer``) and ``_similarity`` (for ``agreement``).
    """

    name: str
    output_type: str
    ui_module: str
    # The answer's list key: "boundingBoxes", "polygons", "keypoints", "polylines".
    key: str
    media: str = "image"
    supports_auto_labeling: bool = False
    # Whether a chained job of this type with settings["adjustment"] is an adjustment job.
    supports_adjustment: bool = True
    method: str = "spatial"
    # Least similarity at which two objects count as the same one in `agreement`.
    match_threshold: float = 0.5
    # The consolidator's parameters a job may set in settings["consolidation"].
    consolidation_keys: tuple[str, ...] = ()
    # The 2020 label config's `annotationType` that names this tool.
    annotation_type: str = ""

    # -- hooks ---------------------------------------------------------------------------

    def _validate(self, payload: dict[str, Any], labels: list[str]) -> None:
        """Raise ValueError naming the field (the quality/spatial validators)."""
        raise NotImplementedError

    def _normalize(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _consolidator(
        self, config: LabelConfig, image_size: tuple[int, int] | None, params: dict[str, Any]
    ) -> Any:
        """The quality/spatial consolidator, with the label order, the image size and the
        job's parameters."""
        raise NotImplementedError

    # -- the protocol ----------------------------------------------------------------------

    def parse_label_config(self, raw: Any) -> LabelConfig:
        config = parse_gt_label_config(raw, min_labels=1, with_attributes=True)
        given = config.annotation_type
        if given is not None and self.annotation_type and given != self.annotation_type:
            raise BadInput(
                f"label config: annotationType: {given!r} does not fit a {self.name} job"
                f" (its annotationType is {self.annotation_type!r})"
            )
        return config

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Raise BadInput for job settings this type cannot use (for job creation)."""
        check_job_settings(settings, self.consolidation_keys)

    def _payload(self, answer: Any) -> Mapping[str, Any]:
        return payload_of(answer, self.key)

    def _list_key(self, payload: Mapping[str, Any]) -> str:
        return self.key

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        payload = self._payload(answer)
        key = self._list_key(payload)
        objects = object_list(payload, key)
        self._check_limits(objects, key)
        size = resolve_image_size(payload, item)
        candidate = {key: objects, "inputImageProperties": size_props(size)}
        checked(lambda: self._validate(candidate, list(config.labels)))
        values = attrs.check_object_attributes(objects, key, config)
        return {
            key: [
                attrs.with_attributes(self._normalize(o), v)
                for o, v in zip(objects, values, strict=True)
            ],
            "inputImageProperties": size_props(size),
            **attrs.frame_part(attrs.check_frame_attributes(payload, config)),
            **initial_value_modified(payload),
        }

    def _check_limits(self, objects: list[Any], key: str) -> None:
        """Extra bounds before the (costlier) geometry checks."""

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        if not answers:
            raise ValueError("no answers to consolidate")
        ids, skills = worker_skills(answers)
        params = usable_params(settings, self.consolidation_keys)
        fitted = self._consolidator(config, agreed_image_size(answers), params).fit(
            [a.content for a in answers], worker_ids=ids, skills=skills
        )
        meta: dict[str, Any] = dict(fitted.metadata_)
        meta["objects"] = single_worker_objects(meta["objects"], answers, settings)
        meta.update(adjustment_meta(answers, settings))
        confidence = overall_confidence(
            [o["confidence"] for o in fitted.metadata_["objects"]],
            answers,
            lambda content: not content.get(self._list_key(content)),
            settings,
        )
        value, meta = self._with_attributes(fitted, answers, skills, config, meta)
        return Consolidation(value=value, meta=meta, confidence=confidence, method=self.method)

    def _with_attributes(
        self,
        fitted: Any,
        answers: list[WorkerAnswer],
        skills: dict[str, float],
        config: LabelConfig,
        meta: dict[str, Any],
    ) -> tuple[Any, dict[str, Any]]:
        """The consolidated attribute values added to the label (the consolidators keep
        which worker objects each output object matched in ``clusters_``)."""
        if not config.has_attributes:
            return fitted.label_, meta
        contents = [a.content for a in answers]
        objects = attrs.consolidate_object_attributes(
            contents, [self._list_key(c) for c in contents], fitted.clusters_, skills
        )
        frame = attrs.consolidate_frame_attributes(
            contents, [skills[str(i)] for i in range(len(answers))]
        )
        return attrs.add_to_label(fitted.label_, meta, objects, frame, config)

    # -- adjustment --------------------------------------------------------------------------

    def _from_annotation(self, annotation: Mapping[str, Any], label: str) -> dict[str, Any]:
        """One tool object from one output annotation (the inverse of the label)."""
        raise NotImplementedError

    def initial_answer(
        self, value: Any, meta: Mapping[str, Any], config: LabelConfig
    ) -> dict[str, Any]:
        """The tool's initial value for an adjustment job: an earlier job's label (value
        and metadata, as ``prior_label`` gives them) turned back into an answer."""
        names = class_names(meta, config)
        size = value["image_size"][0]
        return {
            self.key: [
                attrs.with_attributes(
                    self._from_annotation(a, names.get(int(a["class_id"]), str(a["class_id"]))),
                    a.get(attrs.OBJECT_KEY) or {},
                )
                for a in value["annotations"]
            ],
            "inputImageProperties": {"width": size["width"], "height": size["height"]},
            **attrs.prior_frame_attributes(meta),
        }

    # -- agreement ---------------------------------------------------------------------------

    def _prepare(self, payload: Mapping[str, Any], size: tuple[int, int]) -> list[Any]:
        """(label, comparable object) per object of an answer."""
        return [(o["label"], o) for o in payload.get(self._list_key(payload)) or []]

    def _similarity(self, a: Any, b: Any, size: tuple[int, int]) -> float:
        raise NotImplementedError

    def agreement(
        self, answer: Mapping[str, Any], reference: Mapping[str, Any], config: LabelConfig
    ) -> float:
        """Soft F1 in [0, 1] of a (validated) answer against a reference answer."""
        size = _size_of(reference) or _size_of(answer) or (10_000, 10_000)
        return soft_f1(
            self._prepare(answer, size),
            self._prepare(reference, size),
            lambda o: o[0],
            lambda a, b: self._similarity(a[1], b[1], size),
            self.match_threshold,
        )


def _size_of(payload: Mapping[str, Any]) -> tuple[int, int] | None:
    props = payload.get("inputImageProperties")
    if isinstance(props, Mapping) and "width" in props and "height" in props:
        return int(props["width"]), int(props["height"])
    return None


__all__ = ["SIZE_TOLERANCE", "ImageObjectsType"]
