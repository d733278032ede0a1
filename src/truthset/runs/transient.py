"""Which failures of a run are an outage rather than the run's own fault: S3 or the
database could not be reached (or S3 answered that it is unavailable). Such a run is
queued again after a delay, up to the run attempts' limit, instead of failing: its kind
is resumable, so its effects were transactional or written to a temporary name first."""

from __future__ import annotations

import os

from truthset.errors import BadInput, Unavailable

# S3's answers that say "not now" rather than "no".
_S3_UNAVAILABLE_CODES = {
    "500",
    "502",
    "503",
    "504",
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
}
DEFAULT_RETRY_DELAY = 5.0


def is_outage(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, says S3 or the database
    cannot be reached now."""
    from botocore import exceptions as boto
    from sqlalchemy.exc import OperationalError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, Unavailable):
            return True
        if isinstance(current, boto.ConnectionError | boto.HTTPClientError):
            return True
        if isinstance(current, boto.ClientError):
            code = str((current.response.get("Error") or {}).get("Code") or "")
            status = str(current.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if code in _S3_UNAVAILABLE_CODES or status in _S3_UNAVAILABLE_CODES:
                return True
        if isinstance(current, OperationalError) and type(current.orig).__module__.startswith(
            "psycopg"
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def retry_delay(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: the base (TRUTHSET_RUN_RETRY_DELAY, 5 s)
    times 4 for each attempt after the first."""
    raw = os.environ.get("TRUTHSET_RUN_RETRY_DELAY")
    try:
        base = float(raw) if raw else DEFAULT_RETRY_DELAY
    except ValueError:
        raise BadInput(f"TRUTHSET_RUN_RETRY_DELAY must be seconds, got {raw!r}") from None
    return max(base, 0.0) * 4.0 ** max(attempts - 1, 0)
