"""A video file into a Ground Truth frame sequence: JPEG frames and a sequence file.

What Ground Truth's console does when a video frame job is given videos ("frame
extraction"): each video becomes a folder of JPEG frames (`frame_000000.jpg`, numbered so
that Ground Truth's name order is the video's order) and a sequence file beside them,
`sequence.json`, whose `frame-rate` is the stream's (divided by `step` when only every
n-th frame is kept) and whose `unix-timestamp`s come from each frame's presentation time:
the container's `creation_time` plus the frame's time when the file has one, else the
time from the start of the video.

PyAV (FFmpeg in its wheel) decodes anything FFmpeg reads, with FFmpeg's own frame and
slice threads, and FFmpeg's JPEG encoder takes each frame in full-range YUV (as the
`ffmpeg` command does: converting to RGB for Pillow cost more than everything else, 15
frames/s of 720p against ~100); the writes (local files or S3 objects) run in a pool of
threads through a bounded queue, so memory holds a few frames whatever the video's length.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

import orjson

from truthset.errors import BadInput, NotFound
from truthset.media import sequences
from truthset.media.storage import (
    AllowedRoots,
    local_path_of,
    parse_s3_uri,
    s3_client,
    s3_error_reason,
)

SEQUENCE_FILE = "sequence.json"
FRAME_NAME = "frame_{:06d}.jpg"
# FFmpeg's JPEG quantiser scale (`-q:v`): 2 is the best it makes, about Pillow's quality 90.
DEFAULT_QSCALE = 2
# JPEGs waiting to be written: bounds memory whatever the video's length.
QUEUE_FRAMES = 32


@dataclass
class Extracted:
    """One video's sequence: where its file is, how many frames, at what rate."""

    video: str
    sequence_ref: str
    frames: int
    frame_rate: float
    width: int
    height: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "video": self.video,
            "sequence": self.sequence_ref,
            "frames": self.frames,
            "frame-rate": self.frame_rate,
            "width": self.width,
            "height": self.height,
            "seconds": round(self.seconds, 3),
        }


def _join(folder: str, name: str) -> str:
    if folder.startswith("s3://"):
        return folder.rstrip("/") + "/" + name
    return os.path.join(folder, name)


def check_destination(dest: str, roots: AllowedRoots | None) -> str:
    """The destination folder (local, made absolute) or s3:// prefix, inside `roots` when
    given (what an API caller names); BadInput naming it otherwise."""
    if not isinstance(dest, str) or not dest.strip():
        raise BadInput("destination: give a folder or an s3:// prefix for the frames")
    if dest.startswith("s3://"):
        parse_s3_uri(dest.rstrip("/") + "/x")
        folder = dest.rstrip("/")
    else:
        path = local_path_of(dest)
        if path is None:
            raise BadInput(f"destination {dest!r}: not a folder or an s3:// prefix")
        folder = os.path.abspath(path)
    if roots is not None and not roots.allows(folder):
        raise BadInput(f"destination {dest!r} is outside the allowed roots and buckets")
    return folder


class _Writer:
    """Puts files under a local folder or an S3 prefix, from any thread."""

    def __init__(self, folder: str, endpoint_url: str | None):
        self.folder = folder
        self.endpoint_url = endpoint_url
        self._s3 = s3_client(endpoint_url) if folder.startswith("s3://") else None
        self._written: list[str] = []
        self._lock = threading.Lock()
        self._made_folder = False
        if self._s3 is None and not os.path.isdir(folder):
            os.makedirs(folder)
            self._made_folder = True

    def undo(self) -> None:
        """Remove what was written (a failed extraction leaves nothing behind)."""
        with self._lock:
            written, self._written = self._written, []
        self.remove(written, folder_too=self._made_folder)

    def remove(self, targets: list[str], *, folder_too: bool) -> None:
        for target in targets:
            try:
                if self._s3 is not None:
                    loc = parse_s3_uri(target)
                    self._s3.delete_object(Bucket=loc.bucket, Key=loc.key)
                else:
                    os.unlink(target)
            except Exception:  # noqa: BLE001, S110 - best effort: the failure is reported
                pass
        if folder_too and self._s3 is None:
            with suppress(OSError):
                os.rmdir(self.folder)

    def put(self, name: str, data: bytes, content_type: str) -> str:
        target = _join(self.folder, name)
        if self._s3 is not None:
            loc = parse_s3_uri(target)
            try:
                self._s3.put_object(
                    Bucket=loc.bucket, Key=loc.key, Body=data, ContentType=content_type
                )
            except Exception as exc:
                reason = s3_error_reason(exc)
                if reason is None:
                    raise
                raise BadInput(f"cannot write {target}: {reason}") from None
        else:
            tmp = target + ".partial"
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        with self._lock:
            self._written.append(target)
        return target


