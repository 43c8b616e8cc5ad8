"""Tracking routes: experiments and runs over /api/v1, and their pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from seedbed.tracking import experiments as experiment_service
from seedbed.tracking import runs as run_service
from seedbed.tracking.experiments import Experiment
from seedbed.tracking.history import chart_history
from seedbed.tracking.runs import MetricPoint, Run
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep

router = APIRouter()


class ExperimentCreate(BaseModel):
    name: str = Field(..., min_length=1, max_length=500)
    description: str = ""


class RunCreate(BaseModel):
    experiment: str = Field(..., min_length=1, description="Experiment name; made if missing.")
    name: str = ""
    tags: dict[str, str] = Field(default_factory=dict)


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
    experiment = experiment_service.get_or_create_experiment(
        workspace, body.experiment, user.username
    )
    return run_service.start_run(workspace, experiment.id, body.name, user.username, body.tags)


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


@router.get("/api/v1/runs/{run_id}/metrics/{key}", tags=["tracking"])
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
