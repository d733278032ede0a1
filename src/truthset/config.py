"""Where truthset keeps its state: a data directory and a database URL."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = "./truthset-data"


class SettingsError(ValueError):
    """A setting from the environment that cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    # Object-storage locations that `source-ref` values may point into; local roots are
    # folders, S3 roots are `s3://bucket[/prefix]`. The media folder is always allowed.
    allowed_roots: tuple[str, ...] = field(default_factory=tuple)
    s3_endpoint_url: str | None = None
    embedded_runs: bool = True
    # Pre-/post-annotation hooks and webhooks (truthset.hooks): the hosts an HTTP hook may
    # call (`host` or `host:port`; `*.example.com` for its subdomains), the folders a
    # Python handler file may be loaded from, and the URL the server is reached at (the
    # consolidation payload's signed link when a job's output is not on S3).
    hook_hosts: tuple[str, ...] = field(default_factory=tuple)
    hook_handler_dirs: tuple[str, ...] = field(default_factory=tuple)
    public_url: str | None = None
    # How many live leases of one job a worker may hold when the job does not say
    # (TRUTHSET_MAX_LEASES_PER_WORKER; the job setting `max_leases_per_worker`).
    max_leases_per_worker: int = 1
    # Module prefixes a job's `auto_label.model = "python:module:Class"` may name
    # (TRUTHSET_MODEL_MODULES, comma-separated, e.g. "acme.models"); none by default, so a
    # job names only registered models unless the operator opens a package to them.
    model_modules: tuple[str, ...] = field(default_factory=tuple)
    # Where files uploaded from the browser are stored (TRUTHSET_UPLOAD_PREFIX): an
    # s3://bucket/prefix inside the allowed roots; unset, the media folder's uploads/.
    upload_prefix: str | None = None
    # Where the server keeps the files it makes to hand out later, readable from every
    # host (TRUTHSET_FILES_PREFIX, an s3://bucket/prefix inside the allowed roots): export
    # files without a destination, trained models (runs/files.py); unset, the data folder.
    files_prefix: str | None = None

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(
    data_dir: str | os.PathLike[str] | None = None,
    database_url: str | None = None,
    allowed_roots: list[str] | None = None,
) -> Settings:
    """Settings from arguments, then environment variables, then defaults."""
    data = Path(data_dir or os.environ.get("TRUTHSET_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    url = (
        database_url
        or os.environ.get("TRUTHSET_DATABASE_URL")
        or f"sqlite:///{data / 'truthset.db'}"
    )
    roots = list(allowed_roots or [])
    env_roots = os.environ.get("TRUTHSET_ALLOWED_ROOTS", "")
    roots += [r.strip() for r in env_roots.split(",") if r.strip()]
    return Settings(
        data_dir=data,
        database_url=url,
        allowed_roots=tuple(roots),
        s3_endpoint_url=os.environ.get("TRUTHSET_S3_ENDPOINT_URL")
        or os.environ.get("S3_ENDPOINT_URL"),
        embedded_runs=os.environ.get("TRUTHSET_EMBEDDED_RUNS", "1") != "0",
        hook_hosts=_env_list("TRUTHSET_HOOK_HOSTS"),
        hook_handler_dirs=_env_list("TRUTHSET_HOOK_HANDLER_DIRS"),
        public_url=os.environ.get("TRUTHSET_PUBLIC_URL") or None,
        max_leases_per_worker=_env_count("TRUTHSET_MAX_LEASES_PER_WORKER", 1),
        model_modules=_env_list("TRUTHSET_MODEL_MODULES"),
        upload_prefix=os.environ.get("TRUTHSET_UPLOAD_PREFIX", "").strip() or None,
        files_prefix=os.environ.get("TRUTHSET_FILES_PREFIX", "").strip() or None,
    )


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in os.environ.get(name, "").split(",") if v.strip())


def _env_count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, not {value!r}")
    return int(value)
