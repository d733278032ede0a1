"""Exports of audio-segment jobs (`audio-segmentation`, `audio-segment-transcription`) in the
formats speech and sound-event tools read. Each is written from the labels as they stream
(`exports.labels.labeled_items`), so memory stays flat on any job size.

- **RTTM** (`rttm`, diarization): one `SPEAKER <file> 1 <onset> <duration> <NA> <NA>
  <label> <NA> <NA>` line per segment, times in seconds with milliseconds, the file the
  item id (RTTM fields are separated by spaces, so spaces in ids and labels become `_`).
- **WebVTT** (`webvtt`, transcripts): a zip with `<item id>.vtt` per item, a cue per
  segment whose payload is the text in a voice span, `<v label>text`, and `files.txt`
  mapping each file to the item's `source-ref`.
- **SRT** (`srt`, transcripts): the same zip with `<item id>.srt` files; SRT has no
  speakers, so a cue's text is `label: text`.
- **Events CSV** (`events-csv`, sound events): `file,start,end,label`, a row per segment,
  the file the item's `source-ref` (else its id).

An export of a job without a consolidated label yet is refused before any run starts.
Segments are written in time order. In a cue, lines of text stay lines (empty ones are
dropped: an empty line ends a cue), `-->` becomes `->`, and WebVTT's `&`, `<`, `>` are
escaped.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from truthset.exports.formats import Exporter
from truthset.exports.labels import LabeledItem, file_name, labeled_items, write_pieces
from truthset.exports.mask_labels import nothing_to_write
from truthset.store.models import Job

SEGMENT_TYPES = ("audio-segmentation", "audio-segment-transcription")
TRANSCRIPT_TYPES = ("audio-segment-transcription",)
# Files put in a zip before the bytes written so far are handed on.
_FLUSH_EVERY = 256


def _segments(item: LabeledItem) -> list[dict[str, Any]]:
    value = item.value if isinstance(item.value, dict) else {}
    segments = [s for s in value.get("segments") or [] if isinstance(s, dict)]
    return sorted(segments, key=lambda s: (float(s["start"]), float(s["end"])))


def _token(value: str) -> str:
    """A value as one space-free RTTM field."""
    return "_".join(str(value).split()) or "_"


def _seconds(value: Any) -> str:
    return f"{float(value):.3f}"


def rttm_lines(item_id: str, segments: list[dict[str, Any]]) -> str:
    file_id = _token(item_id)
    return "".join(
        f"SPEAKER {file_id} 1 {_seconds(s['start'])} "
        f"{_seconds(float(s['end']) - float(s['start']))} <NA> <NA> {_token(s['label'])} "
        "<NA> <NA>\n"
        for s in segments
    )


def _clock(seconds: Any, separator: str) -> str:
    ms = round(float(seconds) * 1000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _cue_lines(text: str) -> list[str]:
    lines = [" ".join(line.split()) for line in str(text).splitlines()]
    return [line.replace("-->", "->") for line in lines if line]


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webvtt_file(segments: list[dict[str, Any]]) -> str:
    cues = []
    for s in segments:
        # A voice span's annotation ends at ">": keep the label's own brackets out of it.
        voice = " ".join(_vtt_escape(str(s["label"])).split())
        lines = _cue_lines(s.get("text", "")) or [""]
        body = "\n".join(
            [f"<v {voice}>{_vtt_escape(lines[0])}"] + [_vtt_escape(x) for x in lines[1:]]
        )
        cues.append(f"{_clock(s['start'], '.')} --> {_clock(s['end'], '.')}\n{body}\n")
    return "WEBVTT\n\n" + "\n".join(cues)


def srt_file(segments: list[dict[str, Any]]) -> str:
    cues = []
    for n, s in enumerate(segments, 1):
        lines = _cue_lines(s.get("text", ""))
        label = " ".join(str(s["label"]).split())
        body = "\n".join([f"{label}: {lines[0]}" if lines else f"{label}:"] + lines[1:])
        cues.append(f"{n}\n{_clock(s['start'], ',')} --> {_clock(s['end'], ',')}\n{body}\n")
    return "\n".join(cues)


def export_rttm(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    **_: Any,
) -> int:
    """RTTM lines of every labeled item; returns how many items."""
    pieces = (
        rttm_lines(item.external_id, _segments(item)).encode()
        for item in labeled_items(session, job)
    )
    return write_pieces(write, pieces, progress)


def export_events_csv(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    **_: Any,
) -> int:
    """A `file,start,end,label` row per segment; returns how many items."""
    count = 0

    def pieces() -> Iterator[bytes]:
        nonlocal count
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["file", "start", "end", "label"])
        for item in labeled_items(session, job):
            ref = item.data.get("source-ref")
            name = ref if isinstance(ref, str) else item.external_id
            for s in _segments(item):
                writer.writerow([name, _seconds(s["start"]), _seconds(s["end"]), s["label"]])
            count += 1
            yield buf.getvalue().encode()  # the header comes with the first item's rows
            buf.seek(0)
            buf.truncate()
        if count == 0:
            yield buf.getvalue().encode()

    write_pieces(write, pieces(), progress and (lambda _pieces: progress(count)))
    return count


class _Sink:
    """A write-only file for zipfile whose bytes are taken out as they come."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _zip_of_files(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    suffix: str,
    render: Callable[[list[dict[str, Any]]], str],
    progress: Callable[[int], None] | None,
) -> int:
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        sink = _Sink()
        sources: list[str] = []
        used: set[str] = set()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for item in labeled_items(session, job):
                name = _unique(file_name(item.external_id), used) + suffix
                archive.writestr(name, render(_segments(item)))
                sources.append(f"{name}\t{item.data.get('source-ref', '')}")
                count += 1
                if count % _FLUSH_EVERY == 0:
                    yield sink.take()
                    if progress:
                        progress(count)
            archive.writestr("files.txt", "\n".join(sources) + ("\n" if sources else ""))
        yield sink.take()
        if progress:
            progress(count)

    write(chunks())
    return count


