"""The Features pages: the catalog of registered views, and one page per view with its
features, statistics and lineage; `GET /api/v1/features/views/{name}` gives the same as JSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seedbed.features import catalog
from seedbed.web.deps import CurrentUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter()


@router.get("/api/v1/features/views/{name}", tags=["features"])
def api_view(name: str, workspace: WorkspaceDep, user: CurrentUser) -> dict[str, Any]:
    """One registered feature view: its definition, freshness, features with their statistics,
    and the training sets, runs and models that use them."""
    return catalog.view_detail(workspace, name)


@router.get("/api/v1/features/lineage", tags=["features"])
def api_lineage(workspace: WorkspaceDep, user: CurrentUser) -> dict[str, list[dict[str, Any]]]:
    """For each `view:feature`, the training sets holding it, with their runs and models."""
    return catalog.feature_lineage(workspace)


@router.get("/ui/features", include_in_schema=False)
def features_page(
    request: Request, workspace: WorkspaceDep, user: CurrentUser, q: str = ""
) -> Response:
    return render(
        request,
        "features/catalog.html",
        catalog=catalog.overview(workspace, q),
        query=q,
        folder=workspace.features_dir,
        files=sorted(p.name for p in workspace.features_dir.glob("*.py")),
    )


@router.get("/ui/features/{name}", include_in_schema=False)
def view_page(request: Request, name: str, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(request, "features/view.html", detail=catalog.view_detail(workspace, name))
