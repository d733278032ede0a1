"""Requests and answers of the assisted segmentation routes (``assist_router``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# A worker refines with a few clicks; a hundred is far past any real use and bounds the
# seeds one request draws.
MAX_CLICKS = 100


class Point(BaseModel):
    """Image pixel coordinates, as Ground Truth's answers hold them."""

    model_config = ConfigDict(extra="forbid")
    x: float = Field(allow_inf_nan=False)
    y: float = Field(allow_inf_nan=False)


class ExtremePointsRequest(BaseModel):
    """Four extreme points of one object (any order), and refinement clicks."""

    model_config = ConfigDict(extra="forbid")
    extreme_points: list[Point] = Field(min_length=4, max_length=4)
    positive: list[Point] = Field(default_factory=list, max_length=MAX_CLICKS)
    negative: list[Point] = Field(default_factory=list, max_length=MAX_CLICKS)
    polygons: bool = False
    png: bool = False


class GrowRequest(BaseModel):
    """A click to grow a region from, and how different a colour may be and still join."""

    model_config = ConfigDict(extra="forbid")
    point: Point
    tolerance: float = Field(default=25.0, ge=0, le=255, allow_inf_nan=False)
    polygons: bool = False
    png: bool = False


class MaskRle(BaseModel):
    """The mask inside its box: run lengths over the box's rows, top to bottom, each row
    left to right, alternating off / on and starting with an off run (maybe 0 long)."""

    box: tuple[int, int, int, int] = Field(description="x, y, width, height")
    counts: list[int]


class MaskAnswer(BaseModel):
    width: int
    height: int
    area: int
    rle: MaskRle
    polygons: list[list[Point]] | None = None
    png: str | None = Field(default=None, description="base64 PNG, 1 bit, the image's size")
    method: Literal["grabcut", "superpixel-grow"]
    millis: float