@contextmanager
def _local_copy(video: str, endpoint_url: str | None) -> Iterator[str]:
    """A local path of the video: itself, or an S3 object downloaded to a temporary file
    (FFmpeg seeks in its input; a download is simplest and as fast as it reads)."""
    path = local_path_of(video)
    if path is not None:
        real = os.path.realpath(path)
        if not os.path.isfile(real):
            raise NotFound(f"video {video}: no such file")
        yield real
        return
    loc = parse_s3_uri(video)
    suffix = os.path.splitext(loc.key)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        try:
            s3_client(endpoint_url).download_fileobj(loc.bucket, loc.key, tmp)
        except Exception as exc:
            reason = s3_error_reason(exc)
            if reason is None:
                raise
            kind = NotFound if reason == "it does not exist" else BadInput
            raise kind(f"video {video}: {reason}") from None
        tmp.flush()
        yield tmp.name


def _start_time(container: Any) -> float:
    """Seconds since 1970 of the recording's start, from the container's creation_time
    (cameras and phones write it); 0 when absent, so timestamps count from the start."""
    raw = (container.metadata or {}).get("creation_time")
    if not raw:
        return 0.0
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _jpeg_encoder(frame: Any, qscale: int) -> Any:
    """FFmpeg's JPEG encoder for frames like `frame`, at a fixed quantiser scale."""
    import av

    encoder = av.CodecContext.create("mjpeg", "w")
    encoder.width, encoder.height = frame.width, frame.height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = frame.time_base or Fraction(1, 1000)
    encoder.options = {"qmin": str(qscale), "qmax": str(qscale)}
    encoder.open()
    return encoder


