"""Assisted segmentation routes (HTTP only; the rules are in assist.py).

POST /items/{id}/assist/extreme-points: four extreme points (+ clicks) -> a GrabCut mask.
POST /items/{id}/assist/grow: a click -> the region of similar colour around it.
Who may call: whoever may fetch the item's media (a worker only for an item they were
assigned a task of).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from truthset.api.deps import CurrentUser, ReadSession, get_workspace
from truthset.media import assist
from truthset.media.assist_schemas import ExtremePointsRequest, GrowRequest, MaskAnswer

router = APIRouter(tags=["media"])


@router.post("/items/{item_id}/assist/extreme-points")
def extreme_points(
    item_id: int,
    body: ExtremePointsRequest,
    request: Request,
    user: CurrentUser,
    session: ReadSession,
) -> MaskAnswer:
    """The object's mask from its top, bottom, left and right points and optional clicks."""
    ref = assist.item_image_ref(session, item_id, user.id, user.role)
    image = assist.item_image(ref, get_workspace(request).settings.s3_endpoint_url)
    return assist.extreme_points_mask(image, body)


@router.post("/items/{item_id}/assist/grow")
def grow(
    item_id: int, body: GrowRequest, request: Request, user: CurrentUser, session: ReadSession
) -> MaskAnswer:
    """The region of similar colour containing the clicked point."""
    ref = assist.item_image_ref(session, item_id, user.id, user.role)
    image = assist.item_image(ref, get_workspace(request).settings.s3_endpoint_url)
    return assist.grown_region(image, body)
