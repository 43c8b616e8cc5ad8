"""Registry pages: the list of models, a model (description, tags, aliases and their
history, versions) and a model version (signature, example, metrics, lineage)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seedbed.registry import alias_events, version_view
from seedbed.registry import models as model_service
from seedbed.web.deps import CurrentUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter()


@router.get("/ui/models", include_in_schema=False)
def models_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(request, "registry/models.html", models=model_service.list_models(workspace))


@router.get("/ui/models/{name}", include_in_schema=False)
def model_page(request: Request, name: str, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    model = model_service.get_model(workspace, name)
    return render(
        request,
        "registry/model.html",
        model=model,
        versions=model_service.list_versions(workspace, name),
        history=alias_events.alias_history(workspace, name),
        description_html=version_view.description_html(model.description),
    )


@router.get("/ui/models/{name}/versions/{version}", include_in_schema=False)
def version_page(
    request: Request, name: str, version: int, workspace: WorkspaceDep, user: CurrentUser
) -> Response:
    found = model_service.get_version(workspace, name, version)
    return render(
        request, "registry/version.html", view=version_view.version_view(workspace, found)
    )
