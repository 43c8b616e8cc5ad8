"""MLflow 3 logged models over MLflow's REST API (`mlflow.<flavour>.log_model` inside a run).

The client creates the model, links it to the run (runs/outputs), uploads the MLmodel folder to
the model's artifact URI `mlflow-artifacts:/<experiment>/models/<id>/artifacts` (the store key
`models/<id>/artifacts`, see mlflow_artifacts) and finally marks it READY.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from seedbed.registry import logged_models as service
from seedbed.registry.logged_models import LoggedModel
from seedbed.tracking import experiments as experiment_service
from seedbed.tracking import runs as run_service
from seedbed.tracking.experiments import DEFAULT_EXPERIMENT_ID
from seedbed.tracking.mlflow_schema import (
    Body,
    KeyValue,
    MlflowError,
    artifact_root,
    enum_name,
    parse_experiment_id,
)
from seedbed.tracking.search import decode_page_token, encode_page_token
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep
from seedbed.workspace import Workspace

router = APIRouter()
Json = dict[str, Any]
STATUSES = dict(enumerate(("LOGGED_MODEL_STATUS_UNSPECIFIED", *service.STATUSES)))
MAX_SEARCH_RESULTS = 50  # MLflow's own limit on one logged-models/search page


class CreateLoggedModel(Body):
    experiment_id: str | int
    name: str | None = None
    model_type: str | None = ""
    source_run_id: str | None = None
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


class FinalizeLoggedModel(Body):
    status: str | int


class SearchLoggedModels(Body):
    experiment_ids: list[str | int] = Field(default_factory=list)
    filter: str | None = ""
    max_results: int | None = None
    page_token: str | None = None
    # datasets and order_by are accepted and ignored: seedbed keeps no per-model metrics.


class LoggedModelTags(Body):
    tags: list[KeyValue] = Field(default_factory=list)


class LoggedModelParams(Body):
    params: list[KeyValue] = Field(default_factory=list)


class ModelOutput(Body):
    model_id: str
    step: int = 0


class LogOutputs(Body):
    run_id: str
    models: list[ModelOutput] = Field(default_factory=list)


def logged_model_uri(model: LoggedModel) -> str:
    """Where the client reads and writes the model's files (served by mlflow_artifacts)."""
    return f"{artifact_root(model.experiment_id)}/models/{model.id}/artifacts"


def logged_model_json(model: LoggedModel) -> Json:
    info: Json = {
        "model_id": model.id,
        "experiment_id": str(model.experiment_id),
        "name": model.name,
        "creation_timestamp_ms": model.created_at,
        "last_updated_timestamp_ms": model.updated_at,
        "artifact_uri": logged_model_uri(model),
        "status": model.status,
        "model_type": model.model_type,
        "tags": [{"key": k, "value": v} for k, v in sorted(model.tags.items())],
    }
    if model.source_run_id:
        info["source_run_id"] = model.source_run_id
    if model.status_message:
        info["status_message"] = model.status_message
    params = [{"key": k, "value": v} for k, v in sorted(model.params.items())]
    return {"info": info, "data": {"params": params, "metrics": []}}


def _experiment_id(workspace: Workspace, raw: str | int) -> int:
    experiment_id = parse_experiment_id(raw)
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        experiment_service.ensure_default_experiment(workspace)
    else:
        experiment_service.get_experiment(workspace, experiment_id)
    return experiment_id


@router.post("/logged-models")
def create_logged_model(body: CreateLoggedModel, workspace: WorkspaceDep, user: EditorUser) -> Json:
    experiment_id = _experiment_id(workspace, body.experiment_id)
    model = service.create(
        workspace,
        experiment_id,
        body.name or "model",
        model_type=body.model_type or "",
        source_run_id=body.source_run_id or None,
        params={p.key: p.text for p in body.params},
        tags={t.key: t.text for t in body.tags},
        user=user.username,
    )
    return {"model": logged_model_json(model)}


@router.post("/logged-models/search")
def search_logged_models(
    body: SearchLoggedModels, workspace: WorkspaceDep, user: CurrentUser
) -> Json:
    # The client asks this too whenever it reads a runs:/ URI, to merge in a model's files.
    limit = body.max_results if body.max_results is not None else MAX_SEARCH_RESULTS
    if not 0 < limit <= MAX_SEARCH_RESULTS:
        raise MlflowError(f"max_results must be between 1 and {MAX_SEARCH_RESULTS}, not {limit}.")
    offset = decode_page_token(body.page_token)
    ids = [parse_experiment_id(raw) for raw in body.experiment_ids]
    found, more = service.search(workspace, ids, body.filter or "", limit, offset)
    response: Json = {"models": [logged_model_json(m) for m in found]}
    if more:
        response["next_page_token"] = encode_page_token(offset + len(found))
    return response


@router.get("/logged-models/{model_id}")
def get_logged_model(model_id: str, workspace: WorkspaceDep, user: CurrentUser) -> Json:
    return {"model": logged_model_json(service.get(workspace, model_id))}


@router.patch("/logged-models/{model_id}")
def finalize_logged_model(
    model_id: str, body: FinalizeLoggedModel, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    status = enum_name(body.status, STATUSES, "status") or ""
    return {"model": logged_model_json(service.finalize(workspace, model_id, status))}


@router.delete("/logged-models/{model_id}")
def delete_logged_model(model_id: str, workspace: WorkspaceDep, user: EditorUser) -> Json:
    service.delete(workspace, model_id)
    return {}


@router.patch("/logged-models/{model_id}/tags")
def set_logged_model_tags(
    model_id: str, body: LoggedModelTags, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    service.set_tags(workspace, model_id, {t.key: t.text for t in body.tags})
    return {}


@router.delete("/logged-models/{model_id}/tags/{tag_key:path}")
def delete_logged_model_tag(
    model_id: str, tag_key: str, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    service.delete_tag(workspace, model_id, tag_key)
    return {}


@router.post("/logged-models/{model_id}/params")
def log_logged_model_params(
    model_id: str, body: LoggedModelParams, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    service.log_params(workspace, model_id, {p.key: p.text for p in body.params})
    return {}


@router.post("/runs/outputs")
def log_outputs(body: LogOutputs, workspace: WorkspaceDep, user: EditorUser) -> Json:
    """Accepted and checked, not stored: a logged model already records its source run."""
    run = run_service.get_run(workspace, body.run_id)
    for output in body.models:
        model = service.get(workspace, output.model_id)
        if model.experiment_id != run.experiment_id:
            raise MlflowError(f"Model {model.id} is not in the experiment of run {run.id}.")
    return {}
