"""Ground Truth's frame sequence files: parsed, validated, resolved, cached; frames read.

A sequence file (video frames, or point-cloud frames for 3D tracking) is
``{"seq-no", "prefix", "number-of-frames", "frames": [{"frame-no", "frame",
"unix-timestamp"?, ...}]}``. Ground Truth shows the frames in the UTF-8 binary order of
their `frame` names, whatever order the file lists them in, so `Sequence.frames` is in
that order and a frame's `index` (what answers and routes count in) is its place there.
Keys this module does not know are kept (`extra`): point-cloud frames carry `format`,
`ego-vehicle-pose` and `images`, which `media.point_clouds` reads.

A frame's bytes are `prefix` + `frame`: a local folder or an s3:// prefix. Without a
`prefix`, or with a relative local one, frames are found beside the sequence file. Every
error names the file and the field (`sequence file s3://b/k.json: frames[3].frame: ...`,
`frames[i]` counting in the file's own order).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from truthset.errors import BadInput, NotFound
from truthset.media.storage import (
    AllowedRoots,
    FileVersion,
    file_version,
    local_path_of,
    parse_s3_uri,
    read_limited,
)

# Ground Truth's video jobs take 2,000 frames a sequence; an extracted video may hold more.
MAX_FRAMES = 100_000
MAX_SEQUENCE_FILE_BYTES = 64 << 20
# A frame image (or point-cloud frame) is read whole; past this it is refused.
MAX_FRAME_BYTES = 256 << 20
# What a player plays when the file says nothing about time.
DEFAULT_FRAME_RATE = 10.0
MAX_FRAME_RATE = 1000.0

_EXIF_ORIENTATION = 0x0112
_KNOWN_TOP = ("seq-no", "prefix", "number-of-frames", "frames", "frame-rate")
_KNOWN_FRAME = ("frame-no", "frame", "unix-timestamp")


@dataclass(frozen=True)
class SequenceFrame:
    """One frame: its place in the sorted sequence, what the file says, where it is."""

    index: int
    frame_no: int
    frame: str
    ref: str
    unix_timestamp: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The file's own value (Ground Truth's examples write "0" as often as 0): outputs echo it.
    frame_no_given: int | str | None = None


@dataclass(frozen=True)
class Sequence:
    """A parsed sequence file; `frames` in Ground Truth's order (UTF-8 bytes of names)."""

    ref: str
    seq_no: int | str | None
    prefix: str
    frames: tuple[SequenceFrame, ...]
    declared_frame_rate: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def number_of_frames(self) -> int:
        return len(self.frames)

    def frame_at(self, index: int) -> SequenceFrame:
        """The frame at a 0-based index into the sorted frames; NotFound past the end."""
        if (
            isinstance(index, bool)
            or not isinstance(index, int)
            or not 0 <= index < len(self.frames)
        ):
            raise NotFound(
                f"sequence {self.ref}: no frame {index!r} (it has {len(self.frames)}, from 0)"
            )
        return self.frames[index]


# ---------------------------------------------------------------------------------------
# Parsing


