"""Registry routes: registered models and versions over /api/v1, and their pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from seedbed.registry import models as model_service
from seedbed.registry.models import ModelVersion, RegisteredModel
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter()


class VersionCreate(BaseModel):
    run_id: str
    artifact_path: str = "model"
    description: str = ""


class AliasSet(BaseModel):
    version: int = Field(..., ge=1)


@router.get("/api/v1/models", tags=["registry"])
def api_models(workspace: WorkspaceDep, user: CurrentUser) -> list[RegisteredModel]:
    """Registered models with their latest version and aliases."""
    return model_service.list_models(workspace)


@router.get("/api/v1/models/{name}", tags=["registry"])
def api_model(name: str, workspace: WorkspaceDep, user: CurrentUser) -> RegisteredModel:
    """One registered model."""
    return model_service.get_model(workspace, name)


@router.get("/api/v1/models/{name}/versions", tags=["registry"])
def api_versions(name: str, workspace: WorkspaceDep, user: CurrentUser) -> list[ModelVersion]:
    """Versions of a registered model, newest first."""
    return model_service.list_versions(workspace, name)


@router.post("/api/v1/models/{name}/versions", tags=["registry"], status_code=201)
def api_register(
    name: str, body: VersionCreate, workspace: WorkspaceDep, user: EditorUser
) -> ModelVersion:
    """Register the model a run logged as the next version."""
    return model_service.register_version(
        workspace,
        name,
        body.run_id,
        body.artifact_path,
        description=body.description,
        user=user.username,
    )


@router.get("/api/v1/models/{name}/versions/{reference}", tags=["registry"])
def api_version(
    name: str, reference: str, workspace: WorkspaceDep, user: CurrentUser
) -> ModelVersion:
    """One version by number, 'latest' or alias."""
    return model_service.resolve(workspace, name, reference)


@router.put("/api/v1/models/{name}/aliases/{alias}", tags=["registry"], status_code=204)
def api_set_alias(
    name: str, alias: str, body: AliasSet, workspace: WorkspaceDep, user: EditorUser
) -> None:
    """Point an alias (such as champion) at a version."""
    model_service.set_alias(workspace, name, alias, body.version, user.username)


@router.get("/ui/models", include_in_schema=False)
def models_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(request, "registry/models.html", models=model_service.list_models(workspace))


@router.get("/ui/models/{name}", include_in_schema=False)
def model_page(request: Request, name: str, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(
        request,
        "registry/model.html",
        model=model_service.get_model(workspace, name),
        versions=model_service.list_versions(workspace, name),
    )
