"""The run page: a run's metrics, params, tags, artifacts and links."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seedbed.registry.models import versions_of_run
from seedbed.tracking import experiments as experiment_service
from seedbed.tracking import runs as run_service
from seedbed.web.deps import CurrentUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter()


@router.get("/ui/runs/{run_id}", include_in_schema=False)
def run_page(request: Request, run_id: str, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    run = run_service.get_run(workspace, run_id)
    experiment = experiment_service.get_experiment(workspace, run.experiment_id)
    artifacts = workspace.artifacts.list(run.artifact_key)
    return render(
        request,
        "tracking/run.html",
        run=run,
        experiment=experiment,
        artifacts=artifacts,
        model_versions=versions_of_run(workspace, run_id),
    )
