"""Reading a template file: a local path or an s3:// URI (beside
`truthset.datasets.sources.read_json_document`, for text)."""

from __future__ import annotations

from truthset.errors import BadInput
from truthset.media.storage import AllowedRoots, read_document
from truthset.templates.rendering import MAX_TEMPLATE


def read_text_document(
    ref: str, what: str, *, roots: AllowedRoots | None = None, endpoint_url: str | None = None
) -> str:
    """UTF-8 text from a local path or an s3:// URI (`truthset.media.storage.read_document`
    says where it may be)."""
    data = read_document(ref, what, limit=MAX_TEMPLATE * 4, roots=roots, endpoint_url=endpoint_url)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{what} {ref!r} is not UTF-8 text ({exc})") from None
