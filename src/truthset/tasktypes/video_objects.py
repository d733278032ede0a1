"""Video frame object detection and tracking: Ground Truth's ``groundtruth/video-object-
detection`` and ``groundtruth/video-object-tracking``.

The item's ``source-ref`` is a sequence file (``media.sequences``); the tool is
tools/video.js. The label config is Ground Truth's: the 2020 format
(``"documentVersion": "2020-03-01"``) with ``annotationType`` BoundingBox (the default),
Polygon, Polyline or Keypoint, label category attributes and frame attributes; the 2018
format is taken for boxes only (it cannot name another annotationType).

Answer: a list of tracks, each with keyframes (``_video_answers``; the rules of
``geometry.tracks``): detection places a shape on its keyframes only, tracking
interpolates between them.

Label value: the ``SeqLabel.json`` document Ground Truth writes,
``{"tracking-annotations" | "detection-annotations": [{"frame-no", "frame",
"frame-attributes", "annotations" | "polygons" | "polylines" | "keypoints": [{<geometry>,
"class-id", "label-category-attributes", "object-id", "object-name"}]}]}``, one entry per
frame of the sequence, each track expanded per frame (boxes ``height, width, top, left``;
polygons / polylines ``vertices: [{"x", "y"}]``; keypoints ``x, y``). The exports write it
to ``.../consolidated-annotation/output/<datasetObjectId>/SeqLabel.json``
(``label_file_name``) and point the ``-ref`` attribute at it. Metadata: ``class-map``,
``confidence`` and ``tracks: [{"object-id", "object-name", "confidence"}]`` (ours, beside
Ground Truth's keys). Consolidation: ``consensus.spatial.tracks.TrackConsolidator``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from truthset.errors import BadInput
from truthset.geometry.tracks import (
    ANNOTATION_TYPE_SHAPE,
    ATTRIBUTES_KEY,
    SHAPE_LIST_KEY,
    FrameShape,
    expand_track,
    flat_geometry,
    from_seqlabel_geometry,
    keyframes_from_frames,
    number_of_frames,
    to_seqlabel_geometry,
)
from truthset.tasktypes import _attribute_answers as attrs
from truthset.tasktypes._agreement import soft_f1
from truthset.tasktypes._edits import check_edits, tracks_view
from truthset.tasktypes._spatial import (
    adjustment_meta,
    check_job_settings,
    overall_confidence,
    single_worker_confidence,
    usable_params,
    worker_skills,
)
from truthset.tasktypes._video_answers import check_answer, frame_size_of, sequence_facts
from truthset.tasktypes.base import (
    Consolidation,
    LabelConfig,
    WorkerAnswer,
    class_names,
    parse_gt_label_config,
)

# A SeqLabel.json read back for an adjustment job (its `-ref` URI) is at most this big.
MAX_SEQLABEL_BYTES = 256 << 20


def shape_of(config: LabelConfig) -> str:
    """The geometry key of a label config's annotationType (BoundingBox by default)."""
    return ANNOTATION_TYPE_SHAPE[config.annotation_type or "BoundingBox"]