def _unique(name: str, used: set[str]) -> str:
    """Item ids that differ only in characters a file name cannot hold stay apart."""
    out, n = name, 1
    while out in used:
        n += 1
        out = f"{name}-{n}"
    used.add(out)
    return out


def export_webvtt(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    **_: Any,
) -> int:
    """A zip of one WebVTT file per labeled item; returns how many items."""
    return _zip_of_files(session, job, write, ".vtt", webvtt_file, progress)


def export_srt(
    session: Session,
    job: Job,
    write: Callable[[Iterator[bytes]], None],
    *,
    progress: Callable[[int], None] | None = None,
    **_: Any,
) -> int:
    """A zip of one SRT file per labeled item; returns how many items."""
    return _zip_of_files(session, job, write, ".srt", srt_file, progress)


RTTM = Exporter(
    "rttm",
    ".rttm",
    "RTTM speaker turns, one line per segment (audio segment jobs)",
    export_rttm,
    SEGMENT_TYPES,
    missing=lambda session, job: nothing_to_write(session, job, "RTTM"),
)
EVENTS_CSV = Exporter(
    "events-csv",
    ".csv",
    "CSV of events: file, start, end, label (audio segment jobs)",
    export_events_csv,
    SEGMENT_TYPES,
    missing=lambda session, job: nothing_to_write(session, job, "an events CSV"),
)
WEBVTT = Exporter(
    "webvtt",
    ".zip",
    "WebVTT subtitles per item, the speaker as a voice span, zipped (segment transcripts)",
    export_webvtt,
    TRANSCRIPT_TYPES,
    missing=lambda session, job: nothing_to_write(session, job, "WebVTT"),
)
SRT = Exporter(
    "srt",
    ".zip",
    "SRT subtitles per item, 'speaker: text', zipped (segment transcripts)",
    export_srt,
    TRANSCRIPT_TYPES,
    missing=lambda session, job: nothing_to_write(session, job, "SRT"),
)
