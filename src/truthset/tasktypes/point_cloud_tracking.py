"""3D point cloud object tracking: Ground Truth's ``groundtruth/point_cloud_object_tracking``.

The item's ``source-ref`` is a sequence file of point cloud frames; the answer is cuboid
tracks with keyframes (tasktypes/_cuboid_answers.py), expanded per frame by
geometry/tracks.py's keyframe walk with geometry/cuboids.py's blend (centre and size
linear, angles along the shorter arc). The label is Ground Truth's ``SeqLabel.json``,
written through the exports' label-file rule (the label attribute ends in ``-ref``)::

    {"tracking-annotations": [{"frame-number": 0, "frame-name": "0.bin",
        "frame-attributes": {...},
        "annotations": [{"label-category-attributes": {...}, "object-name": "Car:4",
                         "class-id": 0, "center-x", ..., "yaw", "object-id": "<uuid>"}]}]}

one entry per frame of the sequence. Metadata: ``{"objects": [{"frame-no", "confidence":
[per annotation]}], "class-map", "tracks": [{"object-id", "object-name", "confidence"}]}``
(``tracks`` is ours, beside Ground Truth's keys).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from truthset.errors import BadInput, NotFound
from truthset.tasktypes import _attribute_answers as attrs
from truthset.tasktypes._agreement import soft_f1
from truthset.tasktypes._cuboid_answers import ATTRIBUTES_KEY, check_tracking
from truthset.tasktypes._spatial import (
    adjustment_meta,
    overall_confidence,
    single_worker_confidence,
    usable_params,
    worker_skills,
)
from truthset.tasktypes.base import Consolidation, LabelConfig, WorkerAnswer
from truthset.tasktypes.point_clouds import (
    CONSOLIDATION_KEYS,
    PointCloudType,
    cuboid_array,
    cuboid_edit_numbers,
    cuboid_json,
    names_of,
    object_name,
    parse_object_name,
    unique_numbers,
)

SEQLABEL_KEY = "tracking-annotations"
MAX_SEQLABEL_BYTES = 256 << 20


def sequence_frames(item: Mapping[str, Any]) -> list[list[Any]]:
    """[frame-no as the file gives it, frame name] per frame index of the item's sequence."""
    from truthset.media.sequences import load_sequence

    ref = item.get("source-ref")
    if not isinstance(ref, str):
        raise BadInput(
            "item: a point cloud tracking item needs a 'source-ref' to its sequence file"
        )
    try:
        sequence = load_sequence(ref)
    except (BadInput, NotFound) as exc:
        raise BadInput(f"item: its sequence file cannot be read: {exc}") from None
    return [
        [
            f.frame_no_given if getattr(f, "frame_no_given", None) is not None else f.frame_no,
            f.frame,
        ]
        for f in sequence.frames
    ]


def expanded(track: Mapping[str, Any]) -> list[Any]:
    """The track's FrameShapes (cuboid per frame present, attributes in force)."""
    from truthset.geometry.cuboids import blend_json
    from truthset.geometry.tracks import expand_keyframes

    return expand_keyframes(
        track["keyframes"],
        key="cuboid",
        blend=blend_json,
        track_attributes=track.get(ATTRIBUTES_KEY),
    )


