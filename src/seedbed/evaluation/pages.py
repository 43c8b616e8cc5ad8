"""Pages of the Evaluations section: the evaluations with their state, one evaluation's
report (leaderboard, charts, slices, leakage), and a form that builds a spec from a
dataset and launches it."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from seedbed.compute import profiles
from seedbed.compute.routes import job_service
from seedbed.data import datasets
from seedbed.errors import Invalid, NotFound
from seedbed.evaluation import report, sweep
from seedbed.web.deps import CsrfChecked, CurrentUser, EditorUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter(include_in_schema=False)

ALGORITHMS = {
    "classification": (
        "LogisticRegression",
        "DecisionTreeClassifier",
        "RandomForestClassifier",
        "HistGradientBoostingClassifier",
    ),
    "regression": (
        "LinearRegression",
        "Ridge",
        "DecisionTreeRegressor",
        "RandomForestRegressor",
        "HistGradientBoostingRegressor",
    ),
}


@router.get("/ui/evaluations")
def evaluations_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    listed = sweep.list_evaluations(workspace, job_service(request))
    return render(request, "evaluation/evaluations.html", evaluations=listed)


@router.get("/ui/evaluations/new")
def new_page(
    request: Request, workspace: WorkspaceDep, user: EditorUser, dataset: str = ""
) -> Response:
    return _form(request, workspace, {"dataset": dataset})


def _form(
    request: Request,
    workspace: WorkspaceDep,
    chosen: dict[str, Any],
    error: str = "",
    status_code: int = 200,
) -> Response:
    columns: list[datasets.DatasetColumn] = []
    if chosen.get("dataset"):
        try:
            columns = datasets.get_version(workspace, str(chosen["dataset"])).columns
        except NotFound as exc:
            error = error or str(exc)
    return render(
        request,
        "evaluation/new.html",
        status_code=status_code,
        datasets=[d.name for d in datasets.list_datasets(workspace)],
        columns=columns,
        chosen=chosen,
        algorithms=ALGORITHMS,
        profiles=list(profiles.list_profiles(workspace)),
        error=error,
    )


def spec_from_form(form: dict[str, Any], lists: dict[str, list[str]]) -> dict[str, Any]:
    """The spec the new-evaluation form describes."""
    task = form.get("task") or "classification"
    spec: dict[str, Any] = {
        "name": form.get("name") or "evaluation",
        "dataset": form.get("dataset") or None,
        "target": form.get("target") or None,
        "task": task,
        "cv_folds": int(form.get("cv_folds") or 5),
        "feature_sets": {"features": lists.get("features", [])},
        "algorithms": [{"estimator": name} for name in lists.get("algorithms", [])],
        "baselines": [{"kind": "majority" if task == "classification" else "mean"}],
        "split": {"kind": form.get("split") or "random"},
    }
    if form.get("split_column"):
        spec["split"]["column"] = form["split_column"]
    if form.get("rule"):
        spec["baselines"].append({"kind": "rule", "name": "rule", "sql": form["rule"]})
    if lists.get("slices"):
        spec["slices"] = lists["slices"]
    return spec


@router.post("/ui/evaluations/new", dependencies=[CsrfChecked])
async def launch(request: Request, workspace: WorkspaceDep, user: EditorUser) -> Response:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    lists = {k: [str(v) for v in form.getlist(k)] for k in ("features", "algorithms", "slices")}
    try:
        spec = spec_from_form(fields, lists)
        profile = fields.get("profile") or None
        evaluation = sweep.start(workspace, job_service(request), user, spec, profile)
    except (Invalid, NotFound, ValueError) as exc:
        chosen = {**fields, **lists}
        return _form(request, workspace, chosen, str(exc), status_code=400)
    return RedirectResponse(f"/ui/evaluations/{evaluation.id}", status_code=303)


@router.get("/ui/evaluations/{evaluation_id}")
def evaluation_page(
    request: Request,
    evaluation_id: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    run: Annotated[list[str] | None, Query(description="Runs to draw; default: best two")] = None,
    registered: str = "",
) -> Response:
    evaluation = sweep.status(workspace, job_service(request), evaluation_id)
    built = report.build(workspace, evaluation)
    labels = {row["run_id"]: row["label"] for row in built["leaderboard"]}
    best = [str((built[key] or {}).get("run_id")) for key in ("best_model", "best_baseline")]
    selected = [r for r in (run or best) if r in labels][:6]
    charts = [
        {"run_id": r, "label": labels[r], **report.run_artifacts(workspace, r)} for r in selected
    ]
    return render(
        request,
        "evaluation/evaluation.html",
        evaluation=evaluation,
        report=built,
        selected=selected,
        charts_json=json.dumps({"task": evaluation.task, "runs": charts}, default=str).replace(
            "</", "<\\/"
        ),
        registered=registered,
        can_write=user.can_write(),
    )


@router.post("/ui/evaluations/{evaluation_id}/register", dependencies=[CsrfChecked])
async def register(
    request: Request, evaluation_id: str, workspace: WorkspaceDep, user: EditorUser
) -> Response:
    form = await request.form()
    name = str(form.get("model_name") or "").strip()
    version = sweep.register_model(
        workspace,
        user,
        evaluation_id,
        str(form.get("run_id") or ""),
        name,
        str(form.get("alias") or "").strip() or None,
    )
    shown = quote(f"{name} v{version.version}")
    return RedirectResponse(f"/ui/evaluations/{evaluation_id}?registered={shown}", status_code=303)


@router.post("/ui/evaluations/{evaluation_id}/cancel", dependencies=[CsrfChecked])
def cancel(
    request: Request, evaluation_id: str, workspace: WorkspaceDep, user: EditorUser
) -> Response:
    sweep.cancel(workspace, job_service(request), user, evaluation_id)
    return RedirectResponse(f"/ui/evaluations/{evaluation_id}", status_code=303)
