"""Predict next: ``POST /api/items/{id}/track`` follows a box into the next frames.

The video tool calls it with the box a worker drew on a frame; the answer is where
``learning.tracking`` finds it on up to ``count`` following frames, each with its score,
fewer when the target is lost or the sequence ends. The tool turns them into keyframes
it may still change (it never overwrites one the worker drew). Access is the media
route's (``media.video_router.sequence_of_item``); frames are read one by one as the
tracker asks for them, so a lost target stops the reading too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from truthset.api.deps import CurrentUser, ReadSession, get_workspace
from truthset.errors import BadInput
from truthset.learning.tracking import track_box
from truthset.media import sequences
from truthset.media.info import UnreadableMedia, image_size
from truthset.media.video_router import sequence_of_item

router = APIRouter(tags=["media"])

MAX_COUNT = 100


class TrackBox(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left: float
    top: float
    width: float = Field(gt=0)
    height: float = Field(gt=0)

    @field_validator("left", "top", "width", "height")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class TrackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frame: int = Field(ge=0, description="the 0-based frame the box is drawn on")
    box: TrackBox
    count: int = Field(default=10, ge=1, le=MAX_COUNT, description="frames to follow it into")


@router.post("/items/{item_id}/track")
def track_item_box(
    item_id: int, body: TrackRequest, request: Request, user: CurrentUser, session: ReadSession
) -> dict[str, Any]:
    """``{"boxes": [{"frame", "left", "top", "width", "height", "score"}]}`` for the frames
    after ``frame``, in order; stops early when the target is lost."""
    seq = sequence_of_item(item_id, request, user, session)
    endpoint = get_workspace(request).settings.s3_endpoint_url
    if body.frame >= seq.number_of_frames:
        raise BadInput(
            f"frame: {body.frame} is not a frame of item {item_id}"
            f" (0 to {seq.number_of_frames - 1})"
        )
    box = body.box
    size: tuple[int, int] | None
    try:
        size = image_size(seq.frames[body.frame].ref, endpoint_url=endpoint)
    except UnreadableMedia:
        size = None
    if size is not None and (
        box.left < -1
        or box.top < -1
        or box.left + box.width > size[0] + 1
        or box.top + box.height > size[1] + 1
    ):
        raise BadInput(f"box: {box.model_dump()} is outside the {size[0]}x{size[1]} frame")
    last = min(seq.number_of_frames - 1, body.frame + body.count)

    def frames() -> Iterator[np.ndarray]:
        for index in range(body.frame, last + 1):
            yield sequences.read_frame_rgb(seq, index, endpoint_url=endpoint)

    try:
        found = track_box(
            frames(),
            (box.left, box.top, box.width, box.height),
            start=body.frame,
            count=body.count,
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return {
        "boxes": [
            {
                "frame": b.frame,
                "left": round(b.left, 2),
                "top": round(b.top, 2),
                "width": round(b.width, 2),
                "height": round(b.height, 2),
                "score": b.score,
            }
            for b in found
        ]
    }
