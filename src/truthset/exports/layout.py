"""Ground Truth's output folder, path by path and file by file (its developer guide,
"Output Data"; `docs/architecture.md`, "Ground Truth's output folder"):

    <path>/<job>/manifests/output/output.manifest
    <path>/<job>/manifests/intermediate/<n>/output.manifest
    <path>/<job>/annotations/worker-response/iteration-<n>/<datasetObjectId>/<time>.json
    <path>/<job>/annotations/consolidated-annotation/consolidation-request/iteration-<n>/<time>.json
    <path>/<job>/annotations/consolidated-annotation/consolidation-response/iteration-<n>/<time>.json
    <path>/<job>/annotations/consolidated-annotation/output/<datasetObjectId>_<creation-date>.png

A `datasetObjectId` is the item's position (Ground Truth numbers the lines of a job's input
from 0), the same in every job chained on the first. `OutputLocation` is the folder, local
or on S3; the functions below make the paths and the JSON shapes, nothing else.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from truthset.errors import AppError
from truthset.exports.groundtruth import creation_date
from truthset.media.storage import parse_s3_uri, s3_client, write_bytes

OUTPUT_MANIFEST = "manifests/output/output.manifest"
MASKS = "annotations/consolidated-annotation/output/"

# The element each built-in Ground Truth template names its answer with, so a worker
# response's `answerContent` reads as Ground Truth's (`{"crowd-image-classifier": {"label":
# ...}}`, `{"boundingBox": {"boundingBoxes": ...}}`); the developer guide's payload examples
# and its templates' `name` attributes. Types Ground Truth has no built-in template for use
# the element their tool would be (polygons, lines, keypoints) or, for a plugin, its
# `ground_truth_element` attribute, else its name.
ELEMENT_NAMES: dict[str, str] = {
    "image-classification": "crowd-image-classifier",
    "image-classification-multilabel": "crowd-image-classifier-multi-select",
    "text-classification": "crowd-classifier",
    "text-classification-multilabel": "crowd-classifier-multi-select",
    "audio-classification": "crowd-classifier",
    "video-classification": "crowd-classifier",
    "bounding-box": "boundingBox",
    "semantic-segmentation": "crowd-semantic-segmentation",
    "instance-segmentation": "crowd-instance-segmentation",
    "polygon": "crowd-polygon",
    "polyline": "crowd-polyline",
    "keypoint": "crowd-keypoint",
    "named-entity-recognition": "crowd-entity-annotation",
    "label-verification": "crowd-classifier",
    "audio-transcription": "transcription",
}


def element_name(task_type_name: str, task_type: Any = None) -> str:
    own = getattr(task_type, "ground_truth_element", None)
    if isinstance(own, str) and own:
        return own
    return ELEMENT_NAMES.get(task_type_name, task_type_name)


def iso_time(ts: float) -> str:
    """Ground Truth's worker-response time: `2020-12-28T18:59:15.191Z` (UTC, milliseconds)."""
    sec = int(ts)
    millis = min(int(round((ts - sec) * 1000)), 999)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{millis:03d}Z"


def file_time(ts: float) -> str:
    """The time in Ground Truth's annotation file names: `2020-12-28_18:59:15`."""
    return time.strftime("%Y-%m-%d_%H:%M:%S", time.gmtime(int(ts)))


def worker_id(user_id: int, user_name: str, created_at: float) -> str:
    """A worker's id in the output: opaque and the same in every job, as Ground Truth's
    `private.<region>.<hex>` is; a digest of the account, not its name."""
    digest = hashlib.blake2b(
        f"{user_id}:{user_name}:{created_at!r}".encode(), digest_size=8
    ).hexdigest()
    return f"private.truthset.{digest}"


