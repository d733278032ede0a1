"""A job's `output` settings: where its results go in Ground Truth's output layout
(`{"output": {"path": "s3://bucket/prefix/" | "/local/dir", "interval": 600}}`, set by
`CreateLabelingJob`'s `S3OutputPath`), checked as a job settings section.

The path must be an `s3://` URI or an absolute local folder inside the workspace's allowed
roots, never inside its data directory (the media root, the database, the exports), and
must not name `..`: output is written by the server, so nothing outside what the operator
opened to it may be reached through a job's settings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from truthset.config import Settings
from truthset.errors import BadInput
from truthset.jobs.settings import SettingsSection
from truthset.media.storage import AllowedRoots
from truthset.workspace import settings_of_session

# Seconds between intermediate manifests while a job runs (Ground Truth writes them
# "periodically"); at least MIN_INTERVAL.
DEFAULT_INTERVAL = 600.0
MIN_INTERVAL = 1.0
MAX_INTERVAL = 7 * 86400.0
KEYS = ("path", "interval")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def output_settings(settings: dict[str, Any]) -> dict[str, Any] | None:
    """The job's output settings with defaults, or None when it has no output path."""
    raw = settings.get("output") if isinstance(settings, dict) else None
    if not isinstance(raw, dict) or not raw.get("path"):
        return None
    return {"interval": DEFAULT_INTERVAL, **raw}


def check_output_path(path: Any, settings: Settings) -> None:
    """Refuse an output path the workspace may not write (BadInput naming the value)."""
    field = "settings.output.path"
    if not isinstance(path, str) or not path.strip():
        raise BadInput(f"{field} must be an s3:// URI or an absolute local folder, got {path!r}")
    if "\\" in path or "\x00" in path:
        raise BadInput(f"{field} {path!r}: backslashes and NUL characters are not allowed")
    if ".." in path.split("/"):
        raise BadInput(f"{field} {path!r} must not contain '..'")
    roots = AllowedRoots(settings.allowed_roots)
    if path.startswith("s3://"):
        bucket = path[5:].split("/", 1)[0]
        if not _BUCKET.match(bucket):
            raise BadInput(f"{field} {path!r}: {bucket!r} is not an S3 bucket name")
        if not roots.allows(path.rstrip("/")):
            raise BadInput(
                f"{field} {path!r} is outside the server's allowed roots and buckets"
                f" ({_roots_text(settings)})"
            )
        return
    if "://" in path:
        raise BadInput(f"{field} {path!r}: only s3:// URIs and local folders are supported")
    if not os.path.isabs(path):
        raise BadInput(f"{field} {path!r} is a relative path; give an absolute folder")
    real = Path(os.path.realpath(path))
    data = Path(os.path.realpath(settings.data_dir))
    if real == data or data in real.parents:
        raise BadInput(
            f"{field} {path!r} is inside the workspace's data directory ({data}: its media,"
            " database and exports); choose a folder outside it"
        )
    if not roots.allows(path):
        raise BadInput(
            f"{field} {path!r} is outside the server's allowed roots ({_roots_text(settings)})"
        )
    if real.exists() and not real.is_dir():
        raise BadInput(f"{field} {path!r} is a file, not a folder")


def _roots_text(settings: Settings) -> str:
    return ", ".join(settings.allowed_roots) or "none are configured: see --allowed-root"


def check_output(session: Session, task_type: str, settings: dict[str, Any]) -> None:
    raw = settings.get("output")
    if raw is None:
        return
    if not isinstance(raw, dict):
        raise BadInput('settings.output must be an object {"path": ..., "interval": seconds}')
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise BadInput(
            f"settings.output: unknown keys {', '.join(unknown)} (known: {', '.join(KEYS)})"
        )
    interval = raw.get("interval", DEFAULT_INTERVAL)
    if (
        isinstance(interval, bool)
        or not isinstance(interval, int | float)
        or not MIN_INTERVAL <= interval <= MAX_INTERVAL
    ):
        raise BadInput(
            f"settings.output.interval must be a number of seconds from {MIN_INTERVAL:g} to"
            f" {MAX_INTERVAL:g}, got {interval!r}"
        )
    workspace = settings_of_session(session)
    if workspace is None:
        raise BadInput("settings.output.path cannot be checked: no workspace holds this database")
    check_output_path(raw.get("path"), workspace)


OUTPUT_SECTION = SettingsSection(
    key="output",
    description="where the job's results go, in Ground Truth's output layout",
    check=check_output,
)