def read_seqlabel(value: Any) -> Mapping[str, Any]:
    """A SeqLabel document: the value itself, or the file a ``-ref`` value names (a label
    imported from Ground Truth), read through media/storage."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        import orjson

        from truthset.media.storage import read_document

        data = read_document(value, "SeqLabel.json", limit=MAX_SEQLABEL_BYTES)
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise BadInput(f"SeqLabel.json {value!r}: not JSON ({exc})") from None
        if isinstance(document, Mapping):
            return document
    raise BadInput(f"the earlier label {str(value)[:80]!r} is not a SeqLabel document")


@dataclass(frozen=True)
class PointCloudTrackingType(PointCloudType):
    label_file_name: str = "SeqLabel.json"
    # What marks a prediction in Ground Truth's output shape (tasktypes/predictions.py).
    output_keys: tuple[str, ...] = (SEQLABEL_KEY, "detection-annotations")

    def validate_answer(
        self, answer: Any, config: LabelConfig, item: dict[str, Any]
    ) -> dict[str, Any]:
        frames = sequence_frames(item)
        out = check_tracking(answer, config, len(frames))
        # The label names frames; the consolidator sees answers, not the item.
        out["sequence-frames"] = frames
        return out

    def check_edits(self, content: Mapping[str, Any], prior: Any, config: LabelConfig) -> None:
        """The label config's editsAllowed against the earlier label (tasktypes/_edits.py)."""
        from truthset.tasktypes._edits import check_edits, tracks_view

        check_edits(
            tracks_view(content, expanded, cuboid_edit_numbers),
            tracks_view(prior, expanded, cuboid_edit_numbers),
            config,
            noun="track",
        )

    def consolidate(
        self, answers: list[WorkerAnswer], config: LabelConfig, settings: dict[str, Any]
    ) -> Consolidation:
        from truthset.consensus.spatial.cuboids import CuboidTrackConsolidator, TrackInput

        if not answers:
            raise ValueError("no answers to consolidate")
        ids, skills = worker_skills(answers)
        weights = [skills[i] for i in ids]
        contents = [a.content for a in answers]
        shapes = [[expanded(t) for t in c.get("tracks") or []] for c in contents]
        per_worker = [
            [
                TrackInput(
                    label=t["label"],
                    frames={s.frame: cuboid_array(s.geometry) for s in track_shapes},
                )
                for t, track_shapes in zip(c.get("tracks") or [], worker_shapes, strict=True)
            ]
            for c, worker_shapes in zip(contents, shapes, strict=True)
        ]
        fitted = CuboidTrackConsolidator(**usable_params(settings, CONSOLIDATION_KEYS)).fit(
            per_worker, weights
        )
        single = len(answers) == 1
        own = single_worker_confidence(answers[0], settings) if single else None
        results = fitted.tracks_
        firsts = [contents[r.members[0][0]]["tracks"][r.members[0][1]] for r in results]
        numbers = unique_numbers(
            [(r.label, t["number"]) for r, t in zip(results, firsts, strict=True)]
        )
        frames = contents[0].get("sequence-frames") or [
            [i, str(i)] for i in range(int(contents[0]["number-of-frames"]))
        ]
        per_frame: list[list[dict[str, Any]]] = [[] for _ in frames]
        per_frame_conf: list[list[float]] = [[] for _ in frames]
        tracks_meta = []
        for r, first, number in zip(results, firsts, numbers, strict=True):
            confidence = own if own is not None else r.confidence
            name = object_name(r.label, number)
            tracks_meta.append(
                {"object-id": first["object-id"], "object-name": name, "confidence": confidence}
            )
            # Attributes per frame: the weighted majority of the members present there.
            member_attrs = {
                (m, k): {s.frame: s.attributes for s in shapes[m][k]} for m, k in r.members
            }
            for f, cube in sorted(r.frames.items()):
                annotation: dict[str, Any] = {}
                if config.has_label_attributes:
                    votes: dict[str, list[tuple[Any, float]]] = {}
                    for (m, _k), by_frame in member_attrs.items():
                        for key, v in (by_frame.get(f) or {}).items():
                            votes.setdefault(key, []).append((v, weights[m]))
                    annotation[ATTRIBUTES_KEY] = {k: attrs.majority(v) for k, v in votes.items()}
                annotation["object-name"] = name
                annotation["class-id"] = config.class_id(r.label)
                annotation.update(cuboid_json(cube))
                annotation["object-id"] = first["object-id"]
                per_frame[f].append(annotation)
                per_frame_conf[f].append(confidence)
        frame_values = _frame_attributes(contents, weights)
        document = {
            SEQLABEL_KEY: [
                {
                    "frame-number": frames[f][0],
                    "frame-name": frames[f][1],
                    "frame-attributes": frame_values.get(str(f), {}),
                    "annotations": per_frame[f],
                }
                for f in range(len(frames))
            ]
        }
        meta: dict[str, Any] = {
            "objects": [
                {"frame-no": frames[f][0], "confidence": per_frame_conf[f]}
                for f in range(len(frames))
            ],
            "class-map": {str(i): name for i, name in enumerate(config.labels)},
            "tracks": tracks_meta,
        }
        meta.update(adjustment_meta(answers, settings))
        confidence = overall_confidence(
            [t["confidence"] for t in tracks_meta],
            answers,
            lambda content: not content.get("tracks"),
            settings,
        )
        return Consolidation(
            value=document, meta=meta, confidence=confidence, method="cuboid-track-iou-vote"
        )

    def initial_answer(
        self, value: Any, meta: Mapping[str, Any], config: LabelConfig
    ) -> dict[str, Any]:
        """An earlier tracking label (truthset's document or Ground Truth's SeqLabel.json
        behind a ``-ref``) as tracks: every frame an object is on becomes a keyframe, and
        the first frame of a gap an ``outside`` one."""
        document = read_seqlabel(value)
        entries = document.get(SEQLABEL_KEY) or document.get("detection-annotations") or []
        names = names_of(meta, config)
        tracks: dict[str, dict[str, Any]] = {}
        for index, entry in enumerate(entries):
            for a in entry.get("annotations") or []:
                label = names.get(int(a["class-id"]), str(a["class-id"]))
                oid = str(a.get("object-id") or a.get("object-name") or f"{label}-{index}")
                track = tracks.setdefault(
                    oid,
                    {
                        "object-id": oid,
                        "label": label,
                        "number": parse_object_name(a.get("object-name"), label) or 1,
                        "keyframes": [],
                    },
                )
                keyframes = track["keyframes"]
                if keyframes and keyframes[-1]["frame"] < index - 1 and "cuboid" in keyframes[-1]:
                    keyframes.append({"frame": keyframes[-1]["frame"] + 1, "outside": True})
                kf: dict[str, Any] = {"frame": index, "cuboid": cuboid_json(cuboid_array(a))}
                if a.get(ATTRIBUTES_KEY):
                    kf[ATTRIBUTES_KEY] = dict(a[ATTRIBUTES_KEY])
                keyframes.append(kf)
        out_tracks = list(tracks.values())
        numbers = unique_numbers([(t["label"], t["number"]) for t in out_tracks])
        for track, number in zip(out_tracks, numbers, strict=True):
            track["number"] = number
        frame_values = {
            str(i): dict(e["frame-attributes"])
            for i, e in enumerate(entries)
            if isinstance(e.get("frame-attributes"), Mapping) and e["frame-attributes"]
        }
        out: dict[str, Any] = {"number-of-frames": len(entries), "tracks": out_tracks}
        if frame_values:
            out["frame-attributes"] = frame_values
        return out

    def agreement(
        self, answer: Mapping[str, Any], reference: Mapping[str, Any], config: LabelConfig
    ) -> float:
        """Soft F1 of the tracks matched by their mean 3D IoU over shared frames."""
        from truthset.consensus.spatial.cuboids import TrackInput, track_similarity

        def prepared(payload: Mapping[str, Any]) -> list[TrackInput]:
            return [
                TrackInput(
                    label=t["label"],
                    frames={s.frame: cuboid_array(s.geometry) for s in expanded(t)},
                )
                for t in payload.get("tracks") or []
            ]

        return soft_f1(
            prepared(answer), prepared(reference), lambda t: t.label, track_similarity, 0.5
        )


def _frame_attributes(
    contents: Sequence[Mapping[str, Any]], weights: Sequence[float]
) -> dict[str, dict[str, Any]]:
    votes: dict[str, dict[str, list[tuple[Any, float]]]] = {}
    for content, weight in zip(contents, weights, strict=True):
        for frame, values in (content.get("frame-attributes") or {}).items():
            for name, value in values.items():
                votes.setdefault(frame, {}).setdefault(name, []).append((value, weight))
    return {f: {n: attrs.majority(v) for n, v in names.items()} for f, names in votes.items()}


POINT_CLOUD_OBJECT_TRACKING = PointCloudTrackingType(
    name="point-cloud-object-tracking",
    output_type="groundtruth/point_cloud_object_tracking",
)