def worker_metadata(user_name: str) -> dict[str, Any]:
    """`workerMetadata` of a private workforce: who the worker is to the identity provider
    (Ground Truth's Cognito `sub`; here the account name, which `truthset user` finds)."""
    return {
        "identityData": {
            "identityProviderType": "truthset",
            "issuer": "truthset",
            "sub": user_name,
        }
    }


def worker_response_path(iteration: int, object_id: int, finished_at: float) -> str:
    return (
        f"annotations/worker-response/iteration-{iteration}/{object_id}/"
        f"{file_time(finished_at)}.json"
    )


def consolidation_path(kind: str, iteration: int, at: float) -> str:
    """`kind`: "request" or "response"."""
    return (
        f"annotations/consolidated-annotation/consolidation-{kind}/iteration-{iteration}/"
        f"{file_time(at)}.json"
    )


def intermediate_manifest_path(n: int) -> str:
    return f"manifests/intermediate/{n}/output.manifest"


def mask_path(object_id: int, created_at: float) -> str:
    """A label's mask: Ground Truth names it by the object and the label's creation date
    (`0_2020-04-21T13:48:00.091190.png`), so each job's and each label's file is its own."""
    return f"{MASKS}{object_id}_{creation_date(created_at)}.png"


def label_file_path(object_id: int, created_at: float, name: str | None = None) -> str:
    """Where a label's file goes: a task type's `label_file_name` in the object's folder
    (`0/SeqLabel.json`, as Ground Truth writes video and point-cloud labels: a newer label
    of the same object replaces it), else a mask named by object and creation date."""
    if name is None:
        return mask_path(object_id, created_at)
    return f"{MASKS}{object_id}/{name}"


def data_object(item: dict[str, Any]) -> dict[str, Any]:
    """The consolidation request's `dataObject`: an S3 URI (a path here) or inline text."""
    if "source-ref" in item:
        return {"s3Uri": item["source-ref"]}
    return {"content": item.get("source")}


class OutputWriteError(AppError):
    """The output folder could not be written (a missing bucket, no permission): the run
    fails with this message and is tried again later."""

    kind = "output_write_failed"