def _fail(ref: str, where: str, what: str) -> BadInput:
    return BadInput(f"sequence file {ref}: {where}: {what}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _folder_of(ref: str) -> str:
    if ref.startswith("s3://"):
        head, _, _ = ref.rpartition("/")
        return head + "/"
    path = local_path_of(ref)
    assert path is not None
    return os.path.dirname(os.path.abspath(path)) + os.sep


def resolve_prefix(ref: str, prefix: str | None) -> str:
    """Where the frames of the sequence file at `ref` lie: the `prefix` given (an s3://
    URI or an absolute folder), a relative folder beside the file, or the file's folder."""
    if not prefix:
        return _folder_of(ref)
    if prefix.startswith("s3://"):
        return prefix if prefix.endswith("/") else prefix + "/"
    path = local_path_of(prefix)
    if path is None or "://" in prefix:
        raise BadInput(f"prefix {prefix!r}: not an s3:// URI or a local folder")
    if not path.is_absolute():
        if ".." in prefix.replace("\\", "/").split("/"):
            raise BadInput(f"prefix {prefix!r}: a relative prefix may not hold '..'")
        if ref.startswith("s3://"):
            return _folder_of(ref) + prefix.strip("/") + "/"
        path = type(path)(_folder_of(ref)) / path
    text = str(path)
    return text if text.endswith(os.sep) else text + os.sep


def frame_ref(prefix: str, frame: str) -> str:
    """`prefix` + `frame` as a reference media/storage reads."""
    return prefix + frame


def _frame_no(ref: str, where: str, value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(ref, where, f"must be a whole number >= 0, not {value!r}")
    return value


def _timestamp(ref: str, where: str, value: Any) -> float | None:
    if value is None:
        return None
    number: Any = value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            number = float(value)
    if not _is_number(number) or number < 0:
        raise _fail(ref, where, f"must be seconds since 1970 (>= 0), not {value!r}")
    return float(number)


def _frame_name(ref: str, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(ref, where, f"must be the frame's file name, not {value!r}")
    if "\x00" in value:
        raise _fail(ref, where, "holds a NUL character")
    if value.startswith(("/", "s3://")) or "://" in value:
        raise _fail(ref, where, f"{value!r} must be a name under the prefix, not a full path")
    if {".", ".."} & set(value.replace("\\", "/").split("/")):
        raise _fail(ref, where, f"{value!r} may not hold '.' or '..' segments")
    return value


def parse_sequence(
    document: bytes | str | Mapping[str, Any],
    *,
    ref: str,
    roots: AllowedRoots | None = None,
) -> Sequence:
    """A sequence file's content (bytes, text or the parsed object) checked field by field.
    `ref` is where the file is (it names errors and places a missing or relative prefix);
    with `roots`, every frame's reference must lie inside them."""
    if isinstance(document, Mapping):
        data: Any = document
    else:
        try:
            data = orjson.loads(document)
        except orjson.JSONDecodeError as exc:
            raise BadInput(f"sequence file {ref}: not JSON ({exc})") from None
    if not isinstance(data, Mapping):
        raise BadInput(f"sequence file {ref}: must be a JSON object, not {type(data).__name__}")

    seq_no = data.get("seq-no")
    if seq_no is not None and (
        isinstance(seq_no, bool) or not isinstance(seq_no, (int, str)) or seq_no == ""
    ):
        raise _fail(ref, "seq-no", f"must be a number or a name, not {seq_no!r}")

    raw_prefix = data.get("prefix")
    if raw_prefix is not None and not isinstance(raw_prefix, str):
        raise _fail(ref, "prefix", f"must be an s3:// URI or a folder, not {raw_prefix!r}")
    try:
        prefix = resolve_prefix(ref, raw_prefix)
        if prefix.startswith("s3://"):
            parse_s3_uri(prefix + "x")
    except BadInput as exc:
        raise _fail(ref, "prefix", str(exc.detail)) from None

    declared_rate = data.get("frame-rate")
    if declared_rate is not None and (
        not _is_number(declared_rate) or not 0 < declared_rate <= MAX_FRAME_RATE
    ):
        raise _fail(
            ref, "frame-rate", f"must be a number of frames a second in (0, {MAX_FRAME_RATE:g}]"
        )

    frames_in = data.get("frames")
    if not isinstance(frames_in, list):
        raise _fail(ref, "frames", "must be a list of frames")
    if not frames_in:
        raise _fail(ref, "frames", "is empty: a sequence needs at least one frame")
    if len(frames_in) > MAX_FRAMES:
        raise _fail(ref, "frames", f"{len(frames_in):,} frames: at most {MAX_FRAMES:,}")
    declared_count = data.get("number-of-frames")
    if declared_count is not None:
        if (
            isinstance(declared_count, str)
            and declared_count.isascii()
            and declared_count.isdigit()
        ):
            declared_count = int(declared_count)
        if declared_count != len(frames_in) or isinstance(declared_count, bool):
            raise _fail(
                ref,
                "number-of-frames",
                f"says {data.get('number-of-frames')!r} but 'frames' lists {len(frames_in)}",
            )

    parsed: list[tuple[bytes, int, str, float | None, dict[str, Any], Any]] = []
    names: dict[str, int] = {}
    numbers: dict[int, int] = {}
    for i, item in enumerate(frames_in):
        where = f"frames[{i}]"
        if not isinstance(item, Mapping):
            raise _fail(ref, where, f"must be an object, not {type(item).__name__}")
        if "frame" not in item:
            raise _fail(ref, f"{where}.frame", "is missing")
        name = _frame_name(ref, f"{where}.frame", item["frame"])
        if name in names:
            raise _fail(ref, f"{where}.frame", f"{name!r} is also frames[{names[name]}]")
        names[name] = i
        if "frame-no" not in item:
            raise _fail(ref, f"{where}.frame-no", "is missing")
        number = _frame_no(ref, f"{where}.frame-no", item["frame-no"])
        if number in numbers:
            raise _fail(ref, f"{where}.frame-no", f"{number} is also frames[{numbers[number]}]")
        numbers[number] = i
        stamp = _timestamp(ref, f"{where}.unix-timestamp", item.get("unix-timestamp"))
        extra = {k: v for k, v in item.items() if k not in _KNOWN_FRAME}
        parsed.append((name.encode("utf-8"), number, name, stamp, extra, item["frame-no"]))

    parsed.sort(key=lambda row: row[0])
    frames = tuple(
        SequenceFrame(
            index=index,
            frame_no=number,
            frame=name,
            ref=frame_ref(prefix, name),
            unix_timestamp=stamp,
            extra=extra,
            frame_no_given=given,
        )
        for index, (_key, number, name, stamp, extra, given) in enumerate(parsed)
    )
    sequence = Sequence(
        ref=ref,
        seq_no=seq_no,
        prefix=prefix,
        frames=frames,
        declared_frame_rate=float(declared_rate) if declared_rate is not None else None,
        extra={k: v for k, v in data.items() if k not in _KNOWN_TOP},
    )
    if roots is not None:
        check_frames_allowed(sequence, roots)
    return sequence


def check_frames_allowed(sequence: Sequence, roots: AllowedRoots) -> None:
    """BadInput naming the first frame whose reference lies outside `roots`."""
    for frame in sequence.frames:
        if not roots.allows(frame.ref):
            raise BadInput(
                f"sequence file {sequence.ref}: frame {frame.frame!r} ({frame.ref}) is outside "
                "the allowed roots and buckets"
            )


# ---------------------------------------------------------------------------------------
# Time


def frame_rate(sequence: Sequence) -> float:
    """Frames a second: the file's `frame-rate`, else what the frames' unix-timestamps
    say (the median step between consecutive frames), else DEFAULT_FRAME_RATE."""
    if sequence.declared_frame_rate is not None:
        return sequence.declared_frame_rate
    stamps = [f.unix_timestamp for f in sequence.frames if f.unix_timestamp is not None]
    if len(stamps) == len(sequence.frames) and len(stamps) >= 2:
        steps = np.diff(np.asarray(stamps, dtype=np.float64))
        steps = steps[steps > 0]
        if steps.size:
            rate = 1.0 / float(np.median(steps))
            if 0 < rate <= MAX_FRAME_RATE:
                return rate
    return DEFAULT_FRAME_RATE


# ---------------------------------------------------------------------------------------
# Writing


def sequence_document(
    frames: SequenceOf[Mapping[str, Any]],
    *,
    prefix: str,
    seq_no: int | str = 1,
    frame_rate: float | None = None,
) -> dict[str, Any]:
    """A sequence file as Ground Truth reads it, from frames given as
    `{"frame-no", "frame", "unix-timestamp"?, ...}` (other keys written as given);
    `frame-rate` is ours, beside Ground Truth's keys (Ground Truth ignores it)."""
    document: dict[str, Any] = {
        "seq-no": seq_no,
        "prefix": prefix,
        "number-of-frames": len(frames),
    }
    if frame_rate is not None:
        document["frame-rate"] = frame_rate
    document["frames"] = [dict(f) for f in frames]
    return document


# ---------------------------------------------------------------------------------------
# Loading (cached by where the file is and its version)


_cache: OrderedDict[tuple[str, str | None], tuple[FileVersion, Sequence]] = OrderedDict()
_allowed: dict[tuple[Any, tuple[Any, ...]], None] = {}
_cache_lock = threading.Lock()
_CACHE_SIZE = 256


def _roots_key(roots: AllowedRoots) -> tuple[Any, ...]:
    return (tuple(str(p) for p in roots.local), tuple(roots.s3))


def load_sequence(
    ref: str,
    *,
    roots: AllowedRoots | None = None,
    endpoint_url: str | None = None,
) -> Sequence:
    """The sequence file at a local path or s3:// URI, parsed and checked (with `roots`:
    the file and every frame inside them). Cached by reference and version (a local
    file's mtime and size, an S3 object's ETag), so a file replaced in place is read
    again and an unchanged one costs a stat or a HEAD."""
    if roots is not None and not roots.allows(ref):
        raise BadInput(f"sequence file {ref}: outside the allowed roots and buckets")
    key = (ref, endpoint_url)
    version = file_version(ref, "sequence file", endpoint_url=endpoint_url)
    with _cache_lock:
        known = _cache.get(key)
        if known is not None and known[0] == version:
            _cache.move_to_end(key)
            sequence: Sequence | None = known[1]
        else:
            sequence = None
    if sequence is None:
        data, version = read_limited(
            ref, "sequence file", MAX_SEQUENCE_FILE_BYTES, endpoint_url=endpoint_url
        )
        sequence = parse_sequence(data, ref=ref)
        with _cache_lock:
            _cache[key] = (version, sequence)
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    if roots is not None:
        checked = (version, _roots_key(roots))
        with _cache_lock:
            done = checked in _allowed
        if not done:
            check_frames_allowed(sequence, roots)
            with _cache_lock:
                if len(_allowed) > 4 * _CACHE_SIZE:
                    _allowed.clear()
                _allowed[checked] = None
    return sequence


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _allowed.clear()


# ---------------------------------------------------------------------------------------
# Frames


def read_frame_bytes(
    sequence: Sequence,
    index: int,
    *,
    endpoint_url: str | None = None,
    limit: int = MAX_FRAME_BYTES,
) -> bytes:
    """The bytes of the frame at `index` (0-based, sorted order). NotFound for an index
    past the end or a missing file or object; BadInput for one that cannot be read."""
    frame = sequence.frame_at(index)
    what = f"frame {index} of {sequence.ref}:"
    return read_limited(frame.ref, what, limit, endpoint_url=endpoint_url)[0]


def frame_version(
    sequence: Sequence, index: int, *, endpoint_url: str | None = None
) -> FileVersion:
    """What changes when the frame's file changes (a stat, or an S3 HEAD): an ETag's source."""
    frame = sequence.frame_at(index)
    what = f"frame {index} of {sequence.ref}:"
    return file_version(frame.ref, what, endpoint_url=endpoint_url)


def decode_rgb(data: bytes, what: str) -> np.ndarray:
    """An image's pixels as (H, W, 3) uint8 RGB, turned as its EXIF orientation says
    (browsers show it turned, and boxes are drawn on what they show)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            # exif_transpose copies the picture even when it has nothing to turn (a third
            # of the decode of a 1080p frame): turn only a frame that says so.
            image: Image.Image = opened
            if opened.getexif().get(_EXIF_ORIENTATION, 1) not in (1, None):
                image = ImageOps.exif_transpose(opened)
            image.load()
            rgb = image if image.mode == "RGB" else image.convert("RGB")
            return np.asarray(rgb, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise BadInput(f"{what}: not an image this server decodes ({exc})") from None


def read_frame_rgb(
    sequence: Sequence, index: int, *, endpoint_url: str | None = None
) -> np.ndarray:
    """The frame at `index` decoded to (H, W, 3) uint8 RGB."""
    data = read_frame_bytes(sequence, index, endpoint_url=endpoint_url)
    return decode_rgb(data, f"frame {index} of {sequence.ref} ({sequence.frames[index].frame})")
