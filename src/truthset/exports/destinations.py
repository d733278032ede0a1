"""Where an export may be written.

The server writes an export, so a destination an API caller names must lie inside what
the operator opened to it: the workspace's exports folder or a configured allowed root
(`TRUTHSET_ALLOWED_ROOTS`, local folders and buckets), and never the rest of the data
directory (its database, uploads, models). Whoever names it, an export never goes inside
the media root: written there it would overwrite an item's file, or be imported back as
one. An S3 destination's bucket must exist (a clear 400 now, not a failed run later).
"""

from __future__ import annotations

import os
from pathlib import Path

from truthset.config import Settings
from truthset.errors import BadInput, Unavailable
from truthset.media.storage import AllowedRoots, parse_s3_uri, s3_client, s3_error_reason

FIELD = "out"


def check_export_destination(out: str, settings: Settings, *, from_api: bool) -> str:
    """The destination to write, or BadInput naming `out` and why. `from_api`: also
    inside the allowed roots (the command line's operator may write anywhere else)."""
    if not out.strip() or "\x00" in out:
        raise BadInput(f"{FIELD} {out!r}: give a file path or an s3://bucket/key URI")
    if out.startswith("s3://"):
        return _check_s3(out, settings, from_api=from_api)
    if "://" in out:
        raise BadInput(f"{FIELD} {out!r}: only s3:// URIs and local paths are supported")
    if ".." in Path(out).parts:
        raise BadInput(f"{FIELD} {out!r} must not contain '..'")
    real = Path(os.path.realpath(out))
    data = Path(os.path.realpath(settings.data_dir))
    exports = Path(os.path.realpath(settings.exports_dir))
    in_exports = real == exports or exports in real.parents
    media = Path(os.path.realpath(settings.media_dir))
    in_media = real == media or media in real.parents
    # The operator may write beside the database; an API caller only into the exports.
    if in_media or (from_api and (real == data or data in real.parents) and not in_exports):
        where = "media root" if in_media else "data directory"
        raise BadInput(
            f"{FIELD} {out!r} is inside the workspace's {where} ({data}: its media, database "
            f"and models); write into {exports} or a folder outside it"
        )
    if from_api and not in_exports and not AllowedRoots(settings.allowed_roots).allows(str(real)):
        raise BadInput(f"{FIELD} {out!r} is outside the server's allowed roots and exports folder")
    if real.is_dir() or real == exports:
        raise BadInput(f"{FIELD} {out!r} is a folder; name the file to write")
    return out


def _check_s3(out: str, settings: Settings, *, from_api: bool) -> str:
    loc = parse_s3_uri(out)  # a bad bucket name, '.' or '..' segments: BadInput
    if not loc.key or loc.key.endswith("/"):
        raise BadInput(f"{FIELD} {out!r}: name the object to write (s3://bucket/key)")
    if from_api and not AllowedRoots(settings.allowed_roots).allows(out):
        raise BadInput(f"{FIELD} {out!r} is outside the server's allowed roots and buckets")
    try:
        s3_client(settings.s3_endpoint_url).head_bucket(Bucket=loc.bucket)
    except Exception as exc:
        from botocore import exceptions as boto

        if isinstance(exc, boto.ConnectionError | boto.HTTPClientError):
            # An outage, not a bad destination: 503, and a run that meets it is retried.
            raise Unavailable(f"{FIELD} {out!r}: S3 cannot be reached now ({exc})") from exc
        reason = s3_error_reason(exc)
        if reason is None:
            raise
        if reason == "it does not exist":  # head_bucket's 404 carries no code of its own
            reason = f"the bucket {loc.bucket!r} does not exist"
        raise BadInput(f"{FIELD} {out!r} cannot be written ({reason})") from None
    return out
