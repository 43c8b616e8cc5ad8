"""Tracking pages: the experiments list and an experiment's runs table."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seedbed.tracking import experiments as experiment_service
from seedbed.tracking import runs as run_service
from seedbed.web.deps import CurrentUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter()


@router.get("/ui/experiments", include_in_schema=False)
def experiments_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(
        request,
        "tracking/experiments.html",
        experiments=experiment_service.list_experiments(workspace),
    )


@router.get("/ui/experiments/{experiment_id}", include_in_schema=False)
def experiment_page(
    request: Request, experiment_id: int, workspace: WorkspaceDep, user: CurrentUser
) -> Response:
    experiment = experiment_service.get_experiment(workspace, experiment_id)
    runs = run_service.list_runs(workspace, experiment_id)
    metric_keys = sorted({key for run in runs for key in run.metrics})
    return render(
        request,
        "tracking/experiment.html",
        experiment=experiment,
        runs=runs,
        metric_keys=metric_keys,
    )
