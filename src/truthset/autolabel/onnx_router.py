"""A worker's clicks through the job's own Segment-Anything-style model (HTTP only).

POST /jobs/{name}/items/{item_id}/assist/onnx: points (1 in the object, 0 outside it)
and/or a box, in image pixels -> the mask, in the shape of the classical assisted
segmentation routes' answers (run lengths in the mask's box; polygons and a PNG on
request). The job's ``settings.prelabel.onnx`` names the model (kind ``sam``). The
encoder runs once per image: its output is kept for the clicks that follow, so a
refinement click costs one decoder run.

Who may call: whoever may fetch the item's media (a worker only for an item they were
assigned a task of), as the other assisted segmentation routes.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from truthset.api.deps import CurrentUser, ReadSession, get_workspace
from truthset.autolabel import prelabel
from truthset.errors import BadInput
from truthset.jobs.service import get_job
from truthset.learning.models import ModelError
from truthset.media import assist
from truthset.media.assist_schemas import MAX_CLICKS, MaskRle, Point
from truthset.tasktypes import get_task_type

router = APIRouter(tags=["autolabel"])

# Image embeddings kept for refinement clicks: (model, item ref) -> (image, embedding).
CACHE_EMBEDDINGS = 8
_embeddings: OrderedDict[tuple[int, str], tuple[Any, Any]] = OrderedDict()
_embeddings_lock = threading.Lock()


class OnnxPromptRequest(BaseModel):
    """Clicks and / or a box, in the image's pixels."""

    model_config = ConfigDict(extra="forbid")
    points: list[Point] = Field(default_factory=list, max_length=MAX_CLICKS)
    point_labels: list[Literal[0, 1]] = Field(
        default_factory=list,
        max_length=MAX_CLICKS,
        description="one per point: 1 in the object, 0 outside it",
    )
    box: tuple[float, float, float, float] | None = Field(
        default=None, description="x0, y0, x1, y1 (two opposite corners)"
    )
    polygons: bool = False
    png: bool = False


class OnnxMaskAnswer(BaseModel):
    width: int
    height: int
    area: int
    rle: MaskRle
    polygons: list[list[Point]] | None = None
    png: str | None = Field(default=None, description="base64 PNG, 1 bit, the image's size")
    method: Literal["onnx"] = "onnx"
    encoder_ran: bool = Field(description="false when the image's embedding was kept")
    millis: float


def _embedding(model: Any, ref: str, image: Any) -> tuple[Any, bool]:
    key = (id(model), ref)
    with _embeddings_lock:
        hit = _embeddings.get(key)
        # The image cache hands back the same array while the file is unchanged.
        if hit is not None and hit[0] is image:
            _embeddings.move_to_end(key)
            return hit[1], False
    embedding = model.embed(image)
    with _embeddings_lock:
        _embeddings[key] = (image, embedding)
        while len(_embeddings) > CACHE_EMBEDDINGS:
            _embeddings.popitem(last=False)
    return embedding, True


@router.post("/jobs/{name}/items/{item_id}/assist/onnx")
def onnx_prompt_mask(
    name: str,
    item_id: int,
    body: OnnxPromptRequest,
    request: Request,
    user: CurrentUser,
    session: ReadSession,
) -> OnnxMaskAnswer:
    """The object's mask from the job's own segmenter, for clicks and / or a box."""
    from truthset.learning.assisted_segmentation import mask_to_polygons

    started = time.perf_counter()
    if len(body.points) != len(body.point_labels):
        raise BadInput(
            f"point_labels: {len(body.point_labels)} labels for {len(body.points)} points"
        )
    if not body.points and body.box is None:
        raise BadInput("points / box: give a click or a box")
    ref = assist.item_image_ref(session, item_id, user.id, user.role)
    job = get_job(session, name)
    config = prelabel.onnx_config_of(job.settings)
    if config is None or config.get("kind") != "sam":
        raise BadInput(
            f"job {name!r} has no Segment-Anything-style model: set {prelabel.ONNX_FIELD} "
            "with kind sam"
        )
    checked = prelabel.check_onnx_structure(job.task_type, config)
    labels = list(get_task_type(job.task_type).parse_label_config(job.label_config).labels)
    model = prelabel.load_onnx_model(session, checked, labels)
    image = assist.item_image(ref, get_workspace(request).settings.s3_endpoint_url)
    embedding, encoder_ran = _embedding(model, ref, image)
    try:
        mask = model.segment(
            embedding,
            points=[(p.x, p.y) for p in body.points],
            point_labels=list(body.point_labels),
            box=body.box,
        )
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    except ModelError as exc:  # the decoder refused its input: the model's problem, said
        raise BadInput(f"{prelabel.ONNX_FIELD}: {exc}") from None
    # The run lengths and PNG of the other assisted routes' answers (media.assist).
    answer: dict[str, Any] = {
        "width": int(mask.shape[1]),
        "height": int(mask.shape[0]),
        "area": int(mask.sum()),
        "rle": assist._run_lengths(mask),  # noqa: SLF001 - one encoding for all assisted masks
        "encoder_ran": encoder_ran,
    }
    if body.polygons:
        outlines = mask_to_polygons(mask, min_area=assist.MIN_POLYGON_AREA)
        answer["polygons"] = [[{"x": x, "y": y} for x, y in poly] for poly in outlines]
    if body.png:
        answer["png"] = assist._png(mask)  # noqa: SLF001
    answer["millis"] = round((time.perf_counter() - started) * 1000, 1)
    return OnnxMaskAnswer.model_validate(answer)
