"""Evaluations over /api/v1: start one from a spec, follow it, read its report, cancel it,
and register the model of any leaderboard row."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from seedbed.compute.routes import job_service
from seedbed.evaluation import report, sweep
from seedbed.registry.models import ModelVersion
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep

router = APIRouter(tags=["evaluation"])


class EvaluationRequest(BaseModel):
    spec: dict[str, Any] = Field(..., description="The evaluation spec (see docs/evaluation.md).")
    profile: str | None = Field(None, description="Resource profile of each job.")


class ClaimRequest(BaseModel):
    worker: str = Field(..., description="The worker job's id.")


class RegisterRequest(BaseModel):
    run_id: str
    model_name: str
    alias: str | None = None


@router.post("/api/v1/evaluations", status_code=201)
def api_start(
    body: EvaluationRequest, request: Request, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, Any]:
    """Start an evaluation: one job per combination; 400 lists the spec's problems."""
    evaluation = sweep.start(workspace, job_service(request), user, body.spec, body.profile)
    return evaluation.as_dict()


@router.get("/api/v1/evaluations")
def api_list(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> list[dict[str, Any]]:
    """Evaluations, newest first, with their state."""
    return [e.as_dict() for e in sweep.list_evaluations(workspace, job_service(request))]


@router.get("/api/v1/evaluations/{evaluation_id}")
def api_get(
    evaluation_id: str, request: Request, workspace: WorkspaceDep, user: CurrentUser
) -> dict[str, Any]:
    """An evaluation's state and its report."""
    evaluation = sweep.status(workspace, job_service(request), evaluation_id)
    return {"evaluation": evaluation.as_dict(), "report": report.build(workspace, evaluation)}


@router.get("/api/v1/evaluations/{evaluation_id}/runs/{run_id}/charts")
def api_charts(
    evaluation_id: str, run_id: str, workspace: WorkspaceDep, user: CurrentUser
) -> dict[str, Any]:
    """One child run's curves and permutation importance."""
    return report.run_artifacts(workspace, run_id)


@router.post("/api/v1/evaluations/{evaluation_id}/cancel")
def api_cancel(
    evaluation_id: str, request: Request, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, Any]:
    """Stop the evaluation's live jobs."""
    return sweep.cancel(workspace, job_service(request), user, evaluation_id).as_dict()


@router.post("/api/v1/evaluations/{evaluation_id}/claim")
def api_claim(
    evaluation_id: str, body: ClaimRequest, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, int | None]:
    """For worker jobs: the next combination to evaluate, or null when none is left."""
    return {"index": sweep.claim(workspace, user, evaluation_id, body.worker)}


@router.post("/api/v1/evaluations/{evaluation_id}/register", status_code=201)
def api_register(
    evaluation_id: str, body: RegisterRequest, workspace: WorkspaceDep, user: EditorUser
) -> ModelVersion:
    """Register the model of one of the evaluation's runs."""
    version: ModelVersion = sweep.register_model(
        workspace, user, evaluation_id, body.run_id, body.model_name, body.alias
    )
    return version
