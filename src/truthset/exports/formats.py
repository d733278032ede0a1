"""The export formats the server supports, by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import object_session

from truthset.errors import BadInput
from truthset.registry import Registry


@dataclass(frozen=True)
class Exporter:
    name: str
    suffix: str
    description: str
    export: Callable[..., int]
    # The task types it can express; None: every type.
    task_types: tuple[str, ...] | None = None
    # (session, job) -> why the export would be empty ("job 'x' has nothing to export
    # as COCO: ..."), or None; checked with the task type, before any run starts.
    missing: Callable[[Any, Any], str | None] | None = None

    def check_job(self, job: Any) -> None:
        """Refuse, before any run starts, a job this format cannot express or an export
        that would have nothing in it."""
        if self.task_types is not None and job.task_type not in self.task_types:
            raise BadInput(
                f"the {self.name} format is for {', '.join(self.task_types)} jobs; "
                f"job {job.name!r} is {job.task_type}"
            )
        session = object_session(job)
        if self.missing is not None and session is not None:
            reason = self.missing(session, job)
            if reason:
                raise BadInput(reason)


# Each format module defines its Exporter; plugins add formats through the entry-point
# group `truthset.export_formats` the same way.
EXPORT_FORMATS: Registry[Exporter] = Registry(
    "export format",
    "truthset.export_formats",
    {
        "groundtruth": "truthset.exports.groundtruth:GROUNDTRUTH",
        "groundtruth-zip": "truthset.exports.gt_archive:GROUNDTRUTH_ZIP",
        "coco": "truthset.exports.coco:COCO",
        "yolo": "truthset.exports.archives:YOLO",
        "yolo-seg": "truthset.exports.yolo_seg:YOLO_SEG",
        "voc": "truthset.exports.archives:VOC",
        "conll": "truthset.exports.conll:CONLL",
        "rttm": "truthset.exports.audio_segments:RTTM",
        "webvtt": "truthset.exports.audio_segments:WEBVTT",
        "srt": "truthset.exports.audio_segments:SRT",
        "events-csv": "truthset.exports.audio_segments:EVENTS_CSV",
        "kitti": "truthset.exports.kitti:KITTI",
        "mot": "truthset.exports.video:MOT",
        "coco-video": "truthset.exports.video:COCO_VIDEO",
        "hf": "truthset.exports.hf_datasets:HF",
    },
    instance_of=Exporter,
)


def get_exporter(name: str) -> Exporter:
    return EXPORT_FORMATS.get(name)


def list_exporters() -> list[dict[str, Any]]:
    return [
        {
            "name": e.name,
            "suffix": e.suffix,
            "description": e.description,
            "task_types": list(e.task_types) if e.task_types is not None else None,
        }
        for e in EXPORT_FORMATS.load_all().values()
    ]