class OutputLocation:
    """The folder a job's output goes to, `<path>/` (local or `s3://bucket/prefix/`); paths
    below it are relative (`<job>/manifests/...`)."""

    # Small files (a worker response, a mask) in flight to S3 at once: one request each,
    # ~30 ms apiece, so they go out in parallel.
    PARALLEL_PUTS = 16

    def __init__(self, path: str, *, endpoint_url: str | None = None):
        self.path = path.rstrip("/")
        self.is_s3 = path.startswith("s3://")
        self.endpoint_url = endpoint_url
        self._listed: dict[str, set[str]] = {}
        self._client: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[None]] = []
        self._made_dirs: set[str] = set()

    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client(self.endpoint_url)
        return self._client

    def uri(self, rel: str) -> str:
        return f"{self.path}/{rel}"

    def check_reachable(self) -> None:
        """Fail early, with the reason, when the bucket is missing or refuses us (some S3
        servers would create a missing bucket on the first write; Ground Truth never
        creates its output bucket either)."""
        if not self.is_s3:
            return
        bucket = parse_s3_uri(self.path + "/").bucket
        try:
            self.client().head_bucket(Bucket=bucket)
        except Exception as exc:
            status = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code"))
            reason = {
                "404": f"the bucket {bucket!r} does not exist",
                "NoSuchBucket": f"the bucket {bucket!r} does not exist",
                "403": f"access denied to the bucket {bucket!r}",
            }.get(status) or describe_error(exc)
            raise OutputWriteError(f"cannot write {self.path}/: {reason}") from exc

    def write(self, rel: str, chunks: Iterable[bytes]) -> str:
        dest = self.uri(rel)
        try:
            write_bytes(dest, _marked(chunks), endpoint_url=self.endpoint_url)
        except _FromContent as marked:
            raise marked.error from None  # the content's own failure, not the storage's
        except AppError:
            raise
        except Exception as exc:  # boto's, the file system's
            raise OutputWriteError(f"cannot write {dest}: {describe_error(exc)}") from exc
        self._known(rel)
        return dest

    def put(self, rel: str, data: bytes) -> str:
        """A small file, whole: on S3 one PUT, sent in parallel with the others (`flush`
        waits for them and raises the first failure); locally written at once, without the
        fsync a manifest gets (a run that stops half-way is done again from the start)."""
        dest = self.uri(rel)
        self._known(rel)
        if not self.is_s3:
            try:
                folder = os.path.dirname(dest)
                if folder not in self._made_dirs:
                    os.makedirs(folder, exist_ok=True)
                    self._made_dirs.add(folder)
                tmp = f"{dest}.partial"
                with open(tmp, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, dest)
            except OSError as exc:
                raise OutputWriteError(f"cannot write {dest}: {describe_error(exc)}") from exc
            return dest
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.PARALLEL_PUTS, thread_name_prefix="gt-output")
        if len(self._pending) >= 4 * self.PARALLEL_PUTS:
            self._wait(self._pending[: self.PARALLEL_PUTS])
            del self._pending[: self.PARALLEL_PUTS]
        loc = parse_s3_uri(dest)
        self._pending.append(self._pool.submit(self._put_s3, loc.bucket, loc.key, data, dest))
        return dest

    def _put_s3(self, bucket: str, key: str, data: bytes, dest: str) -> None:
        try:
            self.client().put_object(Bucket=bucket, Key=key, Body=data)
        except Exception as exc:
            raise OutputWriteError(f"cannot write {dest}: {describe_error(exc)}") from exc

    @staticmethod
    def _wait(futures: list[Future[None]]) -> None:
        for future in futures:
            future.result()

    def flush(self) -> None:
        """Wait for the small files in flight; the first failure is raised."""
        pending, self._pending = self._pending, []
        self._wait(pending)

    def close(self) -> None:
        """Stop the senders (after a failure, those still queued are dropped)."""
        self._pending = []
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _known(self, rel: str) -> None:
        for prefix, names in self._listed.items():
            if rel.startswith(prefix):
                names.add(rel)

    def exists(self, rel: str) -> bool:
        """Whether `rel` was written already; on S3 one listing of its folder answers for
        every file in it (one request per thousand files, not one per file)."""
        if not self.is_s3:
            return os.path.exists(self.uri(rel))
        prefix = rel.rsplit("/", 1)[0] + "/"
        if prefix not in self._listed:
            self._listed[prefix] = self._list(prefix)
        return rel in self._listed[prefix]

    def _list(self, prefix: str) -> set[str]:
        loc = parse_s3_uri(self.uri(prefix))
        base = parse_s3_uri(self.path + "/").key
        names: set[str] = set()
        try:
            pages = self.client().get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=loc.bucket, Prefix=loc.key):
                for obj in page.get("Contents", []):
                    names.add(obj["Key"][len(base) :])
        except Exception as exc:
            where = self.uri(prefix)
            raise OutputWriteError(f"cannot list {where}: {describe_error(exc)}") from exc
        return names


class _FromContent(Exception):
    def __init__(self, error: BaseException):
        self.error = error


def _marked(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks, with an error raised while making them (a query, a label) told apart
    from one of the storage they are written to."""
    try:
        yield from chunks
    except Exception as exc:
        raise _FromContent(exc) from exc


def describe_error(exc: BaseException) -> str:
    """What went wrong in words a requester can act on."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = str(error.get("Code") or "")
        if code == "NoSuchBucket":
            bucket = error.get("BucketName")
            return f"the bucket {bucket!r} does not exist" if bucket else "no such bucket"
        if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return f"access denied ({code}: {error.get('Message') or 'no permission'})"
        return f"{code or type(exc).__name__}: {error.get('Message') or exc}"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return f"{type(exc).__name__}: {exc}"