@dataclass(frozen=True)
class VideoObjectsType:
    name: str
    output_type: str
    # Tracking interpolates between keyframes; detection does not.
    interpolate: bool
    # The top-level list of the SeqLabel document.
    seq_key: str
    media: str = "video-frames"
    ui_module: str = "tools/video.js"
    supports_auto_labeling: bool = False
    supports_adjustment: bool = True
    method: str = "track-match-vote"
    consolidation_keys: tuple[str, ...] = ("iou_threshold", "min_support")
    # The exports write the label to <datasetObjectId>/SeqLabel.json (the label-file rule).
    label_file_name: str = "SeqLabel.json"
    # What marks Ground Truth's output shape in a prediction (tasktypes.predictions).
    output_keys: tuple[str, ...] = ("tracking-annotations", "detection-annotations")
    # The tool starts from an earlier label in the answer shape (jobs.views.label_for_tool
    # turns the stored SeqLabel document into keyframes with `initial_answer`).
    prior_label_as_answer: bool = True
    # Least track similarity at which two tracks count as one in `agreement`.
    match_threshold: float = 0.5

    # -- config and settings ---------------------------------------------------------------

    def parse_label_config(self, raw: Any) -> LabelConfig:
        if isinstance(raw, Mapping) and "documentVersion" not in raw:
            given = raw.get("annotationType")
            if given not in (None, "BoundingBox"):
                raise BadInput(
                    f"label config: annotationType: {given!r} needs the 2020 format;"
                    ' give "documentVersion": "2020-03-01" (the 2018 format is taken for'
                    " BoundingBox only)"
                )
            if given is not None:
                raw = {k: v for k, v in raw.items() if k != "annotationType"}
        return parse_gt_label_config(raw, min_labels=1, with_attributes=True)

    def check_settings(self, settings: dict[str, Any]) -> None:
        check_job_settings(settings, self.consolidation_keys)

    # -- answers ---------------------------------------------------------------------------

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        return check_answer(answer, shape_of(config), config, sequence_facts(item))

    # -- consolidation ---------------------------------------------------------------------

    def check_edits(self, content: Mapping[str, Any], prior: Any, config: LabelConfig) -> None:
        """The label config's editsAllowed against the earlier label the job started
        from (tasktypes/_edits.py): BadInput for an edit it does not allow."""
        shape = shape_of(config)

        # Both over the sequence's frames (the content's, validated): an earlier label read
        # from a SeqLabel that lists fewer frames is held on as the tool shows it.
        frames = number_of_frames(content)

        def expand(track: Mapping[str, Any]) -> list[Any]:
            return expand_track(
                track.get("keyframes") or [],
                shape,
                interpolate=self.interpolate,
                frames=frames,
                track_attributes=track.get(ATTRIBUTES_KEY),
            )

        def flatten(geometry: Mapping[str, Any]) -> Any:
            return flat_geometry(shape, geometry)

        check_edits(
            tracks_view(content, expand, flatten),
            tracks_view(prior, expand, flatten),
            config,
            noun="track",
        )

    def _consolidator(self, config: LabelConfig, contents: list[Any], **params: Any) -> Any:
        from truthset.consensus.spatial.tracks import TrackConsolidator

        return TrackConsolidator(
            shape=shape_of(config),
            interpolate=self.interpolate,
            frame_size=frame_size_of(contents),
            **params,
        )

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        if not answers:
            raise ValueError("no answers to consolidate")
        contents = [a.content for a in answers]
        ids, skills = worker_skills(answers)
        params = usable_params(settings, self.consolidation_keys)
        fitted = self._consolidator(
            config,
            contents,
            single_confidence=single_worker_confidence(answers[0], settings),
            **params,
        ).fit(contents, worker_ids=ids, skills=skills)
        shape = shape_of(config)
        list_key = SHAPE_LIST_KEY[shape]
        entries: list[dict[str, Any]] = [
            {"frame-no": no, "frame": name, "frame-attributes": {}, list_key: []}
            for no, name in _sequence_frames(contents)
        ]
        for index, values in _frame_attributes(contents, [skills[i] for i in ids]).items():
            if index < len(entries):
                entries[index]["frame-attributes"] = values
        present: dict[str, str] = {}
        summary = []
        for track in fitted.tracks_:
            class_id = str(config.class_id(track.label))
            present[class_id] = track.label
            name = f"{track.label}:{track.number}"
            for frame, geometry, values in zip(
                track.frames, track.geometries, track.attributes, strict=True
            ):
                if frame >= len(entries):
                    break  # a sequence cut short since an answer was checked
                entries[frame][list_key].append(
                    {
                        **to_seqlabel_geometry(shape, geometry),
                        "class-id": class_id,
                        ATTRIBUTES_KEY: values,
                        "object-id": track.object_id,
                        "object-name": name,
                    }
                )
            summary.append(
                {"object-id": track.object_id, "object-name": name, "confidence": track.confidence}
            )
        confidence = overall_confidence(
            [t.confidence for t in fitted.tracks_],
            answers,
            lambda content: not content.get("tracks"),
            settings,
        )
        meta: dict[str, Any] = {
            "class-map": dict(sorted(present.items(), key=lambda kv: int(kv[0]))),
            "confidence": confidence,
            "tracks": summary,
            **adjustment_meta(answers, settings),
        }
        return Consolidation(
            value={self.seq_key: entries}, meta=meta, confidence=confidence, method=self.method
        )

    # -- adjustment and predictions --------------------------------------------------------

    def initial_answer(
        self, value: Any, meta: Mapping[str, Any], config: LabelConfig
    ) -> dict[str, Any]:
        """An earlier video label as the answer a worker adjusts: truthset's SeqLabel
        document, or Ground Truth's (the label value is then the ``-ref`` URI of its
        SeqLabel.json, read here). Frames are indexed by their place in the document for
        truthset's labels (which list every frame in order) and by ``frame-no`` for Ground
        Truth's (which list the annotated frames, numbered as its sequence files number
        them); ``number-of-frames`` is then a lower bound the tool corrects from the
        sequence. Objects of labels the config does not have are left out."""
        doc = _read_seqlabel(value)
        entries = doc.get(self.seq_key)
        if entries is None:
            other = [k for k in self.output_keys if k in doc]
            entries = doc.get(other[0]) if other else None
        if not isinstance(entries, list):
            raise BadInput(f"SeqLabel: no {self.seq_key!r} list of frames")
        shape = shape_of(config)
        ours = "tracks" in meta
        names = class_names(meta, config)
        by_object: dict[str, dict[str, Any]] = {}
        frame_values: dict[str, dict[str, Any]] = {}
        last_index = -1
        for position, entry in enumerate(entries):
            index = position if ours else int(entry.get("frame-no", position))
            last_index = max(last_index, index)
            if entry.get("frame-attributes"):
                frame_values[str(index)] = dict(entry["frame-attributes"])
            objects = entry.get(SHAPE_LIST_KEY[shape])
            if objects is None:
                objects = entry.get("annotations") or []
            for k, obj in enumerate(objects):
                label = _label_of(obj, names)
                if label not in config.labels:
                    continue
                oid = str(obj.get("object-id") or obj.get("object-name") or f"{index}-{k}")
                track = by_object.setdefault(
                    oid, {"label": label, "number": _number_of(obj), "shapes": []}
                )
                track["shapes"].append(
                    FrameShape(
                        index,
                        from_seqlabel_geometry(shape, obj),
                        dict(obj.get(ATTRIBUTES_KEY) or {}),
                        True,
                    )
                )
        tracks = []
        used: dict[str, set[int]] = {}
        for oid, track in by_object.items():
            numbers = used.setdefault(track["label"], set())
            number = track["number"]
            if number is None or number in numbers:
                number = max(numbers, default=0) + 1
            numbers.add(number)
            shapes = sorted(track["shapes"], key=lambda s: s.frame)
            tracks.append(
                {
                    "object-id": oid,
                    "label": track["label"],
                    "number": number,
                    "keyframes": keyframes_from_frames(
                        shapes, shape, interpolate=self.interpolate, frames=last_index + 1
                    ),
                }
            )
        answer: dict[str, Any] = {"number-of-frames": last_index + 1, "tracks": tracks}
        if frame_values:
            answer["frame-attributes"] = frame_values
        return answer

    # -- agreement ---------------------------------------------------------------------------

    def agreement(
        self, answer: Mapping[str, Any], reference: Mapping[str, Any], config: LabelConfig
    ) -> float:
        """Soft F1 in [0, 1] of an answer's tracks against a reference's (track similarity
        as in consolidation: mean per-frame IoU over shared frames)."""
        consolidator = self._consolidator(config, [answer, reference])

        def expanded(content: Mapping[str, Any]) -> list[Any]:
            frames = number_of_frames(content)
            return [consolidator.expand(t, frames) for t in content.get("tracks") or []]

        mine, theirs = expanded(answer), expanded(reference)
        consolidator.size_ = consolidator.frame_extent([t.geometries for t in mine + theirs])
        return soft_f1(
            mine,
            theirs,
            lambda t: t.label,
            consolidator.track_similarity,
            self.match_threshold,
        )


