"""Rendering errors as the API answers them: `{"error": <kind>, "detail": ...}` with the
error's status code, for the app's own errors, payload validation, HTTP errors and
anything unexpected (a 500 that names no internals)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from truthset.errors import AppError, Unavailable

log = logging.getLogger("truthset.api")

_STATUS_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


def database_unavailable(exc: BaseException) -> Unavailable | None:
    """The error to answer when `exc` says the database cannot be reached (a PostgreSQL
    restart, a lost connection), else None. SQLite's own OperationalErrors ("no such
    table") are bugs, not outages, and stay 500s."""
    if not isinstance(exc, DBAPIError):
        return None
    lost = exc.connection_invalidated or (
        isinstance(exc, OperationalError) and type(exc.orig).__module__.startswith("psycopg")
    )
    if not lost:
        return None
    return Unavailable("the database cannot be reached right now; try again shortly")


def _error(status: int, kind: str, detail: Any) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail}, status_code=status)


# The error model every operation answers with, as the OpenAPI document states it.
ERROR_BODY: dict[str, Any] = {
    "title": "ErrorBody",
    "type": "object",
    "description": "An error: its kind (bad_input, not_found, ...) and what went wrong.",
    "properties": {
        "error": {"type": "string", "description": "the kind of error"},
        "detail": {"description": "a message, or an object / list naming what was wrong"},
    },
    "required": ["error", "detail"],
    "additionalProperties": False,
}
VALIDATION_ERROR_BODY: dict[str, Any] = {
    "title": "ValidationErrorBody",
    "type": "object",
    "description": "The request did not match the operation's parameters or body.",
    "properties": {
        "error": {"type": "string", "enum": ["validation_error"]},
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "value": {},
                },
                "required": ["field", "message"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["error", "detail"],
    "additionalProperties": False,
}


def _json_body(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def document_error_model(doc: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the error model on every operation: a 422 is a
    ValidationErrorBody (FastAPI documents its own HTTPValidationError, which these
    handlers never send), every other 4xx and 5xx an ErrorBody, documented or not
    (`4XX` / `5XX`)."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ERROR_BODY
    schemas["ValidationErrorBody"] = VALIDATION_ERROR_BODY
    for schema in ("HTTPValidationError", "ValidationError"):
        schemas.pop(schema, None)
    for item in doc.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options"):
                continue
            responses = operation.setdefault("responses", {})
            for code, response in list(responses.items()):
                if code == "422":
                    responses[code] = _json_body(
                        "ValidationErrorBody", "the request's parameters or body are invalid"
                    )
                elif code[:1] in ("4", "5"):
                    responses[code] = _json_body(
                        "ErrorBody", response.get("description") or "an error"
                    )
            responses.setdefault("4XX", _json_body("ErrorBody", "a refused request"))
            responses.setdefault("5XX", _json_body("ErrorBody", "the server cannot answer now"))
    return doc


def _install_error_model(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_error_model(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    _install_error_model(app)

    @app.exception_handler(AppError)
    async def app_error(_request: Request, exc: AppError) -> JSONResponse:
        return _error(exc.status_code, exc.kind, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "validation_error", validation_problems(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = _error(exc.status_code, _STATUS_KINDS.get(exc.status_code, "error"), exc.detail)
        response.headers.update(exc.headers or {})  # a 405's Allow, a 401's WWW-Authenticate
        return response

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _error(500, "internal_error", "an unexpected error occurred; see the server log")

    # Its own handler (not a branch of the one above): Starlette re-raises whatever reaches
    # the catch-all, and an outage is an answer, not a crash.
    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        outage = database_unavailable(exc)
        if outage is None:
            return await internal_error(request, exc)
        log.warning("database unreachable: %s", exc)
        return _error(outage.status_code, outage.kind, outage.detail)


def validation_problems(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's errors as the API reports them: field, message and a short value."""
    return [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            "message": err.get("msg", ""),
            **({"value": err["input"]} if "input" in err and _small(err["input"]) else {}),
        }
        for err in errors
    ]


def _small(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and len(str(value)) <= 200
