"""Everything the run page shows about one run, gathered from the services that own it.

Header facts come from the tags clients record (MLflow's `mlflow.source.*`, seedbed's
`seedbed.*`); links reach the dataset versions a run read, the datasets an MLflow client
declared, the model versions registered from it and the models it logged. Charts read a
metric's history thinned on the server (`history.downsample`), never the whole series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy import func, select

from seedbed.data import datasets as dataset_service
from seedbed.errors import NotFound
from seedbed.registry import logged_models
from seedbed.registry.logged_models import LoggedModel
from seedbed.registry.models import ModelVersion, versions_of_run
from seedbed.tracking import experiments as experiment_service
from seedbed.tracking import runs as run_service
from seedbed.tracking.experiments import Experiment
from seedbed.tracking.history import downsample
from seedbed.tracking.inputs import DatasetInput, dataset_inputs
from seedbed.tracking.runs import Run
from seedbed.tracking.tables import metrics, run_tags, runs
from seedbed.workspace import Workspace

CHART_POINTS = 1000  # the most points one chart is sent, whatever the browser asks for
PARENT_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"
# Tags shown in the page header, in this order, with a label a person reads.
FACT_TAGS = {
    "mlflow.source.name": "Source",
    "mlflow.source.type": "Source type",
    "mlflow.source.git.commit": "Git commit",
    "mlflow.source.git.branch": "Git branch",
    "mlflow.source.git.repoURL": "Repository",
    "seedbed.code_version": "Code version",
    "seedbed.python_version": "Python",
    "seedbed.environment": "Environment",
    "seedbed.environment_lock": "Environment lock",
    "seedbed.lib_version": "lib/ version",
    "seedbed.resource_profile": "Resource profile",
}
SYSTEM_PREFIXES = ("mlflow.", "seedbed.")


@dataclass(frozen=True)
class ChartSeries:
    """One metric for a chart: `total` points logged, the (possibly thinned) ones sent."""

    key: str
    total: int
    steps: list[int]
    timestamps: list[int]
    values: list[float | None]  # NaN and infinities as None: JSON has no number for them


@dataclass(frozen=True)
class DeclaredInput:
    """A dataset an MLflow client declared; `in_seedbed` when a seedbed dataset has its name."""

    input: DatasetInput
    in_seedbed: bool


@dataclass(frozen=True)
class RunView:
    run: Run
    experiment: Experiment
    facts: list[tuple[str, str, str]]  # (label, tag key, value)
    note: str
    parent: Run | None
    parent_id: str | None
    children: list[Run]
    user_tags: dict[str, str]
    system_tags: dict[str, str]
    charted: list[tuple[str, int]]  # metrics with more than one point, with their counts
    latest: list[tuple[str, float, int]]  # every metric: latest value, number of points
    datasets: list[tuple[str, int]]
    declared: list[DeclaredInput]
    versions: list[ModelVersion]
    models: list[LoggedModel] = field(default_factory=list)


def metric_counts(workspace: Workspace, run_id: str) -> dict[str, int]:
    """How many points each metric of a run has."""
    query = (
        select(metrics.c.key, func.count())
        .where(metrics.c.run_id == run_id)
        .group_by(metrics.c.key)
        .order_by(metrics.c.key)
    )
    with workspace.engine.connect() as connection:
        return {key: int(count) for key, count in connection.execute(query)}


def chart_series(
    workspace: Workspace, run_id: str, key: str, max_points: int = CHART_POINTS
) -> ChartSeries:
    """A metric's points for a chart: at most `CHART_POINTS`, shape kept (spikes survive)."""
    points = run_service.metric_history(workspace, run_id, key)
    if not points:
        raise NotFound(f"Run {run_id} has no metric {key!r}.")
    shown = downsample(points, min(max_points, CHART_POINTS))
    return ChartSeries(
        key=key,
        total=len(points),
        steps=[p.step for p in shown],
        timestamps=[p.timestamp for p in shown],
        values=[p.value if math.isfinite(p.value) else None for p in shown],
    )


def logged_models_of_run(workspace: Workspace, run: Run) -> list[LoggedModel]:
    """The MLflow 3 logged models a run produced (their files live outside the run)."""
    found, _ = logged_models.search(
        workspace, [run.experiment_id], f"source_run_id = '{run.id}'", max_results=1000
    )
    return found


def get_logged_model(workspace: Workspace, run: Run, model_id: str) -> LoggedModel:
    """A logged model of this run; NotFound for any other model id."""
    model = logged_models.get(workspace, model_id)
    if model.source_run_id != run.id:
        raise NotFound(f"Logged model {model_id} was not logged by run {run.id}.")
    return model


def child_runs(workspace: Workspace, run_id: str) -> list[Run]:
    """Active runs whose parent (tag mlflow.parentRunId) is `run_id`, oldest first."""
    query = (
        select(runs.c.id)
        .join(run_tags, run_tags.c.run_id == runs.c.id)
        .where(
            run_tags.c.key == PARENT_TAG,
            run_tags.c.value == run_id,
            runs.c.lifecycle_stage == "active",
        )
        .order_by(runs.c.start_time)
    )
    with workspace.engine.connect() as connection:
        ids = list(connection.execute(query).scalars())
    return [run_service.get_run(workspace, child) for child in ids]


def _declared(workspace: Workspace, inputs: list[DatasetInput]) -> list[DeclaredInput]:
    if not inputs:
        return []
    known = {dataset.name for dataset in dataset_service.list_datasets(workspace)}
    return [DeclaredInput(item, item.name in known) for item in inputs]


def _parent(workspace: Workspace, parent_id: str | None) -> Run | None:
    if not parent_id:
        return None
    try:
        return run_service.get_run(workspace, parent_id)
    except NotFound:
        return None  # the page shows the id without a link


def run_view(workspace: Workspace, run_id: str) -> RunView:
    """One run with its header facts, links and metric summary (NotFound when unknown)."""
    run = run_service.get_run(workspace, run_id)
    counts = metric_counts(workspace, run_id)
    tags = run.tags
    parent_id = tags.get(PARENT_TAG)
    shown = set(FACT_TAGS) | {PARENT_TAG, NOTE_TAG, run_service.RUN_NAME_TAG}
    return RunView(
        run=run,
        experiment=experiment_service.get_experiment(workspace, run.experiment_id),
        facts=[(label, key, tags[key]) for key, label in FACT_TAGS.items() if tags.get(key)],
        note=tags.get(NOTE_TAG, ""),
        parent=_parent(workspace, parent_id),
        parent_id=parent_id,
        children=child_runs(workspace, run_id),
        user_tags={k: v for k, v in tags.items() if not k.startswith(SYSTEM_PREFIXES)},
        system_tags={
            k: v for k, v in tags.items() if k.startswith(SYSTEM_PREFIXES) and k not in shown
        },
        charted=[(key, count) for key, count in counts.items() if count > 1],
        latest=[(key, run.metrics.get(key, math.nan), count) for key, count in counts.items()],
        datasets=dataset_service.inputs_of_runs(workspace, [run_id])[run_id],
        declared=_declared(workspace, dataset_inputs(workspace, [run_id])[run_id]),
        versions=versions_of_run(workspace, run_id),
        models=logged_models_of_run(workspace, run),
    )
