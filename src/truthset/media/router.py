"""Serving item bytes to the browser: local files streamed, S3 objects by presigned URL.

Who may fetch an item's media follows who may see the item: admins and requesters every
item; a reviewer the items of jobs given to their teams (as the review routes); a worker
an item only once they were assigned one of its tasks.

Nothing served here may run as script in the app's origin: every response carries a
sandboxing Content-Security-Policy and `nosniff`, and only image, audio and video types a
labeling tool shows are served inline; anything else (HTML, SVG, an export written into
the media folder and imported back as an item) is sent as an opaque download.
"""

from __future__ import annotations

import math
import mimetypes
import os

import numpy as np
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from truthset.api.deps import CurrentUser, ReadSession, get_workspace
from truthset.errors import BadInput, Forbidden, NotFound
from truthset.media import audio_windows, repository
from truthset.media.audio_source import MissingMedia
from truthset.media.info import UnreadableMedia
from truthset.media.storage import local_path_of, presigned_url
from truthset.workspace import Workspace

router = APIRouter(tags=["media"])

# Types a browser renders without running code. SVG is an image that can hold scripts.
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/bmp",
        "image/tiff",
        "image/avif",
        "audio/mpeg",
        "audio/wav",
        "audio/x-wav",
        "audio/ogg",
        "audio/flac",
        "audio/x-flac",
        "audio/mp4",
        "audio/webm",
        "video/mp4",
        "video/webm",
        "video/ogg",
    }
)
MEDIA_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=3600",
}


def _media_ref(item_id: int, user: CurrentUser, session: ReadSession) -> str:
    """The item's `source-ref`, when the user may see the item's media."""
    if user.role == "reviewer":
        allowed = repository.item_in_a_job_of_users_teams(session, user.id, item_id)
    else:
        allowed = user.role in ("admin", "requester") or repository.was_assigned_item(
            session, user.id, item_id
        )
    data = repository.item_data(session, item_id) if allowed else None
    if data is None:
        raise NotFound(f"item {item_id} not found")
    ref = orjson.loads(data).get("source-ref")
    if not isinstance(ref, str):
        raise BadInput(f"item {item_id} has inline text, not media")
    return ref


def _check_s3_served(ws: Workspace, item_id: int, ref: str) -> None:
    """An S3 object is served (presigned, or read here for the audio tools) with the
    server's own credentials: only from buckets it is configured to serve, whatever an
    import once allowed (a prefix imported from the command line, a root since removed)."""
    if not ws.roots().allows(ref):
        raise Forbidden(
            f"the media of item {item_id} ({ref!r}) is outside the server's allowed roots"
        )


@router.get("/items/{item_id}/media")
def item_media(item_id: int, request: Request, user: CurrentUser, session: ReadSession) -> Response:
    # Starlette's FileResponse answers Range requests (206), so <audio> and <video> stream
    # an hour of media and seek in it without downloading it first.
    ref = _media_ref(item_id, user, session)
    # The reference was checked against the allowed roots when the item was imported.
    ws = get_workspace(request)
    path = local_path_of(ref)
    if path is None:
        _check_s3_served(ws, item_id, ref)
        # Another origin (the object store) serves it: nothing runs in the app's origin.
        return RedirectResponse(presigned_url(ref, endpoint_url=ws.settings.s3_endpoint_url))
    real = os.path.realpath(path)
    if not os.path.isfile(real):
        raise NotFound(f"the file of item {item_id} is missing")
    media_type = mimetypes.guess_type(real)[0] or "application/octet-stream"
    if media_type in INLINE_TYPES:
        return FileResponse(real, media_type=media_type, headers=MEDIA_SECURITY_HEADERS)
    return FileResponse(
        real,
        media_type="application/octet-stream",
        filename=f"item-{item_id}{os.path.splitext(real)[1]}",
        content_disposition_type="attachment",
        headers=MEDIA_SECURITY_HEADERS,
    )


# What the audio tools may ask for at once: peaks for a canvas a few screens wide, and the
# samples of a window short enough for a spectrogram (8 MB of float32).
MAX_PEAK_BINS = 16_384
MAX_SAMPLE_FRAMES = 1 << 21
AUDIO_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}


