"""A finished Ground Truth job's output folder, read where it lies: a local folder or an
`s3://bucket/prefix/<job>/` prefix (its developer guide, "Output Data"):

    <job>/manifests/output/output.manifest
    <job>/annotations/worker-response/iteration-<n>/<datasetObjectId>/<time>.json

Every file read is inside the folder and the folder inside the allowed roots: S3 keys
with `..` are refused, local paths are resolved (symlinks too) before the check. A
missing or unreadable file is an error naming it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from truthset.errors import BadInput
from truthset.exports.layout import OUTPUT_MANIFEST, describe_error
from truthset.media.storage import AllowedRoots, local_path_of, parse_s3_uri, s3_client

WORKER_RESPONSES = "annotations/worker-response/"
# iteration-<n>/<datasetObjectId>/<file>.json, below WORKER_RESPONSES.
_RESPONSE_PATH = re.compile(r"^iteration-(\d+)/(\d+)/[^/]+\.json$")
# A worker-response file holds one object's answers: a few KB (a mask answer a few MB).
MAX_RESPONSE_BYTES = 64 << 20
# S3 GETs of worker-response files in flight at once (one small object each).
S3_READERS = 8


@dataclass(frozen=True)
class ResponseFile:
    """One worker-response file: where it is (relative to the job folder), the iteration
    and the dataset object (the output manifest's line, from 0) it answers."""

    rel: str
    iteration: int
    object_id: int


class JobFolder:
    """The job folder `path` (local or s3://), checked against `roots`."""

    def __init__(self, path: str, roots: AllowedRoots, *, endpoint_url: str | None = None):
        if not isinstance(path, str) or not path.strip():
            raise BadInput(
                "give the Ground Truth job folder: a local folder or s3://bucket/prefix/"
            )
        self.is_s3 = path.startswith("s3://")
        self.endpoint_url = endpoint_url
        self.roots = roots
        self._client: Any = None
        if self.is_s3:
            loc = parse_s3_uri(path.rstrip("/") + "/")
            self.bucket = loc.bucket
            self.prefix = loc.key  # ends with "/" (or is empty: a whole bucket)
            self.path = f"s3://{loc.bucket}/{loc.key}".rstrip("/")
        else:
            local = local_path_of(path)
            assert local is not None
            self.path = os.path.realpath(local)
            if not os.path.isdir(self.path):
                raise BadInput(f"Ground Truth job folder {path!r} is not a folder")
        if not roots.allows(self.path):
            raise BadInput(f"{self.path} is outside the allowed roots and buckets")

    def _s3(self) -> Any:
        """One client for the folder's reads (making one costs more than a small GET;
        botocore's clients may be shared between threads)."""
        if self._client is None:
            self._client = s3_client(self.endpoint_url)
        return self._client

    @property
    def name(self) -> str:
        """The job's name: Ground Truth names the folder after the job."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def uri(self, rel: str) -> str:
        return f"{self.path}/{rel}"

    def _checked(self, rel: str) -> str:
        where = self.uri(rel)
        if ".." in rel.split("/") or not self.roots.allows(where):
            raise BadInput(f"{where} is outside the allowed roots and buckets")
        if not self.is_s3:
            real = os.path.realpath(where)
            if not (real == self.path or real.startswith(self.path + os.sep)):
                raise BadInput(f"{where} leads outside the job folder {self.path}")
            return real
        return where

    # -- the output manifest ----------------------------------------------------------------

    def manifest_copy(self) -> tuple[str, IO[bytes] | None]:
        """The output manifest as a local file: (its path, the temporary file to close
        after the import, or None for a local manifest read in place). A job folder
        without one is refused, naming the file."""
        where = self.uri(OUTPUT_MANIFEST)
        if not self.is_s3:
            real = self._checked(OUTPUT_MANIFEST)
            if not os.path.isfile(real):
                raise BadInput(
                    f"no output manifest: {where} does not exist (a Ground Truth job folder "
                    f"holds {OUTPUT_MANIFEST})"
                )
            return real, None
        self._checked(OUTPUT_MANIFEST)
        spool = tempfile.NamedTemporaryFile(suffix=".manifest")  # noqa: SIM115 - closed by caller
        try:
            body = self._s3().get_object(Bucket=self.bucket, Key=self.prefix + OUTPUT_MANIFEST)[
                "Body"
            ]
            shutil.copyfileobj(body, spool, 1 << 20)
            spool.flush()
        except Exception as exc:
            spool.close()
            code = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code"))
            if code in ("NoSuchKey", "404"):
                raise BadInput(
                    f"no output manifest: {where} does not exist (a Ground Truth job folder "
                    f"holds {OUTPUT_MANIFEST})"
                ) from None
            raise BadInput(f"cannot read {where}: {describe_error(exc)}") from None
        return spool.name, spool

    # -- worker responses -----------------------------------------------------------------

    def response_files(self) -> list[ResponseFile]:
        """Every worker-response file, by iteration, object and name. A file under
        worker-response/ that is not `iteration-<n>/<object>/<name>.json` is refused."""
        found = []
        for rel in self._list(WORKER_RESPONSES):
            below = rel[len(WORKER_RESPONSES) :]
            match = _RESPONSE_PATH.match(below)
            if match is None:
                raise BadInput(
                    f"{self.uri(rel)}: not a worker-response file "
                    "(worker-response/iteration-<n>/<datasetObjectId>/<file>.json)"
                )
            found.append(ResponseFile(rel, int(match[1]), int(match[2])))
        found.sort(key=lambda f: (f.iteration, f.object_id, f.rel))
        return found

    def _list(self, rel_prefix: str) -> list[str]:
        if self.is_s3:
            names = []
            key_prefix = self.prefix + rel_prefix
            try:
                pages = self._s3().get_paginator("list_objects_v2")
                for page in pages.paginate(Bucket=self.bucket, Prefix=key_prefix):
                    for obj in page.get("Contents", []):
                        rel = obj["Key"][len(self.prefix) :]
                        if not rel.endswith("/"):  # a folder marker some tools write
                            names.append(rel)
            except Exception as exc:
                where = self.uri(rel_prefix)
                raise BadInput(f"cannot list {where}: {describe_error(exc)}") from None
            return names
        top = Path(self._checked(rel_prefix.rstrip("/")))
        if not top.is_dir():
            return []
        names = []
        # The walk follows no symlinked folder, so every file it meets lies in the job
        # folder; a symlinked file is resolved and checked (roots, folder) here.
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in filenames:
                if name.startswith("."):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, self.path).replace(os.sep, "/")
                if os.path.islink(full):
                    self._checked(rel)
                names.append(rel)
        return names

    def read(self, rel: str) -> bytes:
        """A file of the folder; one that cannot be read is an error naming it."""
        where = self._checked(rel)
        try:
            if self.is_s3:
                body = self._s3().get_object(Bucket=self.bucket, Key=self.prefix + rel)["Body"]
                data: bytes = body.read(MAX_RESPONSE_BYTES + 1)
            else:
                with open(where, "rb") as fh:
                    data = fh.read(MAX_RESPONSE_BYTES + 1)
        except Exception as exc:
            raise BadInput(f"cannot read {self.uri(rel)}: {describe_error(exc)}") from None
        if len(data) > MAX_RESPONSE_BYTES:
            raise BadInput(f"{self.uri(rel)} is larger than 64 MB")
        return data

    def read_all(self, files: list[ResponseFile]) -> Iterator[tuple[ResponseFile, bytes]]:
        """The files' bytes in their order; S3 objects are fetched several at a time
        (one GET each is the cost of a big job's import), a window ahead of the reader."""
        if not self.is_s3:
            for f in files:
                path = os.path.join(self.path, f.rel)
                if os.path.islink(path):  # resolved and checked once more
                    yield f, self.read(f.rel)
                    continue
                try:
                    with open(path, "rb") as fh:
                        data = fh.read(MAX_RESPONSE_BYTES + 1)
                except OSError as exc:
                    raise BadInput(
                        f"cannot read {self.uri(f.rel)}: {describe_error(exc)}"
                    ) from None
                if len(data) > MAX_RESPONSE_BYTES:
                    raise BadInput(f"{self.uri(f.rel)} is larger than 64 MB")
                yield f, data
            return
        self._s3()  # made here, not by racing threads
        with ThreadPoolExecutor(S3_READERS) as pool:
            window: list[Any] = []
            it = iter(files)
            for f in it:
                window.append((f, pool.submit(self.read, f.rel)))
                if len(window) >= 4 * S3_READERS:
                    head, fut = window.pop(0)
                    yield head, fut.result()
            for head, fut in window:
                yield head, fut.result()
