"""The FastAPI application: routers, error rendering, the embedded run executor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from truthset import __version__
from truthset.api.body_limit import BodyLimit
from truthset.api.errors import install_error_handlers
from truthset.api.nul_guard import NulGuard
from truthset.api.out_of_range import install_out_of_range_handlers
from truthset.runs.executor import EmbeddedExecutor
from truthset.workspace import Workspace


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
        docs_url=None,  # /api/docs is web.pages' (Swagger UI from the package, not a CDN)
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.workspace = workspace
    app.state.user_names = {}
    install_error_handlers(app)
    install_out_of_range_handlers(app)
    # Routers are imported here, not at the top: the command line imports this module for
    # `serve` and every other command should not wait for scikit-learn and friends.
    from truthset.work.hot_routes import HotWorkRoutes

    app.add_middleware(HotWorkRoutes)
    from truthset.sagemaker.router import SageMakerRoutes

    app.add_middleware(SageMakerRoutes)  # POST / with X-Amz-Target: SageMaker.* only
    app.add_middleware(NulGuard)  # reads JSON bodies the two above read
    app.add_middleware(BodyLimit)  # caps the bodies the two above read too
    from truthset.workforce.ip_guard import SourceIpGuard

    app.add_middleware(SourceIpGuard)  # workers' source-IP allow-lists, hot routes included
    from truthset.audit.middleware import AuditTrail

    app.add_middleware(AuditTrail)  # outermost: every request's address, the audit trail

    from truthset.audit import router as audit_router
    from truthset.autolabel import onnx_router
    from truthset.autolabel import router as autolabel_router
    from truthset.datasets import router as datasets_router
    from truthset.datasets import upload_router
    from truthset.exports import mask_router
    from truthset.exports import router as exports_router
    from truthset.hooks import router as hooks_router
    from truthset.jobs import router as jobs_router
    from truthset.media import assist_router, pointcloud_router, track_router, video_router
    from truthset.media import router as media_router
    from truthset.quality import router as quality_router
    from truthset.runs import router as runs_router
    from truthset.server import meta_router
    from truthset.templates import router as templates_router
    from truthset.work import drafts_router
    from truthset.work import router as work_router
    from truthset.workforce import router as workforce_router

    for module in (
        meta_router,
        workforce_router,
        datasets_router,
        upload_router,
        jobs_router,
        exports_router,
        mask_router,
        work_router,
        drafts_router,
        runs_router,
        media_router,
        video_router,
        track_router,
        pointcloud_router,
        assist_router,
        quality_router,
        autolabel_router,
        onnx_router,
        hooks_router,
        templates_router,
        audit_router,
    ):
        app.include_router(module.router, prefix="/api")
    try:
        from truthset.web import pages

        pages.mount(app)
    except ImportError:  # the web UI is optional for API-only deployments and tests
        pass
    return app
