"""A workspace: settings plus an open, migrated database. Every entry point (server, CLI,
worker, tests) starts from one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

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


# The settings of each workspace opened in this process, by database URL: a check deep in
# a domain that gets only a session (a job's output path against the allowed roots, in a
# job settings section) finds them here.
_SETTINGS_BY_DATABASE: dict[str, Settings] = {}


def _database_key(url: object) -> str:
    render = getattr(url, "render_as_string", None)
    return str(render(hide_password=False) if render is not None else url)


def settings_of_session(session: Session) -> Settings | None:
    """The settings of the workspace whose database `session` is bound to, or None."""
    return _SETTINGS_BY_DATABASE.get(_database_key(session.get_bind().engine.url))


def open_workspace(settings: Settings, *, pool_size: int = 20) -> Workspace:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url, pool_size=pool_size)
    migrate.upgrade(db)
    _SETTINGS_BY_DATABASE[_database_key(db.engine.url)] = settings
    return Workspace(settings=settings, db=db)