def extract_video(
    video: str,
    dest: str,
    *,
    roots: AllowedRoots | None = None,
    endpoint_url: str | None = None,
    step: int = 1,
    qscale: int = DEFAULT_QSCALE,
    max_frames: int | None = None,
    threads: int | None = None,
    seq_no: int | str = 1,
    progress: Callable[[int], None] | None = None,
) -> Extracted:
    """Decode `video` (a local path or s3:// URI) and write its frames and sequence file
    into the folder or S3 prefix `dest`. With `roots`, the video and `dest` must lie
    inside them. Keeps every `step`-th frame, at most `max_frames`
    (`sequences.MAX_FRAMES` by default); `qscale` is FFmpeg's JPEG quantiser scale
    (`-q:v`, 2 best to 31 smallest). The sequence file is written last: a sequence file
    means its frames are all there."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise BadInput(f"step: {step!r} must be a whole number >= 1")
    if isinstance(qscale, bool) or not isinstance(qscale, int) or not 2 <= qscale <= 31:
        raise BadInput(f"qscale: {qscale!r} must be a JPEG quantiser scale from 2 (best) to 31")
    limit = sequences.MAX_FRAMES if max_frames is None else max_frames
    if roots is not None and not roots.allows(video):
        raise BadInput(f"video {video!r} is outside the allowed roots and buckets")
    folder = check_destination(dest, roots)
    writer = _Writer(folder, endpoint_url)
    options = _Options(step, qscale, limit, threads or max(2, os.cpu_count() or 2), seq_no)
    try:
        return _extract(video, writer, options, progress)
    except BaseException:
        writer.undo()
        raise


@dataclass(frozen=True)
class _Options:
    step: int
    qscale: int
    limit: int
    threads: int
    seq_no: int | str


def _extract(
    video: str, writer: _Writer, options: _Options, progress: Callable[[int], None] | None
) -> Extracted:
    """Decode (FFmpeg's threads), convert to full-range YUV and encode each kept frame
    with FFmpeg's JPEG encoder here (what `ffmpeg -i video frame_%06d.jpg` does: no RGB
    step, which costs more than the encoding), and write the JPEGs from a thread pool
    (files or S3 puts), at most QUEUE_FRAMES of them waiting."""
    import av

    started = time.perf_counter()
    frames: list[dict[str, Any]] = []
    with _local_copy(video, writer.endpoint_url) as local:
        try:
            container = av.open(local)
        except av.error.FFmpegError as exc:
            raise BadInput(f"video {video}: not a video FFmpeg reads ({exc})") from None
        with container:
            if not container.streams.video:
                raise BadInput(f"video {video}: holds no video stream")
            stream = container.streams.video[0]
            # FFmpeg's frame threads for codecs that have them (H.264, VP9...), slices else.
            stream.thread_type = "AUTO"
            stream.thread_count = options.threads
            rate_fraction = stream.average_rate or stream.guessed_rate or stream.base_rate
            rate = float(rate_fraction) if rate_fraction else sequences.DEFAULT_FRAME_RATE
            base = _start_time(container)
            first_pts: int | None = None
            encoder: Any = None
            width = height = 0
            pending: deque[Future[str]] = deque()
            with ThreadPoolExecutor(options.threads, thread_name_prefix="frames") as pool:
                try:
                    for decoded, frame in enumerate(container.decode(stream)):
                        if decoded % options.step:
                            continue
                        if len(frames) >= options.limit:
                            raise BadInput(
                                f"video {video}: more than {options.limit:,} frames; keep "
                                "every n-th (step) or split the video"
                            )
                        pts = frame.pts if frame.pts is not None else frame.dts
                        if first_pts is None:
                            first_pts = pts or 0
                        seconds = (
                            float((pts - first_pts) * frame.time_base)
                            if pts is not None and frame.time_base is not None
                            else decoded / rate
                        )
                        if encoder is None:
                            encoder = _jpeg_encoder(frame, options.qscale)
                            width, height = frame.width, frame.height
                        jpeg = b"".join(
                            bytes(p) for p in encoder.encode(frame.reformat(format="yuvj420p"))
                        )
                        index = len(frames)
                        name = FRAME_NAME.format(index)
                        while len(pending) >= QUEUE_FRAMES or (pending and pending[0].done()):
                            pending.popleft().result()  # a failed write stops it early
                        pending.append(pool.submit(writer.put, name, jpeg, "image/jpeg"))
                        frames.append(
                            {
                                "frame-no": index,
                                "frame": name,
                                "unix-timestamp": round(base + seconds, 6),
                            }
                        )
                        if progress and index % 100 == 0:
                            progress(index)
                except av.error.FFmpegError as exc:
                    raise BadInput(f"video {video}: cannot be decoded ({exc})") from None
                while pending:
                    pending.popleft().result()
    if not frames:
        raise BadInput(f"video {video}: no frame could be decoded")
    frame_rate = round(rate / options.step, 6)
    document = sequences.sequence_document(
        frames, prefix=_join(writer.folder, ""), seq_no=options.seq_no, frame_rate=frame_rate
    )
    sequence_ref = writer.put(SEQUENCE_FILE, orjson.dumps(document), "application/json")
    if progress:
        progress(len(frames))
    return Extracted(
        video=video,
        sequence_ref=sequence_ref,
        frames=len(frames),
        frame_rate=frame_rate,
        width=width,
        height=height,
        seconds=time.perf_counter() - started,
    )


# ---------------------------------------------------------------------------------------
# Many videos: a manifest of videos into a manifest of sequence files

# What Ground Truth's frame extraction and FFmpeg take (a browser plays mp4 and webm).
VIDEO_EXTENSIONS = frozenset(
    ("mp4", "m4v", "mov", "avi", "mkv", "webm", "mpg", "mpeg", "wmv", "flv", "3gp", "ogv")
)
SEQUENCES_MANIFEST = "sequences.manifest"
MAX_MANIFEST_BYTES = 64 << 20


def is_video_ref(ref: str) -> bool:
    name = ref.rstrip("/").rsplit("/", 1)[-1]
    return "." in name and name.rsplit(".", 1)[1].lower() in VIDEO_EXTENSIONS


def _folder_name(video: str, taken: set[str]) -> str:
    """A folder for the video's frames named after the file, unique among its neighbours."""
    stem = video.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] or "video"
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem).strip(".") or "video"
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}"
    taken.add(name)
    return name


def read_video_lines(
    source: str, *, roots: AllowedRoots | None = None, endpoint_url: str | None = None
) -> list[dict[str, Any]]:
    """The lines to extract: a video file is one line `{"source-ref": video}`; a manifest
    (JSON lines) gives its lines, each with a `source-ref` to a video (errors name the line)."""
    from truthset.media.storage import read_document

    if is_video_ref(source):
        return [{"source-ref": source}]
    data = read_document(
        source, "manifest", limit=MAX_MANIFEST_BYTES, roots=roots, endpoint_url=endpoint_url
    )
    lines: list[dict[str, Any]] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadInput(f"manifest {source}: line {number}: not JSON ({exc})") from None
        line = check_video_line(line, f"manifest {source}: line {number}")
        ref = line["source-ref"]
        if not ref.startswith("s3://") and not os.path.isabs(ref):
            base = source.rsplit("/", 1)[0] if "/" in source else "."
            line = {**line, "source-ref": _join(base, ref)}
        lines.append(line)
    if not lines:
        raise BadInput(f"manifest {source}: holds no lines")
    return lines


