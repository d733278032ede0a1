"""Reading a template file: a local path or an s3:// URI (beside
`truthset.datasets.sources.read_json_document`, for text)."""

from __future__ import annotations

from pathlib import Path

from truthset.errors import BadInput
from truthset.media.storage import AllowedRoots, open_ref, parse_s3_uri, s3_client
from truthset.templates.rendering import MAX_TEMPLATE


def read_text_document(
    ref: str, what: str, *, roots: AllowedRoots | None = None, endpoint_url: str | None = None
) -> str:
    """UTF-8 text from a local path or an s3:// URI. With `roots` the location must be
    inside them (what an API caller names); without, any the process can read (what an
    operator names on the command line)."""
    try:
        if roots is not None:
            with open_ref(ref, roots, endpoint_url=endpoint_url) as fh:
                data = fh.read(MAX_TEMPLATE * 4 + 1)
        elif ref.startswith("s3://"):
            loc = parse_s3_uri(ref)
            body = s3_client(endpoint_url).get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
            data = body.read(MAX_TEMPLATE * 4 + 1)
        else:
            data = Path(ref).read_bytes()
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read is the user's to fix
        raise BadInput(f"{what} {ref!r} cannot be read ({exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{what} {ref!r} is not UTF-8 text ({exc})") from None
