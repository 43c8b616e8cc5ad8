"""MLflow's model-registry REST API over seedbed's registry (seedbed.registry.models).

A version's `source` in seedbed is the artifact-store key of an MLmodel folder; MLflow's source
URIs (`models:/m-…`, `runs:/<run>/<path>`, `mlflow-artifacts:/…`) are turned into such a key on
the way in, so seedbed's pages, ModelLoader and demo apps load MLflow-registered versions too.
On the way out a version's source is `models:/<model id>` for a logged model, else the
`mlflow-artifacts:` URI of its folder, which is also what get-download-uri answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query
from pydantic import Field

from seedbed.errors import Invalid, NotFound
from seedbed.registry import logged_models, sources, tags
from seedbed.registry import models as service
from seedbed.registry.models import ModelVersion, RegisteredModel
from seedbed.tracking import mlflow_artifacts, mlflow_registry_tags
from seedbed.tracking.mlflow_schema import (
    Body,
    KeyValue,
    MlflowError,
    artifact_root,
)
from seedbed.tracking.runs import get_run
from seedbed.tracking.search import decode_page_token, encode_page_token
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep
from seedbed.workspace import Workspace

router = APIRouter()
router.include_router(mlflow_registry_tags.router)
Json = dict[str, Any]


class ModelName(Body):
    name: str


class CreateRegisteredModel(ModelName):
    description: str | None = ""
    tags: list[KeyValue] = Field(default_factory=list)


class RenameRegisteredModel(ModelName):
    new_name: str


class UpdateRegisteredModel(ModelName):
    description: str | None = ""


class CreateModelVersion(ModelName):
    source: str
    run_id: str | None = None
    description: str | None = ""
    model_id: str | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class VersionRef(ModelName):
    version: str | int


class UpdateModelVersion(VersionRef):
    description: str | None = ""


class SetAlias(ModelName):
    alias: str
    version: str | int


class AliasRef(ModelName):
    alias: str


class LatestVersions(ModelName):
    stages: list[str] = Field(default_factory=list)


def _version_number(raw: str | int) -> int:
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise MlflowError(f"A model version is a whole number, not {raw!r}.")
    return int(text)


# --- sources -----------------------------------------------------------------------------------


def source_key(workspace: Workspace, source: str) -> str:
    """An MLflow source URI as the store key of its MLmodel folder; a path in the URI that
    could leave its folder is Invalid."""
    parts = urlsplit(source)
    path = parts.path.lstrip("/")
    if parts.scheme == "models" and logged_models.MODEL_ID.fullmatch(path):
        return logged_models.get(workspace, path).artifact_key
    if parts.scheme == "runs":
        run_id, _, rest = path.partition("/")
        return sources.run_model_key(get_run(workspace, run_id), rest)
    if parts.scheme == "mlflow-artifacts":
        return mlflow_artifacts.store_key(workspace, path)
    raise MlflowError(
        f"Cannot register {source!r}: seedbed registers models:/m-<id>, runs:/<run>/<path> or "
        "mlflow-artifacts:/ URIs of models logged to this server."
    )


def download_uri(workspace: Workspace, key: str) -> str:
    """The mlflow-artifacts URI through which a client downloads the folder at store key `key`."""
    match = sources.MODEL_KEY.fullmatch(key)
    if match:
        model = logged_models.get(workspace, match[1])
        return f"{artifact_root(model.experiment_id)}/{key}"
    match = sources.RUN_KEY.fullmatch(key)
    if match:
        run = get_run(workspace, match[1])
        return f"{artifact_root(run.experiment_id)}/{key.removeprefix('runs/')}"
    if key.startswith(f"{mlflow_artifacts.PREFIX}/"):
        return f"mlflow-artifacts:/{key.removeprefix(mlflow_artifacts.PREFIX + '/')}"
    raise NotFound(f"The files of this model version ({key}) are not reachable through MLflow.")


# --- JSON --------------------------------------------------------------------------------------


def version_json(workspace: Workspace, version: ModelVersion) -> Json:
    match = sources.MODEL_KEY.fullmatch(version.source)
    try:
        source = f"models:/{match[1]}" if match else download_uri(workspace, version.source)
    except NotFound:
        source = version.source
    data: Json = {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": version.created_at,
        "last_updated_timestamp": version.created_at,
        "user_id": version.created_by,
        "current_stage": "None",
        "description": version.description,
        "source": source,
        "status": "READY",
        "aliases": version.aliases,
        "tags": _tags_json(version.tags),
    }
    if version.run_id:
        data["run_id"] = version.run_id
    if match:
        data["model_id"] = match[1]
    return data


def _tags_json(found: dict[str, str]) -> list[Json]:
    return [{"key": k, "value": v} for k, v in sorted(found.items())]


def model_json(workspace: Workspace, model: RegisteredModel) -> Json:
    data: Json = {
        "name": model.name,
        "creation_timestamp": model.created_at,
        "last_updated_timestamp": model.updated_at,
        "description": model.description,
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(model.aliases.items())],
        "tags": _tags_json(model.tags),
    }
    if model.latest_version is not None:
        latest = service.get_version(workspace, model.name, model.latest_version)
        data["latest_versions"] = [version_json(workspace, latest)]
    return data


# --- registered models -------------------------------------------------------------------------


@router.post("/registered-models/create")
def create_registered_model(
    body: CreateRegisteredModel, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    # A taken name is a Conflict: RESOURCE_ALREADY_EXISTS, which register_model tolerates.
    model = service.create_model(workspace, body.name, body.description or "", user.username)
    for tag in body.tags:
        tags.set_model_tag(workspace, body.name, tag.key, tag.text, user.username)
    if body.tags:
        model = service.get_model(workspace, body.name)
    return {"registered_model": model_json(workspace, model)}


@router.get("/registered-models/get")
def get_registered_model(
    name: Annotated[str, Query()], workspace: WorkspaceDep, user: CurrentUser
) -> Json:
    return {"registered_model": model_json(workspace, service.get_model(workspace, name))}


@router.post("/registered-models/rename")
def rename_registered_model(
    body: RenameRegisteredModel, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    model = service.rename_model(workspace, body.name, body.new_name, user.username)
    return {"registered_model": model_json(workspace, model)}


@router.patch("/registered-models/update")
def update_registered_model(
    body: UpdateRegisteredModel, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    model = service.update_model(workspace, body.name, body.description or "")
    return {"registered_model": model_json(workspace, model)}


@router.delete("/registered-models/delete")
def delete_registered_model(body: ModelName, workspace: WorkspaceDep, user: EditorUser) -> Json:
    service.delete_model(workspace, body.name, user.username)
    return {}


_MODEL_CLAUSE = re.compile(
    r"\s*(?P<field>name|attributes\.name|tags?\.`[^`]+`|tags?\.[\w.]+)\s*"
    r"(?P<op>=|!=|LIKE|ILIKE)\s*(['\"])(?P<value>.*?)\3\s*",
    re.IGNORECASE,
)


def _like(value: str, flags: int) -> re.Pattern[str]:
    pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in value)
    return re.compile(pattern, flags | re.DOTALL)


def _clause(field: str, op: str, value: str) -> Callable[[str, dict[str, str]], bool]:
    regex = _like(value, re.IGNORECASE if op == "ILIKE" else 0)
    tag = field.split(".", 1)[1].strip("`") if field.startswith("tag") else None

    def test(name: str, found: dict[str, str]) -> bool:
        if tag is not None:
            if tag not in found:
                return op == "!="  # a missing tag differs from every value, as in MLflow
            subject = found[tag]
        else:
            subject = name
        if op in ("=", "!="):
            return (subject == value) == (op == "=")
        return regex.fullmatch(subject) is not None

    return test


def _name_matches(filter_string: str) -> Callable[[str, dict[str, str]], bool]:
    """A predicate on (name, tags) from `name = 'x'`, `name LIKE 'x%'`, `tags.k = 'v'`...
    clauses joined by AND (the client adds `tag.mlflow.prompt.is_prompt != 'true'` to every
    search, to leave prompts out)."""
    tests: list[Callable[[str, dict[str, str]], bool]] = []
    text = filter_string.strip()
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE) if text else []:
        match = _MODEL_CLAUSE.fullmatch(part)
        if match is None:
            raise Invalid(
                f"Cannot read the filter {filter_string!r}: seedbed understands "
                "`name = 'x'`, `name != 'x'`, `name LIKE 'x%'`, `name ILIKE 'x%'` or "
                "`tags.key = 'value'` clauses joined by AND."
            )
        tests.append(_clause(match["field"].lower(), match["op"].upper(), match["value"]))
    return lambda name, found: all(test(name, found) for test in tests)


def _page(items: list[Any], max_results: int, page_token: str | None) -> tuple[list[Any], Json]:
    if max_results <= 0:
        raise MlflowError(f"max_results must be a positive integer, not {max_results}.")
    offset = decode_page_token(page_token)
    page = items[offset : offset + max_results]
    extra: Json = {}
    if len(items) > offset + max_results:
        extra["next_page_token"] = encode_page_token(offset + max_results)
    return page, extra


@router.get("/registered-models/search")
def search_registered_models(
    workspace: WorkspaceDep,
    user: CurrentUser,
    filter: str = "",
    max_results: int = 100,
    page_token: str | None = None,
) -> Json:
    matches = _name_matches(filter)
    found = sorted(
        (m for m in service.list_models(workspace) if matches(m.name, m.tags)),
        key=lambda m: m.name,
    )
    page, extra = _page(found, max_results, page_token)
    return {"registered_models": [model_json(workspace, m) for m in page], **extra}


def _latest_versions(workspace: Workspace, name: str) -> Json:
    model = service.get_model(workspace, name)
    if model.latest_version is None:
        return {"model_versions": []}
    latest = service.get_version(workspace, name, model.latest_version)
    # Seedbed has no stages: every version is in stage "None", so the latest of any is this one.
    return {"model_versions": [version_json(workspace, latest)]}


@router.post("/registered-models/get-latest-versions")
def get_latest_versions(body: LatestVersions, workspace: WorkspaceDep, user: CurrentUser) -> Json:
    return _latest_versions(workspace, body.name)


@router.get("/registered-models/get-latest-versions")
def get_latest_versions_get(
    name: Annotated[str, Query()], workspace: WorkspaceDep, user: CurrentUser
) -> Json:
    return _latest_versions(workspace, name)


# --- aliases -----------------------------------------------------------------------------------


@router.post("/registered-models/alias")
def set_alias(body: SetAlias, workspace: WorkspaceDep, user: EditorUser) -> Json:
    version = _version_number(body.version)
    service.set_alias(workspace, body.name, body.alias, version, user.username)
    return {}


@router.get("/registered-models/alias")
def get_version_by_alias(
    name: Annotated[str, Query()],
    alias: Annotated[str, Query()],
    workspace: WorkspaceDep,
    user: CurrentUser,
) -> Json:
    model = service.get_model(workspace, name)
    if alias not in model.aliases:
        raise NotFound(f"Model {name!r} has no alias {alias!r}.")
    version = service.get_version(workspace, name, model.aliases[alias])
    return {"model_version": version_json(workspace, version)}


@router.delete("/registered-models/alias")
def delete_alias(body: AliasRef, workspace: WorkspaceDep, user: EditorUser) -> Json:
    service.delete_alias(workspace, body.name, body.alias, user.username)
    return {}


# --- model versions ----------------------------------------------------------------------------


@router.post("/model-versions/create")
def create_model_version(
    body: CreateModelVersion, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    key = source_key(workspace, body.source)
    # The service records the run the files belong to, refusing a run_id naming another.
    version = service.add_version(
        workspace,
        body.name,
        key,
        body.run_id or None,
        description=body.description or "",
        user=user.username,
    )
    for tag in body.tags:
        tags.set_version_tag(
            workspace, body.name, version.version, tag.key, tag.text, user.username
        )
    if body.tags:
        version = service.get_version(workspace, body.name, version.version)
    return {"model_version": version_json(workspace, version)}


@router.get("/model-versions/get")
def get_model_version(
    name: Annotated[str, Query()],
    version: Annotated[str, Query()],
    workspace: WorkspaceDep,
    user: CurrentUser,
) -> Json:
    found = service.get_version(workspace, name, _version_number(version))
    return {"model_version": version_json(workspace, found)}


@router.patch("/model-versions/update")
def update_model_version(
    body: UpdateModelVersion, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    version = service.update_version(
        workspace, body.name, _version_number(body.version), body.description or ""
    )
    return {"model_version": version_json(workspace, version)}


@router.delete("/model-versions/delete")
def delete_model_version(body: VersionRef, workspace: WorkspaceDep, user: EditorUser) -> Json:
    service.delete_version(workspace, body.name, _version_number(body.version), user.username)
    return {}


_VERSION_FILTER = re.compile(
    r"\s*(?P<field>name|run_id|tags?\.`[^`]+`|tags?\.[\w.]+)\s*=\s*(['\"])(?P<value>.*?)\2\s*",
    re.IGNORECASE,
)


@router.get("/model-versions/search")
def search_model_versions(
    workspace: WorkspaceDep,
    user: CurrentUser,
    filter: str = "",
    max_results: int = 10_000,
    page_token: str | None = None,
) -> Json:
    clauses: dict[str, str] = {}
    tag_clauses: dict[str, str] = {}
    for part in re.split(r"\s+and\s+", filter.strip(), flags=re.IGNORECASE) if filter else []:
        match = _VERSION_FILTER.fullmatch(part)
        if match is None:
            raise Invalid(
                f"Cannot read the filter {filter!r}: seedbed understands `name = 'x'`, "
                "`run_id = 'y'` and `tags.key = 'value'` clauses joined by AND."
            )
        field = match["field"]
        if field.lower().startswith("tag"):
            tag_clauses[field.split(".", 1)[1].strip("`")] = match["value"]
        else:
            clauses[field.lower()] = match["value"]
    if "name" in clauses:
        try:
            versions = service.list_versions(workspace, clauses["name"])
        except NotFound:
            versions = []
    else:
        versions = [
            v
            for m in service.list_models(workspace)
            for v in service.list_versions(workspace, m.name)
        ]
    if "run_id" in clauses:
        versions = [v for v in versions if v.run_id == clauses["run_id"]]
    if tag_clauses:
        versions = [
            v for v in versions if all(v.tags.get(k) == value for k, value in tag_clauses.items())
        ]
    page, extra = _page(versions, max_results, page_token)
    return {"model_versions": [version_json(workspace, v) for v in page], **extra}


@router.get("/model-versions/get-download-uri")
def get_download_uri(
    name: Annotated[str, Query()],
    version: Annotated[str, Query()],
    workspace: WorkspaceDep,
    user: CurrentUser,
) -> Json:
    found = service.get_version(workspace, name, _version_number(version))
    return {"artifact_uri": download_uri(workspace, found.source)}
