"""Tracking pages: the experiments list, an experiment's runs table and the run comparison."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from seedbed.tracking import compare as compare_service
from seedbed.tracking import runs_table as table_service
from seedbed.web.deps import CurrentUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter()
TABLE_TARGET = "runs-table"


@router.get("/ui/experiments", include_in_schema=False)
def experiments_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(
        request,
        "tracking/experiments.html",
        summaries=table_service.experiment_summaries(workspace),
    )


@router.get("/ui/experiments/{experiment_id}", include_in_schema=False)
def experiment_page(
    request: Request,
    experiment_id: int,
    workspace: WorkspaceDep,
    user: CurrentUser,
    col: Annotated[list[str] | None, Query()] = None,
) -> Response:
    view = table_service.TableView.from_query(request.query_params, col or [])
    table = table_service.runs_table(workspace, experiment_id, view)
    # htmx asks for the table alone; a history restore (cache miss) needs the whole page.
    partial = (
        request.headers.get("hx-target") == TABLE_TARGET
        and "hx-history-restore-request" not in request.headers
    )
    response = render(
        request,
        "tracking/_runs_table.html" if partial else "tracking/experiment.html",
        status_code=400 if table.error else 200,
        table=table,
        partial=partial,
        page_sizes=table_service.PAGE_SIZES,
    )
    response.headers["vary"] = "HX-Request, HX-Target"
    return response


@router.get("/ui/compare", include_in_schema=False)
def compare_page(
    request: Request,
    workspace: WorkspaceDep,
    user: CurrentUser,
    runs: Annotated[list[str] | None, Query()] = None,
) -> Response:
    comparison = compare_service.compare_runs(workspace, compare_service.parse_run_ids(runs or []))
    return render(
        request,
        "tracking/compare.html",
        comparison=comparison,
        plot_json=json.dumps(comparison.plot_data()).replace("</", "<\\/"),
    )
