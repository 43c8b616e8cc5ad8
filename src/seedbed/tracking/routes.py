"""Tracking routes: experiments and runs over /api/v1, and their pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from seedbed.tracking import experiments as experiment_service
from seedbed.tracking import mlflow_artifacts, run_artifacts, run_datasets
from seedbed.tracking import runs as run_service
from seedbed.tracking.experiments import Experiment
from seedbed.tracking.history import chart_history
from seedbed.tracking.metric_points import LoggedMetric, MetricPoint
from seedbed.tracking.mlflow_models import logged_model_uri
from seedbed.tracking.run_artifacts import ArtifactFile
from seedbed.tracking.run_datasets import DatasetRef
from seedbed.tracking.runs import Run
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep

router = APIRouter()


class ExperimentCreate(BaseModel):
    name: str = Field(..., min_length=1, max_length=500)
    description: str = ""


class DatasetInput(BaseModel):
    name: str = Field(..., min_length=1)
    version: int | None = Field(None, ge=1, description="None: the latest version.")


class RunCreate(BaseModel):
    experiment: str = Field(..., min_length=1, description="Experiment name; made if missing.")
    name: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    inputs: list[DatasetInput] = Field(default_factory=list, description="Dataset versions read.")


class Inputs(BaseModel):
    inputs: list[DatasetInput]


class BatchMetric(BaseModel):
    key: str
    value: float
    step: int = 0
    timestamp: int | None = None


class KeyValue(BaseModel):
    key: str
    value: str


class Batch(BaseModel):
    metrics: list[BatchMetric] = Field(default_factory=list)
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


class ModelLog(BaseModel):
    path: str = Field("model", description="Where the run's MLmodel folder was uploaded.")
    model_type: str = ""


class LoggedModelOut(BaseModel):
    id: str
    name: str
    run_id: str
    status: str
    artifact_uri: str


class Params(BaseModel):
    params: dict[str, Any]


class Metrics(BaseModel):
    metrics: dict[str, float]
    step: int = 0
    timestamp: int | None = None


class Tags(BaseModel):
    tags: dict[str, str]


class RunEnd(BaseModel):
    status: str = "FINISHED"


@router.get("/api/v1/experiments", tags=["tracking"])
def api_experiments(workspace: WorkspaceDep, user: CurrentUser) -> list[Experiment]:
    """Active experiments, newest first, with their run counts."""
    return experiment_service.list_experiments(workspace)


@router.post("/api/v1/experiments", tags=["tracking"], status_code=201)
def api_create_experiment(
    body: ExperimentCreate, workspace: WorkspaceDep, user: EditorUser
) -> Experiment:
    """Create an experiment (editors and admins)."""
    return experiment_service.create_experiment(
        workspace, body.name, body.description, user.username
    )


@router.get("/api/v1/experiments/{experiment_id}/runs", tags=["tracking"])
def api_runs(experiment_id: int, workspace: WorkspaceDep, user: CurrentUser) -> list[Run]:
    """Runs of an experiment, newest first, with params, latest metrics and tags."""
    return run_service.list_runs(workspace, experiment_id)


@router.post("/api/v1/runs", tags=["tracking"], status_code=201)
def api_start_run(body: RunCreate, workspace: WorkspaceDep, user: EditorUser) -> Run:
    """Start a run in the named experiment, creating the experiment if needed."""
    # Inputs are checked first, so that an unknown dataset leaves no run behind.
    inputs = run_datasets.resolve_inputs(workspace, [(i.name, i.version) for i in body.inputs])
    experiment = experiment_service.get_or_create_experiment(
        workspace, body.experiment, user.username
    )
    run = run_service.start_run(workspace, experiment.id, body.name, user.username, body.tags)
    run_datasets.record_inputs(workspace, run.id, inputs)
    return run


@router.get("/api/v1/runs/{run_id}", tags=["tracking"])
def api_run(run_id: str, workspace: WorkspaceDep, user: CurrentUser) -> Run:
    """One run with its params, latest metrics and tags."""
    return run_service.get_run(workspace, run_id)


@router.post("/api/v1/runs/{run_id}/params", tags=["tracking"], status_code=204)
def api_log_params(run_id: str, body: Params, workspace: WorkspaceDep, user: EditorUser) -> None:
    """Log params; each is write-once (a different value is a 409)."""
    run_service.log_params(workspace, run_id, body.params)


@router.post("/api/v1/runs/{run_id}/metrics", tags=["tracking"], status_code=204)
def api_log_metrics(run_id: str, body: Metrics, workspace: WorkspaceDep, user: EditorUser) -> None:
    """Log one point per metric at a step."""
    run_service.log_metrics(workspace, run_id, body.metrics, body.step, body.timestamp)


@router.get("/api/v1/runs/{run_id}/metrics/{key:path}", tags=["tracking"])
def api_metric_history(
    run_id: str,
    key: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    max_points: int | None = None,
) -> list[MetricPoint]:
    """The logged points of one metric, by step: all, or with `max_points` a sample of about
    that many that keeps each stretch's first, lowest, highest and last point (for charts)."""
    return chart_history(workspace, run_id, key, max_points)


