"""A workspace: settings plus an open, migrated database. Every entry point (server, CLI,
worker, tests) starts from one."""

from __future__ import annotations

from dataclasses import dataclass

from truthset.config import Settings
from truthset.media.storage import AllowedRoots
from truthset.store import migrate
from truthset.store.db import Database


@dataclass
class Workspace:
    settings: Settings
    db: Database

    @property
    def allowed_roots(self) -> list[str]:
        return [str(self.settings.media_dir), *self.settings.allowed_roots]

    def roots(self) -> AllowedRoots:
        return AllowedRoots(self.allowed_roots)

    def close(self) -> None:
        self.db.dispose()


def open_workspace(settings: Settings, *, pool_size: int = 20) -> Workspace:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url, pool_size=pool_size)
    migrate.upgrade(db)
    return Workspace(settings=settings, db=db)
