"""Migration 0020: answers and drafts of video object tracking jobs saved under the old
rule (a shape shown on its keyframes' span only) get an outside keyframe after each run,
so that the track rule shows what the worker saw; other jobs are untouched; on SQLite and
PostgreSQL."""

from __future__ import annotations

import importlib
import json
from typing import Any

from alembic import command
from sqlalchemy import text

from support import Setup
from truthset.geometry.tracks import visible_frames
from truthset.store import migrate
from truthset.store.models import Answer
from truthset.work import drafts
from truthset.work.leases import lease_next_task

T0 = 1_800_000_000.0
BOX = {"left": 1, "top": 2, "width": 3, "height": 4}
OLD_TRACKS = [
    # Blended over 0..8, then gone (10 frames).
    [{"frame": 0, "box": BOX}, {"frame": 4, "box": BOX}, {"frame": 8, "box": BOX}],
    # A shape, an outside three frames on (old: shown on frame 2 only).
    [{"frame": 2, "box": BOX}, {"frame": 5, "outside": True}],
    # On the sequence's last frame: nothing to close.
    [{"frame": 9, "box": BOX}],
]
OLD_VISIBLE = [list(range(9)), [2], [9]]
revision = importlib.import_module("truthset.store.migrations.versions.0020_video_tracks_outside")


def _answer(tracks: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "number-of-frames": 10,
        "tracks": [
            {"object-id": f"o{i}", "label": "car", "number": i + 1, "keyframes": kfs}
            for i, kfs in enumerate(tracks)
        ],
    }


def test_closed_runs_show_under_the_track_rule_what_the_old_rule_showed() -> None:
    for keyframes, seen in zip(OLD_TRACKS, OLD_VISIBLE, strict=True):
        closed = revision.closed_runs(keyframes, 10)
        assert visible_frames(closed, "box", interpolate=True, frames=10) == seen
        # Under the track rule, unchanged keyframes would be held on.
        assert revision.closed_runs(closed, 10) == closed  # a second pass changes nothing
    assert revision.closed_runs(OLD_TRACKS[1], 10) == [
        {"frame": 2, "box": BOX},
        {"frame": 3, "outside": True},
    ]
    # A draft (no frame count): the last shape is closed too; the tool drops what is past
    # the end.
    assert revision.closed_runs(OLD_TRACKS[2], None)[-1] == {"frame": 10, "outside": True}
    assert revision.closed_runs([{"frame": "x"}], 10) == [{"frame": "x"}]


def _stored(db: Any, sql: str) -> list[Any]:
    with db.engine.connect() as conn:
        rows = conn.execute(text(sql)).fetchall()
    return [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]


def test_old_answers_and_drafts_of_tracking_jobs_are_closed_others_untouched(any_ws: Any) -> None:
    db = any_ws.db
    setup = Setup(any_ws, n_items=2, n_workers=2)
    setup.job("tracking", workers_per_item=1)
    setup.job("other", workers_per_item=1)
    old = _answer(OLD_TRACKS)
    with db.session_scope() as s:
        for name in ("tracking", "other"):
            job, w0 = setup.load(s, name, "w00")
            _, w1 = setup.load(s, name, "w01")
            answered = lease_next_task(s, job, w1, now=T0)
            s.add(
                Answer(
                    assignment_id=answered.assignment_id,
                    task_id=answered.task_id,
                    job_id=job.id,
                    worker_id=w1.id,
                    content=old,
                    submitted_at=T0 + 1,
                    time_spent=1.0,
                )
            )
            drafted = lease_next_task(s, job, w0, now=T0)
            state = {"tracks": [{"id": 1, "keyframes": OLD_TRACKS[2]}], "frameAttrs": {}}
            drafts.save_draft(
                s, drafted.assignment_id, w0, {"version": 1, "state": state, "frame": 9}, now=T0
            )
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE jobs SET task_type = 'video-object-tracking' WHERE name = 'tracking'")
        )
    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0019")
    migrate.upgrade(db)
    assert migrate.current_revision(db) == migrate.head_revision()

    by_job = "SELECT {col} FROM {table} x JOIN jobs j ON j.id = {job} WHERE j.name = '{name}'"
    answers = {
        name: _stored(
            db, by_job.format(col="x.content", table="answers", job="x.job_id", name=name)
        )
        for name in ("tracking", "other")
    }
    assert answers["other"] == [old]
    (new,) = answers["tracking"]
    assert new["number-of-frames"] == 10
    for track, seen in zip(new["tracks"], OLD_VISIBLE, strict=True):
        assert visible_frames(track["keyframes"], "box", interpolate=True, frames=10) == seen
    draft_sql = (
        "SELECT d.content FROM assignment_drafts d JOIN assignments a ON a.id = d.assignment_id "
        "JOIN jobs j ON j.id = a.job_id WHERE j.name = '{name}'"
    )
    (other_draft,) = _stored(db, draft_sql.format(name="other"))
    assert other_draft["state"]["tracks"][0]["keyframes"] == OLD_TRACKS[2]
    (draft,) = _stored(db, draft_sql.format(name="tracking"))
    assert draft["state"]["tracks"][0]["keyframes"] == [
        {"frame": 9, "box": BOX},
        {"frame": 10, "outside": True},
    ]
    assert draft["frame"] == 9