def _seconds(name: str, raw: str | None, default: float | None = None) -> float:
    if raw is None:
        if default is None:
            raise BadInput(f"{name}: a time in seconds is required")
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadInput(f"{name}: {raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise BadInput(f"{name}: {raw!r} is not a finite number of seconds >= 0")
    return value


def _audio_of(
    item_id: int, request: Request, user: CurrentUser, session: ReadSession
) -> tuple[str, audio_windows.AudioInfo, str | None]:
    ref = _media_ref(item_id, user, session)
    ws = get_workspace(request)
    if ref.startswith("s3://"):
        _check_s3_served(ws, item_id, ref)
    endpoint = ws.settings.s3_endpoint_url
    try:
        return ref, audio_windows.audio_info(ref, endpoint_url=endpoint), endpoint
    except MissingMedia:
        raise NotFound(f"the file of item {item_id} is missing") from None
    except UnreadableMedia as exc:
        raise BadInput(
            f"item {item_id}: the media is not audio this server decodes ({exc})"
        ) from None


def _window(
    info: audio_windows.AudioInfo, start: str | None, end: str | None
) -> tuple[float, float]:
    first = _seconds("start", start, 0.0)
    last = _seconds("end", end, info.duration)
    if first >= info.duration:
        raise BadInput(f"start: {first} is at or past the end of the audio ({info.duration:.3f} s)")
    if last <= first:
        raise BadInput(f"end: {last} must be after start ({first})")
    return first, min(last, info.duration)


@router.get("/items/{item_id}/audio")
def item_audio_info(
    item_id: int, request: Request, user: CurrentUser, session: ReadSession
) -> Response:
    """The item's audio as its header tells: length, rate, channels, format."""
    _ref, info, _endpoint = _audio_of(item_id, request, user, session)
    body = {
        "duration": info.duration,
        "rate": info.rate,
        "frames": info.frames,
        "channels": info.channels,
        "format": info.format,
        "max_peak_bins": MAX_PEAK_BINS,
        "max_sample_frames": MAX_SAMPLE_FRAMES,
    }
    return Response(orjson.dumps(body), media_type="application/json", headers=AUDIO_HEADERS)


@router.get("/items/{item_id}/audio/peaks")
def item_audio_peaks(
    item_id: int,
    request: Request,
    user: CurrentUser,
    session: ReadSession,
    start: str | None = None,
    end: str | None = None,
    bins: str | None = None,
) -> Response:
    """Min and max of [start, end) seconds in `bins` bins (fewer when the window has fewer
    frames); the whole recording by default."""
    ref, info, endpoint = _audio_of(item_id, request, user, session)
    first, last = _window(info, start, end)
    try:
        n = int(bins) if bins is not None else 1000
    except ValueError:
        raise BadInput(f"bins: {bins!r} is not a whole number") from None
    if not 1 <= n <= MAX_PEAK_BINS:
        raise BadInput(f"bins: {n} must be between 1 and {MAX_PEAK_BINS}")
    cache = get_workspace(request).settings.data_dir / "cache" / "audio-overviews"
    peaks = audio_windows.window_peaks(ref, first, last, n, endpoint_url=endpoint, cache_dir=cache)
    body = {
        "rate": peaks.rate,
        "duration": info.duration,
        "start_frame": peaks.start_frame,
        "end_frame": peaks.end_frame,
        "bins": len(peaks.min),
        # Four decimals are finer than a pixel of any waveform and halve the body.
        "min": np.round(peaks.min, 4),
        "max": np.round(peaks.max, 4),
    }
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        media_type="application/json",
        headers=AUDIO_HEADERS,
    )


@router.get("/items/{item_id}/audio/samples")
def item_audio_samples(
    item_id: int,
    request: Request,
    user: CurrentUser,
    session: ReadSession,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    """The mono samples of [start, end) seconds as little-endian float32, at most
    MAX_SAMPLE_FRAMES of them; X-Audio-Rate and X-Audio-Start-Frame say where they are."""
    ref, info, endpoint = _audio_of(item_id, request, user, session)
    first, last = _window(info, _required("start", start), _required("end", end))
    frames = round(last * info.rate) - round(first * info.rate)
    if frames > MAX_SAMPLE_FRAMES:
        raise BadInput(
            f"end: the window [{first}, {last}) holds {frames:,} frames, more than the "
            f"{MAX_SAMPLE_FRAMES:,} ({MAX_SAMPLE_FRAMES / info.rate:.1f} s at {info.rate} Hz) "
            "one request may read; ask for peaks instead"
        )
    samples, rate = audio_windows.read_window(ref, first, last, endpoint_url=endpoint)
    headers = {
        **AUDIO_HEADERS,
        "X-Audio-Rate": str(rate),
        "X-Audio-Start-Frame": str(round(first * rate)),
        "X-Audio-Frames": str(len(samples)),
    }
    return Response(
        samples.astype("<f4", copy=False).tobytes(),
        media_type="application/octet-stream",
        headers=headers,
    )


def _required(name: str, raw: str | None) -> str:
    if raw is None:
        raise BadInput(f"{name}: a time in seconds is required")
    return raw
