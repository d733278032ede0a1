"""Whether a task type can work on a dataset's items, checked when a job is created.

A task type declares what its items hold (`TaskType.media`): ``"text"`` (inline
``source``, which the tool shows and text spans index into), ``"image"`` or ``"audio"``
(a ``source-ref`` to the file). A job whose items are something else cannot be worked
(a text-span job over PDFs, boxes on a video frame sequence file), so it is refused with
the first offending item named and what it is.

What is read stays bounded on a dataset of millions of items: `SAMPLE` items spread over
the whole dataset (the first in content-hash order, which does not follow import order)
are checked one by one, the file kind of a ``source-ref`` by its extension; a dataset of
at most `FULL_CHECK` items also has every item checked for the key its media needs, by one
count in SQL (a text match on the stored JSON: it can miss a lacking key, never invent
one). Both cost milliseconds; reading every item of a million-item dataset costs seconds.
A ref without an extension, or with one not listed here, is allowed: S3 keys often have
none. Task types of other media (plugins) are not checked.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from truthset.errors import BadInput
from truthset.store.models import Dataset, Item
from truthset.tasktypes import TaskType

SAMPLE = 200
# Datasets up to this many items have every item checked for the key its media needs.
FULL_CHECK = 20_000


def _exts(words: str) -> frozenset[str]:
    return frozenset(words.split())


# File kinds by extension, and how a message names them.
_KINDS: dict[str, tuple[str, frozenset[str]]] = {
    "image": (
        "an image",
        _exts("jpg jpeg jpe jfif png gif bmp webp tif tiff heic heif avif ppm pgm pbm"),
    ),
    "audio": (
        "an audio file",
        _exts("wav wave mp3 flac ogg oga opus m4a aac wma aif aiff aifc amr"),
    ),
    "video": ("a video", _exts("mp4 m4v mov avi mkv webm mpg mpeg wmv flv 3gp ogv ts")),
    "document": (
        "a document",
        _exts("pdf doc docx odt rtf txt md html htm xml csv tsv xls xlsx ppt pptx"),
    ),
    "sequence": (
        # Ground Truth's video frame and 3D point cloud jobs take JSON sequence files.
        "a JSON file (Ground Truth's video frame and point cloud sequence files are .json)",
        _exts("json jsonl ndjson manifest"),
    ),
    "point cloud": ("a point cloud", _exts("pcd ply las laz")),
    "archive": ("an archive", _exts("zip tar gz tgz bz2 xz 7z rar")),
}
# The file kinds each media takes. An audio element plays the audio of .mp4 and .webm.
_TAKES = {
    "image": {"image"},
    "audio": {"audio"},
    "video": {"video"},
    "video-frames": {"sequence"},
    # Ground Truth's .bin frames have no kind here; a sequence file is JSON.
    "point-cloud": {"point cloud", "sequence"},
}
_AUDIO_IN_VIDEO = frozenset({"mp4", "m4v", "webm", "ogv"})
_NEEDS_KEY = {
    "text": "source",
    "image": "source-ref",
    "audio": "source-ref",
    "video": "source-ref",
    "video-frames": "source-ref",
    "point-cloud": "source-ref",
}
_WHAT = {
    "text": "inline text (source)",
    "image": "images",
    "audio": "audio files",
    "video": "video files",
    "video-frames": "frame sequence files (.json)",
    "point-cloud": "point cloud frames (.bin, .txt, .pcd, .las) or their sequence files (.json)",
}


def check_task_type_fits(session: Session, task_type: TaskType, dataset_id: int | None) -> None:
    """Refuse (BadInput) a job of `task_type` over dataset `dataset_id` when its items are
    not what the task type works on; see the module doc."""
    media = getattr(task_type, "media", None)
    if dataset_id is None or media not in _NEEDS_KEY:
        return
    sample = [
        (position, ext, item_misfit(media, orjson.loads(data)))
        for position, ext, data in _sample(session, dataset_id)
    ]
    misfits = sorted((pos, ext, problem) for pos, ext, problem in sample if problem is not None)
    if misfits:
        _, external_id, problem = misfits[0]  # the first in import order
        note = f"{len(misfits)} of the {len(sample)} items checked do not fit"
        _refuse(session, task_type, dataset_id, media, external_id, problem, note)
    key = _NEEDS_KEY[media]
    total = _count_items_up_to(session, dataset_id, FULL_CHECK + 1)
    lacking = _count_lacking_key(session, dataset_id, key) if total <= FULL_CHECK else 0
    if lacking:
        external_id, data = _first_lacking_key(session, dataset_id, key)
        problem = item_misfit(media, orjson.loads(data)) or f"has no {key}"
        note = f"{lacking} of its {total} items have no {key}"
        _refuse(session, task_type, dataset_id, media, external_id, problem, note)


def item_misfit(media: str, item: dict[str, Any]) -> str | None:
    """What is wrong with `item` for a task type of `media` (None when it fits)."""
    ref = item.get("source-ref")
    if media == "text":
        if isinstance(item.get("source"), str):
            return None
        if isinstance(ref, str):
            kind = file_kind(ref)
            what = f"{_KINDS[kind][0]} " if kind else ""
            return f"has no inline text (source), only a source-ref to {what}{_shown(ref)}"
        return "has no inline text (source)"
    if not isinstance(ref, str):
        if isinstance(item.get("source"), str):
            return "has inline text (source) and no source-ref"
        return "has no source-ref"
    kind = file_kind(ref)
    if kind is None or kind in _TAKES[media]:
        return None
    if media == "audio" and _extension(ref) in _AUDIO_IN_VIDEO:
        return None
    if media == "point-cloud" and _extension(ref) == "txt":  # Ground Truth's text/xyzi frames
        return None
    return f"is {_KINDS[kind][0]} ({_shown(ref)})"


def file_kind(ref: str) -> str | None:
    """The kind of file a ref names by its extension; None for none or an unknown one."""
    ext = _extension(ref)
    for kind, (_, extensions) in _KINDS.items():
        if ext in extensions:
            return kind
    return None


def _extension(ref: str) -> str:
    path = ref.split("://", 1)[-1]
    if ref.startswith(("http://", "https://")):
        path = path.split("?", 1)[0].split("#", 1)[0]
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[1].lower() if "." in name.lstrip(".") else ""


def _shown(ref: str) -> str:
    return ref if len(ref) <= 200 else f"{ref[:100]}...{ref[-60:]}"


def _refuse(
    session: Session,
    task_type: TaskType,
    dataset_id: int,
    media: str,
    external_id: str,
    problem: str,
    note: str,
) -> None:
    dataset = session.get(Dataset, dataset_id)
    name = dataset.name if dataset is not None else str(dataset_id)
    raise BadInput(
        f"{task_type.name} jobs work on {_WHAT[media]}: item {external_id!r} of dataset "
        f"{name!r} {problem} ({note})"
    )


# -- the queries ----------------------------------------------------------------------------


def _sample(session: Session, dataset_id: int) -> list[Any]:
    """(position, external id, data) of `SAMPLE` items spread over the whole dataset: the first in
    the order of their content hash, which does not follow import order, read from the
    (dataset, hash) unique index, so the cost is the same at any size."""
    return list(
        session.execute(
            select(Item.position, Item.external_id, Item.data)
            .where(Item.dataset_id == dataset_id)
            .order_by(Item.content_hash)
            .limit(SAMPLE)
        ).all()
    )


def _lacks(key: str) -> Any:
    # The stored JSON text never holds `"<key>"` when the object lacks the key; a value
    # equal to the key's name only hides a lacking key (the sample still sees it).
    return Item.data.not_like(f'%"{key}"%')


def _count_lacking_key(session: Session, dataset_id: int, key: str) -> int:
    return int(
        session.scalar(select(func.count()).where(Item.dataset_id == dataset_id, _lacks(key))) or 0
    )


def _first_lacking_key(session: Session, dataset_id: int, key: str) -> Any:
    return session.execute(
        select(Item.external_id, Item.data)
        .where(Item.dataset_id == dataset_id, _lacks(key))
        .order_by(Item.position)
        .limit(1)
    ).one()


def _count_items_up_to(session: Session, dataset_id: int, limit: int) -> int:
    """The number of the dataset's items, counted up to `limit` (an index range scan)."""
    capped = select(Item.id).where(Item.dataset_id == dataset_id).limit(limit).subquery()
    return int(session.scalar(select(func.count()).select_from(capped)) or 0)
