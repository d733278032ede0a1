"""Facts about an item's media read from the file header only: image size, audio length.

Answer validation checks geometry against the real image size, once per answer, so the
lookups are cheap: PIL parses the header without decoding pixels, S3 objects are read
with a ranged GET of the first bytes (the whole object only when the header is longer),
and results are cached per reference (local files by path, size and mtime, so a file
replaced in place is read again).

The size is the one a browser shows: JPEG EXIF orientations 5-8 (a quarter turn) swap
width and height, as browsers apply the orientation and report the turned size in
``naturalWidth``/``naturalHeight``, the numbers worker tools put in
``inputImageProperties``.
"""

from __future__ import annotations

import io
import os
import wave
from functools import lru_cache
from typing import Any, BinaryIO

from PIL import Image

from truthset.media.storage import local_path_of, parse_s3_uri, s3_client

# A ranged read of this many bytes holds the header of nearly every image (JPEGs with a
# large EXIF thumbnail are the exception and fall back to reading the object).
HEADER_BYTES = 256 * 1024
_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = {5, 6, 7, 8}


class UnreadableMedia(OSError):
    """The reference cannot be read here (missing file, no S3 access, not an image)."""


def _size_from(fh: BinaryIO, ref: str) -> tuple[int, int]:
    try:
        with Image.open(fh) as image:
            width, height = image.size
            try:
                orientation = image.getexif().get(_EXIF_ORIENTATION)
            except Exception:  # a broken EXIF block does not hide the size
                orientation = None
    except Exception as exc:
        raise UnreadableMedia(f"{ref}: not a readable image ({exc})") from None
    if orientation in _QUARTER_TURNS:
        width, height = height, width
    return int(width), int(height)


@lru_cache(maxsize=4096)
def _local_image_size(path: str, _size: int, _mtime: float) -> tuple[int, int]:
    with open(path, "rb") as fh:
        return _size_from(fh, path)


@lru_cache(maxsize=4096)
def _s3_image_size(ref: str, endpoint_url: str | None) -> tuple[int, int]:
    loc = parse_s3_uri(ref)
    try:
        client = s3_client(endpoint_url)
        head = client.get_object(
            Bucket=loc.bucket, Key=loc.key, Range=f"bytes=0-{HEADER_BYTES - 1}"
        )["Body"].read()
    except Exception as exc:
        raise UnreadableMedia(f"{ref}: cannot read the object ({exc})") from None
    try:
        return _size_from(io.BytesIO(head), ref)
    except UnreadableMedia:
        if len(head) < HEADER_BYTES:
            raise
    try:
        body = client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()
    except Exception as exc:
        raise UnreadableMedia(f"{ref}: cannot read the object ({exc})") from None
    return _size_from(io.BytesIO(body), ref)


def _local_stat(ref: str) -> tuple[str, os.stat_result] | None:
    try:
        path = local_path_of(ref)
    except Exception as exc:
        raise UnreadableMedia(f"{ref}: {exc}") from None
    if path is None:
        return None
    real = os.path.realpath(path)
    try:
        return real, os.stat(real)
    except OSError as exc:
        raise UnreadableMedia(f"{ref}: {exc.strerror or exc}") from None


def image_size(ref: str, *, endpoint_url: str | None = None) -> tuple[int, int]:
    """``(width, height)`` of the image at a local path, ``file://`` or ``s3://`` URI.

    Raises :class:`UnreadableMedia` when it cannot be read. The caller is responsible for
    ``ref`` being inside the allowed roots (items' references are checked at import).
    """
    local = _local_stat(ref)
    if local is not None:
        real, st = local
        return _local_image_size(real, st.st_size, st.st_mtime)
    return _s3_image_size(ref, endpoint_url)


def audio_duration(ref: str, *, endpoint_url: str | None = None) -> float:
    """Length in seconds of a WAV file (the only format the standard library reads from
    its header). Raises :class:`UnreadableMedia` for other formats or unreadable refs."""
    local = _local_stat(ref)
    try:
        if local is not None:
            with wave.open(local[0], "rb") as w:
                return _wave_seconds(w)
        loc = parse_s3_uri(ref)
        body = (
            s3_client(endpoint_url)
            .get_object(Bucket=loc.bucket, Key=loc.key, Range="bytes=0-65535")["Body"]
            .read()
        )
        with wave.open(io.BytesIO(body), "rb") as w:
            return _wave_seconds(w)
    except UnreadableMedia:
        raise
    except Exception as exc:
        raise UnreadableMedia(f"{ref}: not a readable WAV file ({exc})") from None


def _wave_seconds(w: Any) -> float:
    rate = w.getframerate()
    if rate <= 0:
        raise UnreadableMedia("WAV header has no frame rate")
    return float(w.getnframes()) / float(rate)


def clear_caches() -> None:
    """Forget cached sizes (tests; a bucket whose objects were replaced in place)."""
    _local_image_size.cache_clear()
    _s3_image_size.cache_clear()
