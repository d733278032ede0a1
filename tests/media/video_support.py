"""Videos rendered in the tests: a bright square moving over a dark background, so each
frame's content is known (the square's left edge is at 4 * frame index pixels)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def square_at(index: int, width: int) -> int:
    return (4 * index) % max(1, width - 16)


def render_video(
    path: Path,
    frames: int,
    *,
    width: int = 160,
    height: int = 96,
    rate: int = 25,
    codec: str = "libx264",
    creation_time: str | None = None,
) -> Path:
    """An H.264 (or other codec) video of `frames` frames at `rate` per second."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        if creation_time:
            container.metadata["creation_time"] = creation_time
        stream = container.add_stream(codec, rate=Fraction(rate))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "18"}
        for i in range(frames):
            image = np.full((height, width, 3), 30, dtype=np.uint8)
            left = square_at(i, width)
            image[20:36, left : left + 16] = (240, 240, 240)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def square_left(rgb: np.ndarray) -> int:
    """Where the bright square of a decoded frame starts (column of the first bright
    pixel in the square's rows)."""
    row = rgb[28, :, 0]
    return int(np.argmax(row > 128))
