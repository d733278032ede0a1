"""Files the server makes to hand out later (an export run's file when no destination was
given, a job's trained model), kept where every host can read them.

On one host they stay in the data directory. In a cluster (docs/deployment.md) a run
worker on one host makes them and an app process on another serves them, and nothing is
shared but PostgreSQL and S3: ``TRUTHSET_FILES_PREFIX`` (an ``s3://bucket/prefix`` inside
the allowed roots) is then where they go. Exports are written there directly; a model is
saved in the data directory (its cache) and copied there, and a host that lacks it
fetches it on first use.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from truthset.config import Settings
from truthset.errors import BadInput, Unavailable
from truthset.media.storage import AllowedRoots, parse_s3_uri, s3_error_reason, shared_s3_client

ENV = "TRUTHSET_FILES_PREFIX"


def files_prefix(settings: Settings) -> str | None:
    """The configured S3 prefix without its trailing slash, or None (the data directory).
    BadInput when it is not an s3:// prefix inside the allowed roots."""
    prefix = settings.files_prefix
    if not prefix:
        return None
    if not prefix.startswith("s3://"):
        raise BadInput(f"{ENV} {prefix!r} must be an s3://bucket/prefix")
    parse_s3_uri(prefix)
    if not AllowedRoots(settings.allowed_roots).allows(prefix.rstrip("/") + "/x"):
        raise BadInput(
            f"{ENV} {prefix!r} must be inside the server's allowed roots (TRUTHSET_ALLOWED_ROOTS)"
        )
    return prefix.rstrip("/")


def export_location(settings: Settings, name: str) -> str:
    """Where an export run without a destination writes its file `name`."""
    prefix = files_prefix(settings)
    if prefix is None:
        return str(settings.exports_dir / name)
    return f"{prefix}/exports/{name}"


def is_server_file(settings: Settings, ref: str) -> bool:
    """Whether an s3:// reference is one of the server's own files (under the prefix)."""
    prefix = files_prefix(settings)
    return prefix is not None and ref.startswith(prefix + "/")


def publish_model(settings: Settings, local: Path) -> str | None:
    """Copy a model file just saved in the data directory to the shared prefix (its
    models/ folder, under the same name); the URI, or None on one host."""
    prefix = files_prefix(settings)
    if prefix is None:
        return None
    uri = f"{prefix}/models/{local.name}"
    loc = parse_s3_uri(uri)
    shared_s3_client(settings.s3_endpoint_url).upload_file(str(local), loc.bucket, loc.key)
    return uri


def fetch_model(settings: Settings, local: Path) -> bool:
    """Make sure the model file is in this host's data directory: there already, or
    fetched from the shared prefix (written under a temporary name, then renamed, so a
    reader never sees half a file). False when neither has it."""
    if local.exists():
        return True
    prefix = files_prefix(settings)
    if prefix is None:
        return False
    loc = parse_s3_uri(f"{prefix}/models/{local.name}")
    client = shared_s3_client(settings.s3_endpoint_url)
    local.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=local.parent, prefix=f".{local.name}.")
    os.close(fd)
    try:
        client.download_file(loc.bucket, loc.key, tmp)
    except Exception as exc:  # noqa: BLE001 - a missing object is "not trained yet"
        os.unlink(tmp)
        reason = s3_error_reason(exc)
        if reason == "it does not exist":
            return False
        raise Unavailable(
            f"the model file {local.name} cannot be read from {prefix} now ({reason or exc})"
        ) from None
    os.replace(tmp, local)
    return True