def extract_manifest(
    source: str,
    dest: str,
    *,
    roots: AllowedRoots | None = None,
    endpoint_url: str | None = None,
    step: int = 1,
    qscale: int = DEFAULT_QSCALE,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Each video of `source` (a video file, or a manifest of them) into
    `<dest>/<video name>/` (frames and `sequence.json`), then `<dest>/sequences.manifest`:
    one line per video, `{"source-ref": <its sequence file>, ...}` with the video line's
    other keys kept and `video-source` naming the video. Nothing is left behind when a
    video fails: the sequences already written are removed with it."""
    lines = read_video_lines(source, roots=roots, endpoint_url=endpoint_url)
    return extract_lines(
        lines,
        dest,
        roots=roots,
        endpoint_url=endpoint_url,
        step=step,
        qscale=qscale,
        threads=threads,
        progress=progress,
    )


def check_video_line(line: Any, where: str) -> dict[str, Any]:
    """A line to extract: an object whose `source-ref` is a video file."""
    ref = line.get("source-ref") if isinstance(line, dict) else None
    if not isinstance(ref, str) or not ref:
        raise BadInput(f"{where}: needs a source-ref to a video")
    if not is_video_ref(ref):
        raise BadInput(
            f"{where}: source-ref {ref!r} is not a video file"
            f" ({', '.join(sorted(VIDEO_EXTENSIONS))})"
        )
    return dict(line)


def extract_lines(
    lines: list[dict[str, Any]],
    dest: str,
    *,
    roots: AllowedRoots | None = None,
    endpoint_url: str | None = None,
    step: int = 1,
    qscale: int = DEFAULT_QSCALE,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """`extract_manifest` of lines already read (each `check_video_line`d)."""
    folder = check_destination(dest, roots)
    if not lines:
        raise BadInput("no videos to extract")
    made_folder = not folder.startswith("s3://") and not os.path.isdir(folder)
    for number, line in enumerate(lines, start=1):
        if roots is not None and not roots.allows(line["source-ref"]):
            raise BadInput(
                f"line {number}: video {line['source-ref']!r} is outside the allowed roots"
                " and buckets"
            )
    taken: set[str] = set()
    done: list[Extracted] = []
    out_lines: list[bytes] = []
    written_frames = 0
    try:
        for seq_no, line in enumerate(lines, start=1):
            video = line["source-ref"]
            target = _join(folder, _folder_name(video, taken))
            base_count = written_frames

            def report(n: int, base: int = base_count) -> None:
                if progress:
                    progress(base + n)

            extracted = extract_video(
                video,
                target,
                roots=roots,
                endpoint_url=endpoint_url,
                step=step,
                qscale=qscale,
                threads=threads,
                seq_no=seq_no,
                progress=report,
            )
            done.append(extracted)
            written_frames += extracted.frames
            kept = {k: v for k, v in line.items() if k != "source-ref"}
            out_lines.append(
                orjson.dumps({"source-ref": extracted.sequence_ref, **kept, "video-source": video})
            )
        manifest = _Writer(folder, endpoint_url).put(
            SEQUENCES_MANIFEST, b"\n".join(out_lines) + b"\n", "application/x-ndjson"
        )
    except BaseException:
        for extracted in done:
            _remove_sequence(extracted, endpoint_url)
        if made_folder:
            with suppress(OSError):
                os.rmdir(folder)  # made here, and empty again
        raise
    return {
        "manifest": manifest,
        "videos": len(done),
        "frames": written_frames,
        "sequences": [e.as_dict() for e in done],
    }


def remove_sequences(result: dict[str, Any], *, endpoint_url: str | None = None) -> None:
    """Undo `extract_manifest` / `extract_lines`: every sequence and the manifest (what
    an import that failed after the extraction leaves)."""
    for entry in result["sequences"]:
        done = Extracted(
            video=entry["video"],
            sequence_ref=entry["sequence"],
            frames=entry["frames"],
            frame_rate=entry["frame-rate"],
            width=entry["width"],
            height=entry["height"],
            seconds=entry["seconds"],
        )
        _remove_sequence(done, endpoint_url)
    manifest = result["manifest"]
    _Writer(manifest.rsplit("/", 1)[0], endpoint_url).remove([manifest], folder_too=False)


def _remove_sequence(extracted: Extracted, endpoint_url: str | None) -> None:
    """Remove a sequence already written (its frames, its sequence file, its folder)."""
    folder = extracted.sequence_ref.rsplit("/", 1)[0]
    names = [FRAME_NAME.format(i) for i in range(extracted.frames)] + [SEQUENCE_FILE]
    _Writer(folder, endpoint_url).remove([_join(folder, n) for n in names], folder_too=True)
