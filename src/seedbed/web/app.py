"""create_app(workspace): the FastAPI application serving /ui, /api/v1, MLflow's API and /health."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from seedbed import __version__
from seedbed.apps.feedback_routes import router as feedback_router
from seedbed.apps.hosted import HostedApps
from seedbed.apps.hosted_routes import router as hosted_router
from seedbed.apps.package_routes import router as package_router
from seedbed.apps.predict_routes import router as predict_router
from seedbed.apps.routes import router as apps_router
from seedbed.apps.share_routes import router as share_router
from seedbed.auth.audit_routes import router as audit_router
from seedbed.auth.login import LoginThrottle
from seedbed.auth.pages import router as auth_pages
from seedbed.auth.routes import router as auth_router
from seedbed.auth.signing import session_secret
from seedbed.compute.executor import make_executor
from seedbed.compute.jobs import JobService
from seedbed.compute.pages import router as compute_pages
from seedbed.compute.routes import router as compute_router
from seedbed.data.dataset_routes import router as dataset_router
from seedbed.data.dataset_sql import DatasetTables
from seedbed.data.pages import router as data_pages
from seedbed.data.routes import router as data_router
from seedbed.data.source_routes import router as source_router
from seedbed.data.sources import SourceAttachments
from seedbed.data.sql import QueryRunner
from seedbed.evaluation.pages import router as evaluation_pages
from seedbed.evaluation.routes import router as evaluation_router
from seedbed.features.online_routes import router as online_features_router
from seedbed.features.pages import router as features_pages
from seedbed.features.routes import router as features_router
from seedbed.notebooks.jupyter import JupyterService
from seedbed.notebooks.notebook_routes import router as notebooks_router
from seedbed.notebooks.pages import router as notebooks_pages
from seedbed.notebooks.routes import router as environments_router
from seedbed.privacy.pages import router as privacy_pages
from seedbed.privacy.routes import router as privacy_router
from seedbed.registry.loading import ModelLoader
from seedbed.registry.routes import router as registry_router
from seedbed.tracking.mlflow_api import include_mlflow_routes
from seedbed.tracking.pages import router as tracking_pages
from seedbed.tracking.routes import router as tracking_router
from seedbed.tracking.run_page import router as run_page
from seedbed.web import errors, pages
from seedbed.web.body_limit import BodyLimitMiddleware
from seedbed.web.security import AuthMiddleware
from seedbed.web.templating import make_templates
from seedbed.workspace import Workspace

STATIC = Path(__file__).parent / "static"


def allowed_hosts(workspace: Workspace) -> list[str]:
    settings = workspace.settings
    hosts = {"127.0.0.1", "localhost", "::1", "[::1]", *settings.allowed_hosts}
    if settings.host not in ("0.0.0.0", "::"):
        hosts.add(settings.host)
    if settings.public_url:
        from urllib.parse import urlsplit

        hostname = urlsplit(settings.public_url).hostname
        if hostname:
            hosts.add(hostname)
    return sorted(hosts)


def create_app(workspace: Workspace, server_url: str = "http://127.0.0.1") -> FastAPI:
    """The whole web application for one workspace. No module-level state.

    `server_url` is where jobs reach the server (they get it as SEEDBED_URL).
    """
    app = FastAPI(
        title="seedbed",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; seedbed serves nothing remote
        redoc_url=None,
    )
    app.state.workspace = workspace
    app.state.templates = make_templates()
    app.state.model_loader = ModelLoader(workspace)
    app.state.login_throttle = LoginThrottle()
    app.state.jobs = JobService(workspace, make_executor(workspace), server_url)
    app.state.jupyter = JupyterService(workspace, server_url)
    app.state.hosted_apps = HostedApps(workspace, server_url)
    app.state.query_runner = QueryRunner(
        workspace.warehouse, SourceAttachments(workspace), DatasetTables(workspace)
    )
    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Routers are matched in this order and each costs microseconds to miss, so the latency-
    # critical online feature lookups come first.
    for router in (
        online_features_router,
        predict_router,
        pages.router,
        data_router,
        dataset_router,
        source_router,
        data_pages,
        tracking_router,
        tracking_pages,
        run_page,
        registry_router,
        apps_router,
        feedback_router,
        share_router,
        hosted_router,
        package_router,
        auth_router,
        auth_pages,
        audit_router,
        privacy_router,
        privacy_pages,
        compute_router,
        compute_pages,
        environments_router,
        notebooks_router,
        notebooks_pages,
        features_router,
        features_pages,
        evaluation_router,
        evaluation_pages,
    ):
        app.include_router(router)
    include_mlflow_routes(app, errors.install)
    # Added innermost first: TrustedHost runs first, then the session, then auth, then the body
    # limit (after auth, so no anonymous caller gets a body read and buffered).
    app.add_middleware(BodyLimitMiddleware, max_bytes=workspace.settings.request_body_max_bytes)
    app.add_middleware(AuthMiddleware, workspace=workspace)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(workspace),
        session_cookie="seedbed_session",
        max_age=workspace.settings.session_max_age_s,
        same_site="lax",
        https_only=bool(
            workspace.settings.public_url and workspace.settings.public_url.startswith("https")
        ),
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(workspace))
    return app