def _sequence_frames(contents: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """``[frame-no, frame]`` per index, as validation recorded them: the first answer's
    (all answers of a task are checked against the same sequence file; if it was replaced
    in between, the first answer's view wins). An answer stored without them (made before
    they were recorded, or imported) gets the indexes as numbers and names."""
    for content in contents:
        frames = content.get("sequence-frames")
        if isinstance(frames, list):
            return frames
    count = max(int(c.get("number-of-frames") or 0) for c in contents)
    return [[i, str(i)] for i in range(count)]


def _frame_attributes(
    contents: Sequence[Mapping[str, Any]], weights: Sequence[float]
) -> dict[int, dict[str, Any]]:
    """Per frame index, each frame attribute's weighted majority over the workers who
    gave one."""
    votes: dict[int, dict[str, list[tuple[Any, float]]]] = {}
    for content, weight in zip(contents, weights, strict=True):
        for key, values in (content.get("frame-attributes") or {}).items():
            frame = votes.setdefault(int(key), {})
            for name, value in values.items():
                frame.setdefault(name, []).append((value, weight))
    return {
        index: {name: attrs.majority(v) for name, v in frame.items()}
        for index, frame in sorted(votes.items())
    }


def _read_seqlabel(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        from truthset.media.storage import read_document

        data = read_document(value, "SeqLabel.json", limit=MAX_SEQLABEL_BYTES)
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise BadInput(f"SeqLabel.json {value!r} is not JSON ({exc})") from None
        if not isinstance(doc, Mapping):
            raise BadInput(f"SeqLabel.json {value!r} is not a JSON object")
        return doc
    raise BadInput(f"a video label is a SeqLabel document or its location, not {value!r}")


def _label_of(obj: Mapping[str, Any], names: dict[int, str]) -> str | None:
    class_id = obj.get("class-id")
    if class_id is not None:
        try:
            return names.get(int(class_id))
        except (TypeError, ValueError):
            pass
    name = obj.get("object-name")
    return str(name).rsplit(":", 1)[0] if isinstance(name, str) else None


def _number_of(obj: Mapping[str, Any]) -> int | None:
    name = obj.get("object-name")
    if isinstance(name, str) and ":" in name:
        tail = name.rsplit(":", 1)[1]
        if tail.isdigit() and int(tail) >= 1:
            return int(tail)
    return None


VIDEO_OBJECT_DETECTION = VideoObjectsType(
    name="video-object-detection",
    output_type="groundtruth/video-object-detection",
    interpolate=False,
    seq_key="detection-annotations",
)
VIDEO_OBJECT_TRACKING = VideoObjectsType(
    name="video-object-tracking",
    output_type="groundtruth/video-object-tracking",
    interpolate=True,
    seq_key="tracking-annotations",
)
