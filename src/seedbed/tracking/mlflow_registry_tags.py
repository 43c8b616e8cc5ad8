"""MLflow's tag endpoints for registered models and model versions, over seedbed.registry.tags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from seedbed.registry import tags
from seedbed.tracking.mlflow_schema import Body, MlflowError
from seedbed.web.deps import EditorUser, WorkspaceDep

router = APIRouter()
Json = dict[str, Any]
Value = str | int | float | bool | None


class ModelTag(Body):
    name: str
    key: str
    value: Value = ""


class ModelTagRef(Body):
    name: str
    key: str


class VersionTag(ModelTag):
    version: str | int


class VersionTagRef(ModelTagRef):
    version: str | int


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _version_number(raw: str | int) -> int:
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise MlflowError(f"A model version is a whole number, not {raw!r}.")
    return int(text)


# --- tags --------------------------------------------------------------------------------------


@router.post("/registered-models/set-tag")
def set_registered_model_tag(body: ModelTag, workspace: WorkspaceDep, user: EditorUser) -> Json:
    tags.set_model_tag(workspace, body.name, body.key, _text(body.value), user.username)
    return {}


@router.delete("/registered-models/delete-tag")
def delete_registered_model_tag(
    body: ModelTagRef, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    tags.delete_model_tag(workspace, body.name, body.key, user.username)
    return {}


@router.post("/model-versions/set-tag")
def set_model_version_tag(body: VersionTag, workspace: WorkspaceDep, user: EditorUser) -> Json:
    number = _version_number(body.version)
    tags.set_version_tag(workspace, body.name, number, body.key, _text(body.value), user.username)
    return {}


@router.delete("/model-versions/delete-tag")
def delete_model_version_tag(
    body: VersionTagRef, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    number = _version_number(body.version)
    tags.delete_version_tag(workspace, body.name, number, body.key, user.username)
    return {}
