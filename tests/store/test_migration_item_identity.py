"""Migration 0004: items' dedupe key becomes the object's identity, on existing data."""

from __future__ import annotations

from hashlib import blake2b
from pathlib import Path

import orjson
from alembic import command
from sqlalchemy import text

from truthset.datasets.checking import item_identity
from truthset.store import migrate
from truthset.store.db import Database


def _old_hash(obj: dict) -> str:
    return blake2b(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


def test_existing_items_are_rehashed_and_colliding_ones_kept_apart(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        migrate.upgrade(db, "0003")
        lines = [
            ({"source": "one", "id": "a"}, "a"),
            ({"source-ref": "s3://b/x.jpg"}, None),
            # The same object as the line before, with another key: two items under the
            # old rule, and they stay two.
            ({"source-ref": "s3://b/x.jpg", "note": 1}, None),
        ]
        with db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO datasets (id, name, created_at, version) VALUES (1, 'd', 0, 1)")
            )
            for n, (obj, ident) in enumerate(lines):
                digest = _old_hash(obj)
                conn.execute(
                    text(
                        "INSERT INTO items (dataset_id, external_id, content_hash, position, data) "
                        "VALUES (1, :e, :h, :p, :d)"
                    ),
                    {
                        "e": ident or digest[:16],
                        "h": digest,
                        "p": n,
                        "d": orjson.dumps(obj).decode(),
                    },
                )
        migrate.upgrade(db)
        with db.engine.connect() as conn:
            hashes = (
                conn.execute(text("SELECT content_hash FROM items ORDER BY position"))
                .scalars()
                .all()
            )
        assert hashes[0] == item_identity(lines[0][0], "id")
        assert hashes[1] == item_identity(lines[1][0], "id")
        assert hashes[2] == _old_hash(lines[2][0])
        cfg = migrate.alembic_config()  # and back
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        with db.engine.connect() as conn:
            hashes = (
                conn.execute(text("SELECT content_hash FROM items ORDER BY position"))
                .scalars()
                .all()
            )
        assert hashes == [_old_hash(obj) for obj, _ in lines]
    finally:
        db.dispose()
