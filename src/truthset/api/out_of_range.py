"""Numbers the database cannot store answered as a 400 that names them, not a 500.

Ids, offsets and limits are typed `int` in the routes, and Python's ints have no upper
bound: 2**63 passes validation and then fails in the driver (SQLite's OverflowError,
PostgreSQL's "bigint out of range"). One handler here covers every route, path and query
alike, instead of a bound repeated on each parameter."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError

INT64_MAX = 2**63 - 1


def _out_of_range_detail(request: Request) -> str:
    named = [("path parameter", k, v) for k, v in request.path_params.items()]
    named += [("query parameter", k, v) for k, v in request.query_params.multi_items()]
    for where, key, value in named:
        text = str(value).strip()
        digits = text.lstrip("+-")
        if digits.isdigit() and abs(int(text)) > INT64_MAX:
            return f"{where} {key!r} = {text}: out of range (at most {INT64_MAX})"
    return f"a number in the request is out of range (at most {INT64_MAX})"


def _is_numeric_range(exc: DataError) -> bool:
    return type(exc.orig).__name__ == "NumericValueOutOfRange"


def install_out_of_range_handlers(app: FastAPI) -> None:
    # Handlers are found by the exception's class: DataError is more specific than the
    # DBAPIError handler in truthset.api.errors, which keeps every other DataError.
    fallback = app.exception_handlers[DBAPIError]  # installed first, by install_error_handlers

    @app.exception_handler(OverflowError)
    async def overflow(request: Request, _exc: OverflowError) -> JSONResponse:
        return JSONResponse(
            {"error": "bad_request", "detail": _out_of_range_detail(request)}, status_code=400
        )

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSONResponse:
        if _is_numeric_range(exc):
            return await overflow(request, OverflowError())
        return await fallback(request, exc)  # type: ignore[misc]