@router.post("/api/v1/runs/{run_id}/tags", tags=["tracking"], status_code=204)
def api_set_tags(run_id: str, body: Tags, workspace: WorkspaceDep, user: EditorUser) -> None:
    """Set or overwrite tags."""
    run_service.set_tags(workspace, run_id, body.tags)


@router.post("/api/v1/runs/{run_id}/end", tags=["tracking"])
def api_end_run(run_id: str, body: RunEnd, workspace: WorkspaceDep, user: EditorUser) -> Run:
    """End a run as FINISHED, FAILED or KILLED."""
    return run_service.end_run(workspace, run_id, body.status)


class RunMove(BaseModel):
    experiment: str = Field(..., min_length=1, description="Name of the experiment to move to.")


@router.post("/api/v1/runs/{run_id}/move", tags=["tracking"])
def api_move_run(run_id: str, body: RunMove, workspace: WorkspaceDep, user: EditorUser) -> Run:
    """Move a run into another (existing, active) experiment; its artifacts stay put."""
    experiment = experiment_service.get_experiment_by_name(workspace, body.experiment)
    return run_service.move_run(workspace, run_id, experiment.id, user.username)


@router.post("/api/v1/runs/{run_id}/batch", tags=["tracking"], status_code=204)
def api_log_batch(run_id: str, body: Batch, workspace: WorkspaceDep, user: EditorUser) -> None:
    """Log metric points, params and tags in one request: all are written, or none."""
    run_service.log_batch(
        workspace,
        run_id,
        metrics=[LoggedMetric(m.key, m.value, m.step, m.timestamp) for m in body.metrics],
        params=run_service.unique_values("Param", ((p.key, p.value) for p in body.params)),
        tags=run_service.unique_values("Tag", ((t.key, t.value) for t in body.tags)),
    )


@router.get("/api/v1/runs/{run_id}/inputs", tags=["tracking"])
def api_run_inputs(run_id: str, workspace: WorkspaceDep, user: CurrentUser) -> list[DatasetRef]:
    """The dataset versions a run read."""
    return run_datasets.run_inputs(workspace, run_id)


@router.post("/api/v1/runs/{run_id}/inputs", tags=["tracking"])
def api_log_inputs(
    run_id: str, body: Inputs, workspace: WorkspaceDep, user: EditorUser
) -> list[DatasetRef]:
    """Record dataset versions a run read (version omitted: the latest); all or none."""
    run_service.get_run(workspace, run_id)
    inputs = run_datasets.resolve_inputs(workspace, [(i.name, i.version) for i in body.inputs])
    run_datasets.record_inputs(workspace, run_id, inputs)
    return run_datasets.run_inputs(workspace, run_id)


@router.get("/api/v1/runs/{run_id}/artifacts", tags=["tracking"])
def api_artifacts(
    run_id: str, workspace: WorkspaceDep, user: CurrentUser, path: str = ""
) -> list[ArtifactFile]:
    """Every file the run logged (under `path`, if given), with sizes."""
    return run_artifacts.list_artifacts(workspace, run_id, path)


@router.get("/api/v1/runs/{run_id}/artifacts/{path:path}", tags=["tracking"])
def api_download_artifact(
    run_id: str, path: str, request: Request, workspace: WorkspaceDep, user: CurrentUser
) -> StreamingResponse:
    """One artifact's bytes, streamed as a download."""
    proxy = run_artifacts.proxy_path(workspace, run_id, path)
    return mlflow_artifacts.download_artifact(proxy, request, workspace, user)


@router.put("/api/v1/runs/{run_id}/artifacts/{path:path}", tags=["tracking"], status_code=201)
async def api_upload_artifact(
    run_id: str, path: str, request: Request, workspace: WorkspaceDep, user: EditorUser
) -> ArtifactFile:
    """Store the request body as an artifact, streamed to disk and published when complete.
    Paths with `..`, absolute paths and encoded separators are refused (400)."""
    proxy = run_artifacts.proxy_path(workspace, run_id, path)
    await mlflow_artifacts.upload_artifact(proxy, request, workspace, user)
    return run_artifacts.artifact_file(workspace, run_id, path)


@router.post("/api/v1/runs/{run_id}/models", tags=["tracking"], status_code=201)
def api_log_model(
    run_id: str, body: ModelLog, workspace: WorkspaceDep, user: EditorUser
) -> LoggedModelOut:
    """Publish the MLmodel folder the run uploaded at `path` as a logged model (MLflow 3)."""
    model = run_artifacts.log_run_model(
        workspace, run_id, body.path, body.model_type, user.username
    )
    return LoggedModelOut(
        id=model.id,
        name=model.name,
        run_id=run_id,
        status=model.status,
        artifact_uri=logged_model_uri(model),
    )
