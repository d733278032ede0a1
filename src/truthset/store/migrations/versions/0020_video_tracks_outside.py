"""video tracks keep their meaning under the track rule: answers and drafts of video
object tracking jobs saved before it get an outside keyframe after each run

Until this revision, a tracked shape was shown on its keyframes' span only: after a shape
keyframe that the next keyframe does not blend into (an `outside` one, or none: the
track's last), the object was gone from the next frame. Under CVAT's track rule
(`truthset.geometry.tracks`), which the code now follows, such a shape is held until an
outside keyframe, and the last one to the sequence's end. So an answer saved before would
mean something else when consolidated again (a second worker's answer, a new
consolidation) and a draft would open with its tracks held on: each such keyframe gets an
`{"frame": f + 1, "outside": true}` after it, which says under the new rule what the
answer said under the old, and a later outside keyframe that then follows an outside one
(it says nothing more) goes. Detection jobs (keyframes only, either way) and point-cloud
tracks (nothing held) are left as they are. The stored labels are the SeqLabel documents,
already frame by frame: unchanged.

The rewrite is written out here, not imported: a revision must mean the same whatever the
code becomes.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 07:30:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TASK_TYPE = "video-object-tracking"
SHAPES = ("box", "polygon", "polyline", "keypoint")
# The tool's draft layout this rewrite knows (tools/video.js DRAFT_VERSION).
DRAFT_VERSION = 1
_JOBS = "SELECT id FROM jobs WHERE task_type = :t"


def _has_shape(keyframe: Mapping[str, Any]) -> bool:
    return any(keyframe.get(s) is not None for s in SHAPES)


def closed_runs(keyframes: list[Any], frames: int | None) -> list[Any]:
    """The keyframes with an outside keyframe after each shape keyframe that the old rule
    showed on its own frame only (`frames`: the sequence's frame count, None where not
    known: a draft, whose answer drops keyframes past the end)."""
    kfs = [k for k in keyframes if isinstance(k, Mapping) and isinstance(k.get("frame"), int)]
    if len(kfs) != len(keyframes):
        return keyframes  # not a list this rewrite understands: left as it was
    out: list[Any] = []
    for i, kf in enumerate(kfs):
        if kf.get("outside") and out and out[-1].get("outside"):
            continue  # an outside after an outside says nothing more
        out.append(kf)
        if not _has_shape(kf) or kf.get("outside"):
            continue
        nxt = kfs[i + 1] if i + 1 < len(kfs) else None
        if nxt is not None and _has_shape(nxt) and not nxt.get("outside"):
            continue  # blended into the next shape: the same under both rules
        end = int(kf["frame"]) + 1
        if nxt is not None and int(nxt["frame"]) == end:
            continue  # the next keyframe (an outside) is the frame after: already closed
        if frames is not None and end >= frames:
            continue  # the sequence's last frame: nothing after it to close
        out.append({"frame": end, "outside": True})
    return out


def _close_tracks(tracks: Any, frames: int | None) -> bool:
    changed = False
    if not isinstance(tracks, list):
        return False
    for track in tracks:
        if isinstance(track, dict) and isinstance(track.get("keyframes"), list):
            closed = closed_runs(track["keyframes"], frames)
            if closed != track["keyframes"]:
                track["keyframes"] = closed
                changed = True
    return changed


def rewrite_answer(content: Any) -> Any | None:
    """The answer under the track rule, or None when it needs no change."""
    if not isinstance(content, dict):
        return None
    frames = content.get("number-of-frames")
    frames = frames if isinstance(frames, int) and not isinstance(frames, bool) else None
    return content if _close_tracks(content.get("tracks"), frames) else None


def rewrite_draft(content: Any) -> Any | None:
    """The tool's draft `{"version", "state": {"tracks", ...}, "frame"}` under the track
    rule, or None when it needs no change."""
    if not isinstance(content, dict) or content.get("version") != DRAFT_VERSION:
        return None
    state = content.get("state")
    if not isinstance(state, dict):
        return None
    return content if _close_tracks(state.get("tracks"), None) else None


def _as_json(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def upgrade() -> None:
    bind = op.get_bind()
    jobs = [r[0] for r in bind.execute(sa.text(_JOBS), {"t": TASK_TYPE})]
    if not jobs:
        return
    set_answer = sa.text("UPDATE answers SET content = :c WHERE id = :id").bindparams(
        sa.bindparam("c", type_=sa.JSON())
    )
    set_draft = sa.text("UPDATE assignment_drafts SET content = :c WHERE assignment_id = :id")
    for job in jobs:
        answers = bind.execute(
            sa.text("SELECT id, content FROM answers WHERE job_id = :j"), {"j": job}
        )
        for answer_id, content in answers.fetchall():
            new = rewrite_answer(_as_json(content))
            if new is not None:
                bind.execute(set_answer, {"c": new, "id": answer_id})
        drafts = bind.execute(
            sa.text(
                "SELECT d.assignment_id, d.content FROM assignment_drafts d "
                "JOIN assignments a ON a.id = d.assignment_id "
                "JOIN tasks t ON t.id = a.task_id WHERE t.job_id = :j"
            ),
            {"j": job},
        )
        for assignment_id, content in drafts.fetchall():
            new = rewrite_draft(_as_json(content))
            if new is not None:
                bind.execute(set_draft, {"c": json.dumps(new), "id": assignment_id})


def downgrade() -> None:
    # The added outside keyframes say under the track rule what the old rule showed, and
    # the old rule reads them the same way (it showed nothing after an outside): kept.
    pass
