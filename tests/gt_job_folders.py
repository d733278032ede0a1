"""Finished Ground Truth jobs' output folders, built as Ground Truth lays them out
(developer guide, "Output Data"; ../shared/reference/groundtruth-manifests.md §2.3):
`manifests/output/output.manifest` and `annotations/worker-response/iteration-<n>/
<datasetObjectId>/<time>.json`, from simulated workers of known accuracy, on local disk
or on S3."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from truthset.media.storage import s3_client

ANIMALS = ["cat", "dog", "bird"]
# The simulated workers and how often each gives the true class (else a random other).
WORKERS = {
    "private.us-west-2.a1b2c3d4e5f60001": 0.95,
    "private.us-west-2.a1b2c3d4e5f60002": 0.75,
    "private.us-west-2.a1b2c3d4e5f60003": 0.45,
}
START = 1609181955.191  # 2020-12-28T18:59:15.191Z
IMAGE_BUCKET = "s3://gt-example-images"


def gt_time(ts: float) -> str:
    """`2020-12-28T18:59:15.191Z`."""
    millis = int(round((ts - int(ts)) * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(ts))) + f".{millis:03d}Z"


def file_time(ts: float) -> str:
    return time.strftime("%Y-%m-%d_%H:%M:%S", time.gmtime(int(ts)))


def label_file(names: list[str]) -> dict[str, Any]:
    return {"document-version": "2018-11-28", "labels": [{"label": n} for n in names]}


@dataclass
class JobFolderFiles:
    """A job folder's files (path below the folder -> bytes) and what made them."""

    name: str
    files: dict[str, bytes] = field(default_factory=dict)
    truth: list[Any] = field(default_factory=list)
    # (object id, worker id) -> the answer's times: (accepted, submitted, time spent).
    times: dict[tuple[int, str], tuple[float, float, float]] = field(default_factory=dict)
    answers: dict[tuple[int, str], Any] = field(default_factory=dict)

    def manifest(self, lines: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
        self.files["manifests/output/output.manifest"] = text.encode()

    def response(self, iteration: int, object_id: int, at: float, answers: list[dict]) -> str:
        rel = f"annotations/worker-response/iteration-{iteration}/{object_id}/{file_time(at)}.json"
        self.files[rel] = json.dumps({"answers": answers}).encode()
        return rel

    def write_local(self, parent: Path) -> Path:
        root = parent / self.name
        for rel, data in self.files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return root

    def write_s3(self, bucket: str, prefix: str) -> str:
        client = s3_client()
        for rel, data in self.files.items():
            client.put_object(Bucket=bucket, Key=f"{prefix}{self.name}/{rel}", Body=data)
        return f"s3://{bucket}/{prefix}{self.name}/"


def _answer(worker: str, content: dict, accepted: float, spent: float) -> dict[str, Any]:
    return {
        "workerId": worker,
        "answerContent": content,
        "acceptanceTime": gt_time(accepted),
        "submissionTime": gt_time(accepted + spent + 1.5),
        "timeSpentInSeconds": spent,
        "workerMetadata": {
            "identityData": {
                "identityProviderType": "Cognito",
                "issuer": "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_AbCdEf",
                "sub": f"sub-{worker[-4:]}",
            }
        },
    }


def classification_job(
    name: str = "animals-2020",
    *,
    n: int = 30,
    seed: int = 1,
    workers: dict[str, float] | None = None,
    attribute: str = "animal",
) -> JobFolderFiles:
    """An image classification job: `n` images, each answered by every worker; the
    output manifest's label is the majority (Ground Truth's consolidation, with its
    confidence), iteration 1 has one file per object with every answer, iteration 2 one
    file per worker."""
    workers = workers or WORKERS
    rng = np.random.default_rng(seed)
    job = JobFolderFiles(name)
    lines = []
    for i in range(n):
        truth = int(rng.integers(len(ANIMALS)))
        job.truth.append(truth)
        given = []
        for accuracy in workers.values():
            if rng.random() < accuracy:
                given.append(truth)
            else:
                given.append(int(rng.choice([c for c in range(len(ANIMALS)) if c != truth])))
        votes = np.bincount(given, minlength=len(ANIMALS))
        label = int(np.argmax(votes))
        lines.append(
            {
                "source-ref": f"{IMAGE_BUCKET}/images/{i:03d}.jpg",
                # Ground Truth writes the class id as a number or as text: both occur.
                attribute: label if i % 2 else str(label),
                f"{attribute}-metadata": {
                    "class-name": ANIMALS[label],
                    "confidence": round(float(votes[label]) / len(given), 2),
                    "type": "groundtruth/image-classification",
                    "job-name": f"labeling-job/{name}",
                    "human-annotated": "yes",
                    "creation-date": "2020-12-28T19:30:00.000001",
                },
            }
        )
        iteration = 1 if i < n // 2 else 2
        records = []
        for k, (w, cls) in enumerate(zip(workers, given, strict=True)):
            accepted = START + 60 * i + 7 * k
            spent = round(5 + 3 * k + float(rng.random()), 3)
            content = {"crowd-image-classifier": {"label": ANIMALS[cls]}}
            record = _answer(w, content, accepted, spent)
            job.times[(i, w)] = (accepted, accepted + spent + 1.5, spent)
            job.answers[(i, w)] = ANIMALS[cls]
            if iteration == 1:
                records.append(record)
            else:
                job.response(iteration, i, accepted + spent + 1.5, [record])
        if records:
            job.response(iteration, i, START + 60 * i + 30, records)
    job.manifest(lines)
    return job


BOX_CLASSES = ["car", "person"]


def png_bytes(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buf, format="PNG")
    return buf.getvalue()


def box_job(
    image_dir: Path, name: str = "street-boxes", *, n: int = 6, seed: int = 3
) -> JobFolderFiles:
    """A bounding-box job over `n` real 64x48 images in `image_dir`: one car per image,
    three workers whose boxes are the true one moved by 0, 2 and 8 pixels."""
    rng = np.random.default_rng(seed)
    job = JobFolderFiles(name)
    lines = []
    for i in range(n):
        path = image_dir / f"street-{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(64, 48))
        left, top = int(rng.integers(0, 20)), int(rng.integers(0, 10))
        true_box = {"left": left, "top": top, "width": 30, "height": 20}
        job.truth.append(true_box)
        records = []
        for k, (w, shift) in enumerate(zip(WORKERS, (0, 2, 8), strict=True)):
            box = {
                "label": "car",
                "left": left + shift,
                "top": top,
                "width": 30,
                "height": 20 + shift // 2,
            }
            content = {
                "boundingBox": {
                    "boundingBoxes": [box],
                    "inputImageProperties": {"width": 64, "height": 48},
                }
            }
            accepted = START + 100 * i + 9 * k
            records.append(_answer(w, content, accepted, 12.5 + k))
            job.answers[(i, w)] = box
        job.response(1, i, START + 100 * i + 40, records)
        lines.append(
            {
                "source-ref": str(path),
                "boxes": {
                    "image_size": [{"width": 64, "height": 48, "depth": 3}],
                    "annotations": [{"class_id": 0, **true_box}],
                },
                "boxes-metadata": {
                    "objects": [{"confidence": 0.91}],
                    "class-map": {"0": "car"},
                    "type": "groundtruth/object-detection",
                    "human-annotated": "yes",
                    "creation-date": "2021-03-01T10:00:00.000000",
                    "job-name": f"labeling-job/{name}",
                },
            }
        )
    job.manifest(lines)
    return job
