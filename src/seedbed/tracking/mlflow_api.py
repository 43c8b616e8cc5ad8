"""MLflow's tracking REST API over seedbed's experiments and runs, for the unmodified MLflow client.

Mounted under /api/2.0/mlflow and /ajax-api/2.0/mlflow (see include_mlflow_routes). Handlers
only translate: MLflow's request shapes in (mlflow_schema), tracking services, MLflow's JSON out.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import pydantic_core
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount

from seedbed.auth.users import User
from seedbed.errors import Conflict, NotFound
from seedbed.tracking import experiments as experiment_service
from seedbed.tracking import inputs as inputs_service
from seedbed.tracking import mlflow_artifacts, mlflow_models, mlflow_registry
from seedbed.tracking import runs as run_service
from seedbed.tracking.experiments import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, Experiment
from seedbed.tracking.inputs import DatasetInput
from seedbed.tracking.metric_points import INT64_MAX, LoggedMetric
from seedbed.tracking.mlflow_schema import (
    MAX_BATCH_ENTITIES,
    MAX_BATCH_METRICS,
    MAX_BATCH_PARAMS_OR_TAGS,
    RUN_NAME_TAG,
    RUN_STATUSES,
    USER_TAG,
    VIEW_TYPES,
    CreateExperiment,
    CreateRun,
    DeleteExperimentTag,
    DeleteTag,
    ExperimentRef,
    KeyValue,
    LogBatch,
    LogInputs,
    LogMetric,
    LogParam,
    MlflowError,
    RunRef,
    SearchExperiments,
    SearchRuns,
    SetExperimentTag,
    SetTag,
    UpdateExperiment,
    UpdateRun,
    enum_name,
    experiment_json,
    metric_json,
    parse_experiment_id,
    run_info_json,
    run_json,
)
from seedbed.tracking.runs import Run
from seedbed.tracking.search import decode_page_token, encode_page_token
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep
from seedbed.workspace import Workspace

# What GET /version answers: the MLflow release whose tracking protocol this layer speaks.
# Clients compare it only to switch features on (e.g. span logging needs >= 3.4).
MLFLOW_VERSION = "3.1.0"
MAX_BATCH_BYTES = 1_000_000  # MLflow's limit on one log-batch request

router = APIRouter()
version_router = APIRouter()
Json = dict[str, Any]
T = TypeVar("T")


def include_mlflow_routes(app: FastAPI, install_errors: Callable[[FastAPI], None]) -> None:
    """Serve the MLflow tracking and artifact APIs (kept out of seedbed's OpenAPI document).

    One router, mounted at each base path ahead of every seedbed route, so that a request is
    routed by its prefix first: walking the ~140 seedbed routes before MLflow's cost about a
    millisecond a call. A plain router, not a sub-application, so that a call passes through
    one middleware stack, not two; auth runs before it and its errors reach the app's own
    handlers. So `install_errors` is no longer used; it stays until create_app stops passing it.
    """
    mlflow = APIRouter()
    for api in (router, mlflow_models.router, mlflow_registry.router):
        mlflow.include_router(api, prefix="/mlflow")
    mlflow.include_router(mlflow_artifacts.router, prefix="/mlflow-artifacts")
    # Inserted at the front: app.mount would append them after the routers included so far.
    app.router.routes[:0] = [Mount(base, app=mlflow) for base in ("/api/2.0", "/ajax-api/2.0")]
    app.include_router(version_router, include_in_schema=False)


@version_router.get("/version")
def version() -> PlainTextResponse:
    return PlainTextResponse(MLFLOW_VERSION)


# --- experiments -------------------------------------------------------------------------------


def _experiment(workspace: Workspace, raw_id: str | int | None) -> Experiment:
    experiment_id = parse_experiment_id(raw_id)
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        return experiment_service.ensure_default_experiment(workspace)
    return experiment_service.get_experiment(workspace, experiment_id)


def _experiment_json(workspace: Workspace, experiment: Experiment) -> Json:
    tags = experiment_service.tags_of(workspace, [experiment.id])[experiment.id]
    return experiment_json(experiment, tags)


def _tags(items: list[KeyValue]) -> dict[str, str]:
    return {item.key: item.text for item in items}


@router.post("/experiments/create")
def create_experiment(body: CreateExperiment, workspace: WorkspaceDep, user: EditorUser) -> Json:
    # artifact_location is not honoured: seedbed keeps every artifact in its own store.
    experiment = experiment_service.create_experiment(
        workspace, body.name, user=user.username, tags=_tags(body.tags)
    )
    return {"experiment_id": str(experiment.id)}


@router.get("/experiments/get")
def get_experiment(
    experiment_id: Annotated[str, Query()], workspace: WorkspaceDep, user: CurrentUser
) -> Json:
    return {"experiment": _experiment_json(workspace, _experiment(workspace, experiment_id))}


@router.get("/experiments/get-by-name")
def get_experiment_by_name(
    experiment_name: Annotated[str, Query()], workspace: WorkspaceDep, user: CurrentUser
) -> Json:
    try:
        experiment = experiment_service.get_experiment_by_name(workspace, experiment_name)
    except NotFound:
        if experiment_name != DEFAULT_EXPERIMENT_NAME:
            raise
        experiment = experiment_service.ensure_default_experiment(workspace)
    return {"experiment": _experiment_json(workspace, experiment)}


def _search_experiments(workspace: Workspace, request: SearchExperiments) -> Json:
    offset = decode_page_token(request.page_token)
    found, more = experiment_service.search_experiments(
        workspace,
        view_type=enum_name(request.view_type, VIEW_TYPES, "view_type") or "ACTIVE_ONLY",
        filter_string=request.filter or "",
        order_by=request.order_by,
        max_results=request.max_results,
        offset=offset,
    )
    tags = experiment_service.tags_of(workspace, [e.id for e in found])
    response: Json = {"experiments": [experiment_json(e, tags[e.id]) for e in found]}
    if more:
        response["next_page_token"] = encode_page_token(offset + len(found))
    return response


@router.post("/experiments/search")
def search_experiments(body: SearchExperiments, workspace: WorkspaceDep, user: CurrentUser) -> Json:
    return _search_experiments(workspace, body)


@router.get("/experiments/search")
def search_experiments_get(
    workspace: WorkspaceDep,
    user: CurrentUser,
    max_results: int = 1000,
    page_token: str | None = None,
    filter: str = "",
    order_by: Annotated[list[str] | None, Query()] = None,
    view_type: str = "ACTIVE_ONLY",
) -> Json:
    request = SearchExperiments(
        max_results=max_results,
        page_token=page_token,
        filter=filter,
        order_by=order_by or [],
        view_type=view_type,
    )
    return _search_experiments(workspace, request)


@router.post("/experiments/update")
def update_experiment(body: UpdateExperiment, workspace: WorkspaceDep, user: EditorUser) -> Json:
    experiment = _experiment(workspace, body.experiment_id)
    experiment_service.rename_experiment(workspace, experiment.id, body.new_name, user.username)
    return {}


@router.post("/experiments/delete")
def delete_experiment(body: ExperimentRef, workspace: WorkspaceDep, user: EditorUser) -> Json:
    experiment = _experiment(workspace, body.experiment_id)
    experiment_service.delete_experiment(workspace, experiment.id, user.username)
    return {}


@router.post("/experiments/restore")
def restore_experiment(body: ExperimentRef, workspace: WorkspaceDep, user: EditorUser) -> Json:
    experiment = _experiment(workspace, body.experiment_id)
    experiment_service.restore_experiment(workspace, experiment.id, user.username)
    return {}


@router.post("/experiments/set-experiment-tag")
def set_experiment_tag(body: SetExperimentTag, workspace: WorkspaceDep, user: EditorUser) -> Json:
    experiment = _experiment(workspace, body.experiment_id)
    experiment_service.set_experiment_tag(workspace, experiment.id, body.key, body.text)
    return {}


@router.post("/experiments/delete-experiment-tag")
def delete_experiment_tag(
    body: DeleteExperimentTag, workspace: WorkspaceDep, user: EditorUser
) -> Json:
    experiment = _experiment(workspace, body.experiment_id)
    experiment_service.delete_experiment_tag(workspace, experiment.id, body.key)
    return {}


# --- runs --------------------------------------------------------------------------------------


def _runs_json(workspace: Workspace, runs: list[Run]) -> list[Json]:
    ids = [run.id for run in runs]
    latest = run_service.latest_metric_points(workspace, ids)
    datasets = inputs_service.dataset_inputs(workspace, ids)
    return [run_json(run, latest[run.id], datasets[run.id]) for run in runs]


def _json(content: Json) -> Response:
    # For the calls every MLflow run makes (create, log-batch, get, update): pydantic-core
    # writes the dict straight to bytes, where FastAPI would first validate it against `Json`
    # and then encode it with the json module. Floats here are finite (see float_json).
    return Response(pydantic_core.to_json(content), media_type="application/json")


# Every MLflow run makes four calls (create, log-batch, get for the client's "View run" line,
# update), each a handful of statements that SQLite (WAL, synchronous=NORMAL: a commit does
# not wait for the disk) finishes in well under a millisecond, less than the hand-off to the
# threadpool and back costs. So on SQLite they run on the event loop, blocking it for that
# long, or, while another request holds the write lock, until it lets go (the longest holders,
# 1,000-point batches, take ~20 ms). A batch of more than INLINE_ITEMS items, and every call
# on PostgreSQL (a network round trip a statement), still goes to the threadpool.
INLINE_ITEMS = 100


async def _short(workspace: Workspace, work: Callable[[], T], items: int = 0) -> T:
    """`work()`, on the event loop where it is short (see above), else in the threadpool."""
    if items <= INLINE_ITEMS and workspace.engine.dialect.name == "sqlite":
        return work()
    return await run_in_threadpool(work)


@router.post("/runs/create")
async def create_run(body: CreateRun, workspace: WorkspaceDep, user: EditorUser) -> Response:
    run = await _short(workspace, lambda: _create_run(body, workspace, user))
    return _json({"run": run_json(run, {}, [])})  # a new run has no metrics or inputs yet


def _create_run(body: CreateRun, workspace: Workspace, user: User) -> Run:
    if body.experiment_id in (None, ""):
        raise MlflowError("Missing value for required parameter 'experiment_id'.")
    experiment_id = parse_experiment_id(body.experiment_id)
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        experiment_service.ensure_default_experiment(workspace)
    tags = _tags(body.tags)
    # Named here, not by start_run, so that the mlflow.runName tag mirrors the name from the start
    # (start_run refuses a run_name and a tag that differ).
    name = body.run_name or tags.get(RUN_NAME_TAG) or uuid.uuid4().hex[:8]
    return run_service.start_run(  # checks the experiment, in the same transaction
        workspace,
        experiment_id,
        name=name,
        user=tags.get(USER_TAG) or body.user_id or user.username,
        tags={RUN_NAME_TAG: name, **tags},
        start_time=body.start_time or None,
        actor=user.username,
    )


@router.get("/runs/get")
async def get_run(
    workspace: WorkspaceDep,
    user: CurrentUser,
    run_id: str | None = None,
    run_uuid: str | None = None,
) -> Response:
    ref = RunRef(run_id=run_id, run_uuid=run_uuid).id
    return _json({"run": await _short(workspace, lambda: _run_json(workspace, ref))})


def _run_json(workspace: Workspace, run_id: str) -> Json:
    run, latest = run_service.get_run_with_points(workspace, run_id)
    return run_json(run, latest, inputs_service.dataset_inputs(workspace, [run.id])[run.id])


@router.post("/runs/update")
async def update_run(body: UpdateRun, workspace: WorkspaceDep, user: EditorUser) -> Response:
    status = enum_name(body.status, RUN_STATUSES, "status")
    run = await _short(
        workspace,
        lambda: run_service.update_run(
            workspace, body.id, name=body.run_name or None, status=status, end_time=body.end_time
        ),
    )
    return _json({"run_info": run_info_json(run)})


@router.post("/runs/delete")
def delete_run(body: RunRef, workspace: WorkspaceDep, user: EditorUser) -> Json:
    run_service.delete_run(workspace, body.id, user.username)
    return {}


@router.post("/runs/restore")
def restore_run(body: RunRef, workspace: WorkspaceDep, user: EditorUser) -> Json:
    run_service.restore_run(workspace, body.id, user.username)
    return {}


def _log(workspace: Workspace, run_id: str, **values: Any) -> None:
    """log_batch, with a param's second, different value answered as MLflow does (400)."""
    try:
        run_service.log_batch(workspace, run_id, **values)
    except Conflict as exc:
        raise MlflowError(str(exc)) from exc


@router.post("/runs/log-parameter")
def log_param(body: LogParam, workspace: WorkspaceDep, user: EditorUser) -> Json:
    _log(workspace, body.id, params={body.key: body.text})
    return {}


@router.post("/runs/log-metric")
def log_metric(body: LogMetric, workspace: WorkspaceDep, user: EditorUser) -> Json:
    point = LoggedMetric(body.key, body.value, body.step, body.timestamp)
    _log(workspace, body.id, metrics=[point])
    return {}


async def _log_batch_body(request: Request) -> LogBatch:
    # The hot path of metric ingest: pydantic reads the JSON bytes itself, which is about
    # twice as fast as FastAPI's json.loads followed by validating the Python objects.
    raw = await request.body()
    try:
        return LogBatch.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from exc


@router.post("/runs/log-batch")
async def log_batch(
    body: Annotated[LogBatch, Depends(_log_batch_body)],
    request: Request,
    workspace: WorkspaceDep,
    user: EditorUser,
) -> Response:
    _check_batch_limits(body, int(request.headers.get("content-length") or 0))
    params = run_service.unique_values("Param", ((p.key, p.text) for p in body.params))
    # A metric with a model_id is log_model copying the run's own points to the logged model;
    # seedbed keeps no per-model metrics, and storing the copy would double the run's history.
    metrics = [
        (m["key"], m["value"], m.get("step", 0), m.get("timestamp"))
        for m in body.metrics
        if not m.get("model_id")
    ]
    tags = _tags(body.tags)
    items = len(metrics) + len(params) + len(tags)
    await _short(
        workspace,
        lambda: _log(workspace, body.id, metrics=metrics, params=params, tags=tags),
        items,
    )
    return _json({})


def _check_batch_limits(body: LogBatch, size: int) -> None:
    counts = {"metrics": len(body.metrics), "params": len(body.params), "tags": len(body.tags)}
    limits = {
        "metrics": MAX_BATCH_METRICS,
        "params": MAX_BATCH_PARAMS_OR_TAGS,
        "tags": MAX_BATCH_PARAMS_OR_TAGS,
    }
    for kind, count in counts.items():
        if count > limits[kind]:
            raise MlflowError(
                f"A batch may hold at most {limits[kind]} {kind}; this one has {count}. "
                "Split it into several log-batch calls."
            )
    if sum(counts.values()) > MAX_BATCH_ENTITIES:
        raise MlflowError(f"A batch may hold at most {MAX_BATCH_ENTITIES} items in all.")
    if size > MAX_BATCH_BYTES:
        raise MlflowError(f"A batch may be at most {MAX_BATCH_BYTES} bytes; this one is {size}.")


@router.post("/runs/set-tag")
def set_tag(body: SetTag, workspace: WorkspaceDep, user: EditorUser) -> Json:
    _log(workspace, body.id, tags={body.key: body.text})
    return {}


@router.post("/runs/delete-tag")
def delete_tag(body: DeleteTag, workspace: WorkspaceDep, user: EditorUser) -> Json:
    run_service.delete_tag(workspace, body.id, body.key)
    return {}


@router.post("/runs/log-inputs")
def log_inputs(body: LogInputs, workspace: WorkspaceDep, user: EditorUser) -> Json:
    inputs = [
        DatasetInput(
            name=item.dataset.name,
            digest=item.dataset.digest,
            source_type=item.dataset.source_type,
            source=item.dataset.source,
            schema=item.dataset.schema_,
            profile=item.dataset.profile,
            tags=_tags(item.tags),
        )
        for item in body.datasets
    ]
    inputs_service.log_dataset_inputs(workspace, body.id, inputs)
    return {}


@router.post("/runs/search")
def search_runs(body: SearchRuns, workspace: WorkspaceDep, user: CurrentUser) -> Json:
    # Imported here: seedbed.tracking.search is its own piece of work, and this module must
    # import (and serve everything else) without it.
    from seedbed.tracking.search import search_runs as search

    ids = [_experiment(workspace, raw).id for raw in body.experiment_ids]
    found, token = search(
        workspace,
        ids,
        filter_string=body.filter or "",
        run_view_type=enum_name(body.run_view_type, VIEW_TYPES, "run_view_type") or "ACTIVE_ONLY",
        max_results=body.max_results,
        order_by=body.order_by or None,
        page_token=body.page_token or None,
    )
    response: Json = {"runs": _runs_json(workspace, found)}
    if token:
        response["next_page_token"] = token
    return response


@router.get("/metrics/get-history")
def get_metric_history(
    metric_key: Annotated[str, Query()],
    workspace: WorkspaceDep,
    user: CurrentUser,
    run_id: str | None = None,
    run_uuid: str | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
) -> Response:
    if max_results is not None and max_results <= 0:
        raise MlflowError(f"max_results must be a positive integer, not {max_results}.")
    run = RunRef(run_id=run_id, run_uuid=run_uuid).id
    offset = decode_page_token(page_token)
    # One extra point tells whether another page follows; a limit past any SQL integer is none.
    limit = None if max_results is None or max_results >= INT64_MAX else max_results + 1
    points = run_service.metric_history(workspace, run, metric_key, offset=offset, limit=limit)
    response: Json = {"metrics": [metric_json(metric_key, p) for p in points[:max_results]]}
    if max_results is not None and len(points) > max_results:
        response["next_page_token"] = encode_page_token(offset + max_results)
    # Pages hold up to 25,000 points: skip FastAPI's per-item encoding; pydantic-core's
    # encoder writes them about three times faster than the json module.
    return Response(pydantic_core.to_json(response), media_type="application/json")
