"""The run page: header, metric charts, params, tags, links, and the artifact browser.

Artifact files are served from `/ui/runs/{id}/artifacts/raw` with headers that keep them
harmless: anything that is not an image, text or HTML is a download; every answer carries a
sandboxing Content-Security-Policy, so an SVG or HTML file opened on its own runs no script
with the app's origin; HTML renders only inside the page's sandboxed iframe.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from seedbed.registry.logged_models import LoggedModel
from seedbed.registry.models import ModelVersion, versions_of_run
from seedbed.tracking import artifact_browser as browser
from seedbed.tracking.run_view import (
    CHART_POINTS,
    chart_series,
    get_logged_model,
    logged_models_of_run,
    run_view,
)
from seedbed.tracking.runs import Run, get_run
from seedbed.web.deps import CurrentUser, WorkspaceDep
from seedbed.web.templating import render
from seedbed.workspace import Workspace

router = APIRouter()
CHUNK = 1024 * 1024
# Files opened on their own (a raw SVG, say) run no script and load nothing.
FILE_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
# HTML in the page's iframe: its own inline scripts may run (a Plotly export needs them) in an
# opaque origin that cannot read the app's cookies, and it may fetch nothing from anywhere.
HTML_POLICY = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; frame-ancestors 'self'"
)


def _root(workspace: Workspace, run: Run, model_id: str | None) -> tuple[str, LoggedModel | None]:
    """The store key the browser starts at: the run's artifacts, or a model it logged."""
    if not model_id:
        return run.artifact_key, None
    model = get_logged_model(workspace, run, model_id)
    return model.artifact_key, model


def _registered(versions: list[ModelVersion], key: str) -> list[ModelVersion]:
    return [v for v in versions if v.source.rstrip("/") == key.rstrip("/")]


def _browser_context(
    workspace: Workspace, run: Run, path: str, model_id: str | None, versions: list[ModelVersion]
) -> dict[str, Any]:
    root, model = _root(workspace, run, model_id)
    found = browser.browse(workspace.artifacts, root, path)
    return {
        "browse": found,
        "model": model,
        "model_query": f"&model={quote(model.id)}" if model else "",
        "registered": _registered(versions, found.key) if found.model else [],
    }


@router.get("/ui/runs/{run_id}", include_in_schema=False)
def run_page(
    request: Request,
    run_id: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    artifact: str = "",
    model: str | None = None,
) -> Response:
    view = run_view(workspace, run_id)
    context = _browser_context(workspace, view.run, artifact, model, view.versions)
    return render(
        request,
        "tracking/run.html",
        view=view,
        run=view.run,
        models=view.models,
        chart_points=CHART_POINTS,
        **context,
    )


@router.get("/ui/runs/{run_id}/artifacts", include_in_schema=False)
def artifact_folder(
    request: Request,
    run_id: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    path: str = "",
    model: str | None = None,
) -> Response:
    """One level of the artifact tree (an htmx partial), or a file in its folder."""
    run = get_run(workspace, run_id)
    context = _browser_context(workspace, run, path, model, versions_of_run(workspace, run_id))
    return render(
        request,
        "tracking/_artifact_browser.html",
        run=run,
        models=logged_models_of_run(workspace, run),
        **context,
    )


@router.get("/ui/runs/{run_id}/artifacts/preview", include_in_schema=False)
def artifact_preview(
    request: Request,
    run_id: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    path: str,
    model: str | None = None,
) -> Response:
    """A file's preview (an htmx partial): image, text, table, sandboxed HTML or a download."""
    run = get_run(workspace, run_id)
    root, logged = _root(workspace, run, model)
    return render(
        request,
        "tracking/_artifact_preview.html",
        run=run,
        preview=browser.preview(workspace.artifacts, root, path),
        model_query=f"&model={quote(logged.id)}" if logged else "",
    )


@router.get("/ui/runs/{run_id}/artifacts/raw", include_in_schema=False)
def artifact_raw(
    run_id: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    path: str,
    model: str | None = None,
    download: bool = False,
) -> StreamingResponse:
    """A file's bytes: inline only for images, text and (sandboxed) HTML, else a download."""
    run = get_run(workspace, run_id)
    root, _ = _root(workspace, run, model)
    entry = browser.file_entry(workspace.artifacts, root, path)
    handle = workspace.artifacts.open(f"{root}/{entry.path}")

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    inline_type = browser.content_type(entry.name)
    inline = inline_type is not None and not download
    name = quote(entry.name, safe="")
    headers = {
        "content-disposition": f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{name}",
        "x-content-type-options": "nosniff",
        "content-security-policy": FILE_POLICY,
        "content-length": str(entry.size),
        "cache-control": "private, no-cache",
    }
    if inline and entry.kind == "html":
        headers["content-security-policy"] = HTML_POLICY
        headers["x-frame-options"] = "SAMEORIGIN"  # the run page frames it; nothing else may
    media_type = inline_type if inline and inline_type else "application/octet-stream"
    return StreamingResponse(chunks(), media_type=media_type, headers=headers)


@router.get("/ui/runs/{run_id}/metrics/chart", include_in_schema=False)
def metric_chart(
    run_id: str,
    key: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    max_points: int = CHART_POINTS,
) -> dict[str, Any]:
    """A metric for a chart: {key, total, steps, timestamps, values}, at most 1,000 points."""
    return asdict(chart_series(workspace, run_id, key, max_points))
