"""The FastAPI application: routers, error rendering, the embedded run executor."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from truthset import __version__
from truthset.errors import AppError
from truthset.runs.executor import EmbeddedExecutor
from truthset.workspace import Workspace

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
}


def _error(status: int, kind: str, detail: Any) -> JSONResponse:
    return JSONResponse({"error": kind, "detail": detail}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_request: Request, exc: AppError) -> JSONResponse:
        return _error(exc.status_code, exc.kind, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "validation_error", validation_problems(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, _STATUS_KINDS.get(exc.status_code, "error"), exc.detail)

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _error(500, "internal_error", "an unexpected error occurred; see the server log")


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


def create_app(workspace: Workspace, *, run_executor: bool = True) -> FastAPI:
    executor = EmbeddedExecutor(workspace.db, workspace.settings) if run_executor else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if executor is not None:
            executor.start()
        try:
            yield
        finally:
            if executor is not None:
                executor.stop()

    app = FastAPI(
        title="truthset",
        version=__version__,
        description="Self-hosted data labeling: datasets, labeling jobs, workers, labels.",
        lifespan=lifespan,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.workspace = workspace
    app.state.user_names = {}
    install_error_handlers(app)
    from truthset.work.hot_routes import HotWorkRoutes

    app.add_middleware(HotWorkRoutes)

    from truthset.api import meta_router
    from truthset.autolabel import router as autolabel_router
    from truthset.datasets import router as datasets_router
    from truthset.jobs import router as jobs_router
    from truthset.media import router as media_router
    from truthset.quality import router as quality_router
    from truthset.runs import router as runs_router
    from truthset.work import router as work_router
    from truthset.workforce import router as workforce_router

    for module in (
        meta_router,
        workforce_router,
        datasets_router,
        jobs_router,
        work_router,
        runs_router,
        media_router,
        quality_router,
        autolabel_router,
    ):
        app.include_router(module.router, prefix="/api")
    try:
        from truthset.web import pages

        pages.mount(app)
    except ImportError:  # the web UI is optional for API-only deployments and tests
        pass
    return app
