"""Registry routes: registered models and versions over /api/v1, and their pages."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from seedbed.registry import alias_events, pages, tags
from seedbed.registry import models as model_service
from seedbed.registry.alias_events import AliasEvent
from seedbed.registry.models import ModelVersion, RegisteredModel
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep

router = APIRouter()
router.include_router(pages.router)


class VersionCreate(BaseModel):
    run_id: str
    artifact_path: str = "model"
    description: str = ""


class AliasSet(BaseModel):
    version: int = Field(..., ge=1)


class TagSet(BaseModel):
    value: str = Field("", max_length=tags.MAX_VALUE)


class DescriptionSet(BaseModel):
    description: str = Field(..., max_length=100_000, description="Markdown.")


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


@router.delete("/api/v1/models/{name}/aliases/{alias}", tags=["registry"], status_code=204)
def api_delete_alias(name: str, alias: str, workspace: WorkspaceDep, user: EditorUser) -> None:
    """Remove an alias (the move stays in the alias history)."""
    model_service.delete_alias(workspace, name, alias, user.username)


@router.get("/api/v1/models/{name}/aliases/history", tags=["registry"])
def api_alias_history(name: str, workspace: WorkspaceDep, user: CurrentUser) -> list[AliasEvent]:
    """Every alias move of a model, newest first: alias, from/to version, who, when."""
    return alias_events.alias_history(workspace, name)


@router.patch("/api/v1/models/{name}", tags=["registry"])
def api_update_model(
    name: str, body: DescriptionSet, workspace: WorkspaceDep, user: EditorUser
) -> RegisteredModel:
    """Replace a model's Markdown description."""
    return model_service.update_model(workspace, name, body.description, user.username)


@router.patch("/api/v1/models/{name}/versions/{version}", tags=["registry"])
def api_update_version(
    name: str, version: int, body: DescriptionSet, workspace: WorkspaceDep, user: EditorUser
) -> ModelVersion:
    """Replace a version's Markdown description."""
    return model_service.update_version(workspace, name, version, body.description, user.username)


@router.put("/api/v1/models/{name}/tags/{key}", tags=["registry"], status_code=204)
def api_set_model_tag(
    name: str, key: str, body: TagSet, workspace: WorkspaceDep, user: EditorUser
) -> None:
    """Set a tag of a registered model."""
    tags.set_model_tag(workspace, name, key, body.value, user.username)


@router.delete("/api/v1/models/{name}/tags/{key}", tags=["registry"], status_code=204)
def api_delete_model_tag(name: str, key: str, workspace: WorkspaceDep, user: EditorUser) -> None:
    """Remove a tag of a registered model."""
    tags.delete_model_tag(workspace, name, key, user.username)


@router.put(
    "/api/v1/models/{name}/versions/{version}/tags/{key}", tags=["registry"], status_code=204
)
def api_set_version_tag(
    name: str, version: int, key: str, body: TagSet, workspace: WorkspaceDep, user: EditorUser
) -> None:
    """Set a tag of a model version."""
    tags.set_version_tag(workspace, name, version, key, body.value, user.username)


@router.delete(
    "/api/v1/models/{name}/versions/{version}/tags/{key}", tags=["registry"], status_code=204
)
def api_delete_version_tag(
    name: str, version: int, key: str, workspace: WorkspaceDep, user: EditorUser
) -> None:
    """Remove a tag of a model version."""
    tags.delete_version_tag(workspace, name, version, key, user.username)
