"""Runs: one attempt at a model, with write-once params, metric series, tags and artifacts."""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import (
    RowMapping,
    Select,
    Table,
    bindparam,
    select,
)
from sqlalchemy.engine import Connection

from seedbed.auth import audit
from seedbed.db import in_or_equal, insert_many, now_ms, upsert
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.tracking.experiments import get_experiment, read_experiment
from seedbed.tracking.metric_points import (
    MAX_KEY,
    POINT_COLUMNS,
    LoggedMetric,
    MetricPoint,
    check_key,
    metric_rows,
    update_latest,
)
from seedbed.tracking.tables import (
    latest_metrics,
    run_params,
    run_tags,
    runs,
)
from seedbed.tracking.tables import metrics as metric_points
from seedbed.workspace import Workspace

STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
# The limits MLflow's own server applies, so that a run always reads back in an MLflow client.
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
RUN_NAME_TAG = "mlflow.runName"  # MLflow's tag for the run name; kept equal to the name column


@dataclass
class Run:
    id: str
    experiment_id: int
    name: str
    user: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    lifecycle_stage: str = "active"

    @property
    def artifact_key(self) -> str:
        """Where the run's artifacts live in the workspace's artifact store."""
        return f"runs/{self.id}/artifacts"


def _check_name(name: str) -> None:
    if not name.strip() or len(name) > MAX_KEY:
        raise Invalid(f"A run name must be 1 to {MAX_KEY} characters.")


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise Invalid(f"Run status must be one of {', '.join(STATUSES)}, not {status!r}.")


def start_run(
    workspace: Workspace,
    experiment_id: int,
    name: str = "",
    user: str = "",
    tags: Mapping[str, str] | None = None,
    start_time: int | None = None,
    actor: str | None = None,
) -> Run:
    """Open a RUNNING run in an existing experiment; `actor` (default `user`) goes to the audit."""
    run_id = uuid.uuid4().hex
    # One transaction, experiment check included: run creation is the hot path of MLflow clients.
    with workspace.engine.begin() as connection:
        experiment = read_experiment(connection, experiment_id)
        if experiment.lifecycle_stage != "active":
            raise Invalid(f"Experiment {experiment.name!r} is deleted; restore it before logging.")
        texts = _texts("Tag", tags or {}, MAX_TAG_VALUE)
        name = name or texts.get(RUN_NAME_TAG, "")
        if name:
            _check_name(name)
        if texts.get(RUN_NAME_TAG, name) != name:
            raise Invalid(
                f"The run name {name!r} and the {RUN_NAME_TAG} tag differ; give one name."
            )
        run = Run(
            id=run_id,
            experiment_id=experiment_id,
            name=name or run_id[:8],
            user=user[:100],
            status="RUNNING",
            start_time=start_time or now_ms(),
            end_time=None,
            artifact_uri=workspace.artifacts.uri(f"runs/{run_id}/artifacts"),
            tags=texts,
        )
        values = {k: v for k, v in asdict(run).items() if k not in ("params", "metrics", "tags")}
        connection.execute(runs.insert(), values)
        # A new run has no tags to overwrite, and its name column already equals the tag.
        insert_many(connection, run_tags, TAG_COLUMNS, [(run_id, k, v) for k, v in texts.items()])
        audit.append(
            connection, actor or user or None, "run.create", run_id, experiment=experiment.name
        )
    return run


TAG_COLUMNS = ("run_id", "key", "value")  # of params too


# Statements of the per-run hot paths, built once: making a statement and its cache key
# anew costs SQLAlchemy two to four times what SQLite then spends running it.
_RUN = select(runs).where(runs.c.id == bindparam("run_id"))


@functools.cache
def _of_one_run(table: Table, columns: tuple[str, ...]) -> Select[Any]:
    return select(*(table.c[name] for name in columns)).where(table.c.run_id == bindparam("run_id"))


def _of_runs(
    connection: Connection, table: Table, columns: tuple[str, ...], ids: Sequence[str]
) -> Iterable[Sequence[Any]]:
    """`columns` of the rows of `table` that belong to the runs `ids`."""
    if len(ids) == 1:
        return connection.execute(_of_one_run(table, columns), {"run_id": ids[0]})
    found = [table.c[name] for name in columns]
    return connection.execute(select(*found).where(table.c.run_id.in_(list(ids))))


def _require_run(connection: Connection, run_id: str) -> RowMapping:
    row = connection.execute(_RUN, {"run_id": run_id}).mappings().first()
    if row is None:
        raise NotFound(f"No run with id {run_id!r}.")
    return row


def _require_active_run(connection: Connection, run_id: str) -> RowMapping:
    row = _require_run(connection, run_id)
    if row["lifecycle_stage"] != "active":
        raise Invalid(f"Run {run_id} is deleted; restore it before changing it.")
    return row


def log_params(workspace: Workspace, run_id: str, params: Mapping[str, Any]) -> None:
    """Record params; a param is written once, and logging a different value is a Conflict."""
    log_batch(workspace, run_id, params=params)


def log_metrics(
    workspace: Workspace,
    run_id: str,
    values: Mapping[str, float],
    step: int = 0,
    timestamp: int | None = None,
) -> None:
    """Append one point per metric to its series and keep the latest-value table current."""
    points = [LoggedMetric(key, value, step, timestamp) for key, value in values.items()]
    log_batch(workspace, run_id, metrics=points)


def set_tags(workspace: Workspace, run_id: str, tags: Mapping[str, Any]) -> None:
    """Set tags; unlike params, a tag may be overwritten."""
    log_batch(workspace, run_id, tags=tags)


def log_batch(
    workspace: Workspace,
    run_id: str,
    metrics: Sequence[tuple[str, Any, Any, Any]] = (),
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> None:
    """Log metrics, params and tags together: all are written, or (on any error) none."""
    points = metric_rows(run_id, metrics)
    param_texts = _texts("Param", params or {}, MAX_PARAM_VALUE)
    tag_texts = _texts("Tag", tags or {}, MAX_TAG_VALUE)
    if not (points or param_texts or tag_texts):
        with workspace.engine.connect() as connection:
            _require_run(connection, run_id)
        return
    with workspace.engine.begin() as connection:
        _require_active_run(connection, run_id)
        _insert_params(connection, run_id, param_texts)
        _write_tags(connection, run_id, tag_texts)
        if points:
            insert_many(connection, metric_points, POINT_COLUMNS, points)
            update_latest(connection, run_id, points)


def unique_values(kind: str, pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Key-value pairs of one request as a dict; a key given twice must repeat its value."""
    found: dict[str, str] = {}
    for key, value in pairs:
        if found.get(key, value) != value:
            raise Invalid(f"{kind} {key!r} is given twice with different values.")
        found[key] = value
    return found


def _texts(kind: str, values: Mapping[str, Any], limit: int) -> dict[str, str]:
    texts = {}
    for key, value in values.items():
        check_key(kind, key)
        texts[key] = str(value)
        if len(texts[key]) > limit:
            raise Invalid(
                f"{kind} {key!r} is {len(texts[key])} characters long; the limit is {limit}."
            )
    return texts


def _insert_params(connection: Connection, run_id: str, params: dict[str, str]) -> None:
    # Insert what is new, then compare: a concurrent writer's value is seen either way.
    if not params:
        return
    rows = [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()]
    if upsert(connection, run_params, rows, ("run_id", "key")) == len(rows):
        return  # every param was new, so each holds the value given
    stored = dict(
        connection.execute(
            select(run_params.c.key, run_params.c.value).where(
                run_params.c.run_id == run_id, run_params.c.key.in_(list(params))
            )
        ).all()
    )
    for key, text in params.items():
        if stored[key] != text:
            raise Conflict(
                f"Param {key!r} of run {run_id} is already {stored[key]!r}; params "
                f"are write-once, so {text!r} was refused. Log it under another name."
            )


def _write_tags(connection: Connection, run_id: str, tags: dict[str, str]) -> None:
    if not tags:
        return
    if RUN_NAME_TAG in tags:
        _check_name(tags[RUN_NAME_TAG])
        connection.execute(runs.update().where(runs.c.id == run_id).values(name=tags[RUN_NAME_TAG]))
    rows = [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
    upsert(connection, run_tags, rows, ("run_id", "key"), update=("value",))


def delete_tag(workspace: Workspace, run_id: str, key: str) -> None:
    """Remove one tag; a missing tag is NotFound."""
    with workspace.engine.begin() as connection:
        _require_active_run(connection, run_id)
        gone = connection.execute(
            run_tags.delete().where(run_tags.c.run_id == run_id, run_tags.c.key == key)
        ).rowcount
    if not gone:
        raise NotFound(f"Run {run_id} has no tag {key!r}.")


def end_run(workspace: Workspace, run_id: str, status: str = "FINISHED") -> Run:
    """Close a run with a final status (FINISHED, FAILED or KILLED)."""
    if status not in STATUSES or status in ("RUNNING", "SCHEDULED"):
        raise Invalid(f"A run ends as FINISHED, FAILED or KILLED, not {status!r}.")
    update_run(workspace, run_id, status=status, end_time=now_ms())
    return get_run(workspace, run_id)


def update_run(
    workspace: Workspace,
    run_id: str,
    *,
    name: str | None = None,
    status: str | None = None,
    end_time: int | None = None,
) -> Run:
    """Change a run's name, status or end time; what is None stays as it is.

    Returns the run as it now is, without its params, metrics and tags (get_run reads those)."""
    values: dict[str, Any] = {}
    if name is not None:
        _check_name(name)
    if status is not None:
        _check_status(status)
        values["status"] = status
    if end_time is not None:
        values["end_time"] = end_time
    with workspace.engine.begin() as connection:
        run = _run(_require_active_run(connection, run_id))
        if values:
            connection.execute(runs.update().where(runs.c.id == run_id).values(**values))
        if name is not None:
            _write_tags(connection, run_id, {RUN_NAME_TAG: name})  # sets the name column too
    return replace(run, **values, name=run.name if name is None else name)


def set_lifecycle(workspace: Workspace, run_id: str, stage: str, user: str | None = None) -> None:
    """Delete ("deleted") or restore ("active") a run; both are idempotent, as in MLflow."""
    if stage not in ("active", "deleted"):
        raise Invalid(f"A run is 'active' or 'deleted', not {stage!r}.")
    with workspace.engine.begin() as connection:
        _require_run(connection, run_id)
        connection.execute(runs.update().where(runs.c.id == run_id).values(lifecycle_stage=stage))
    audit.record(workspace, user, "run.delete" if stage == "deleted" else "run.restore", run_id)


def delete_run(workspace: Workspace, run_id: str, user: str | None = None) -> None:
    """Mark a run deleted: hidden from lists, kept with its data until restored."""
    set_lifecycle(workspace, run_id, "deleted", user)


def restore_run(workspace: Workspace, run_id: str, user: str | None = None) -> None:
    """Bring a deleted run back."""
    set_lifecycle(workspace, run_id, "active", user)


def move_run(workspace: Workspace, run_id: str, experiment_id: int, user: str | None = None) -> Run:
    """Put a run into another (active) experiment; its artifacts stay where they are."""
    experiment = get_experiment(workspace, experiment_id)
    if experiment.lifecycle_stage != "active":
        raise Invalid(f"Experiment {experiment.name!r} is deleted; restore it first.")
    with workspace.engine.begin() as connection:
        _require_active_run(connection, run_id)
        connection.execute(
            runs.update().where(runs.c.id == run_id).values(experiment_id=experiment_id)
        )
    audit.record(workspace, user, "run.move", run_id, experiment=experiment.name)
    return get_run(workspace, run_id)


def get_run(workspace: Workspace, run_id: str) -> Run:
    """A run (deleted ones too) with its params, latest metrics and tags."""
    with workspace.engine.connect() as connection:
        run = _run(_require_run(connection, run_id))
        _fill(connection, {run.id: run})
    return run


def _run(row: RowMapping) -> Run:
    return Run(
        id=row["id"],
        experiment_id=row["experiment_id"],
        name=row["name"],
        user=row["user"],
        status=row["status"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        artifact_uri=row["artifact_uri"],
        lifecycle_stage=row["lifecycle_stage"],
    )


def get_run_with_points(workspace: Workspace, run_id: str) -> tuple[Run, dict[str, MetricPoint]]:
    """get_run, with the latest point (value, step and time) of each of the run's metrics."""
    points: dict[str, dict[str, MetricPoint]] = {run_id: {}}
    with workspace.engine.connect() as connection:
        run = _run(_require_run(connection, run_id))
        _fill(connection, {run.id: run}, points)
    return run, points[run_id]


def _fill(
    connection: Connection,
    by_id: dict[str, Run],
    points: dict[str, dict[str, MetricPoint]] | None = None,
) -> None:
    """Give each run its params, tags and latest metric values; `points`, when given (a dict
    per run), receives the latest points themselves."""
    ids = list(by_id)
    for table, attribute in ((run_params, "params"), (run_tags, "tags")):
        for run_id, key, value in _of_runs(connection, table, TAG_COLUMNS, ids):
            getattr(by_id[run_id], attribute)[key] = value
    for run_id, key, value, is_nan, step, timestamp in _of_runs(
        connection, latest_metrics, POINT_COLUMNS, ids
    ):
        number = math.nan if is_nan else value
        by_id[run_id].metrics[key] = number
        if points is not None:
            points[run_id][key] = MetricPoint(number, step, timestamp)


def list_runs(workspace: Workspace, experiment_id: int) -> list[Run]:
    """Active runs of an experiment, newest first, with params, latest metrics and tags."""
    get_experiment(workspace, experiment_id)
    query = (
        select(runs)
        .where(runs.c.experiment_id == experiment_id, runs.c.lifecycle_stage == "active")
        .order_by(runs.c.start_time.desc())
    )
    with workspace.engine.connect() as connection:
        found = [_run(row) for row in connection.execute(query).mappings().all()]
        if found:
            _fill(connection, {run.id: run for run in found})
    return found


def runs_with_tag(workspace: Workspace, key: str, value: str) -> list[Run]:
    """Active runs carrying the tag `key` = `value`, oldest first, with params, metrics, tags."""
    tagged = select(run_tags.c.run_id).where(run_tags.c.key == key, run_tags.c.value == value)
    query = (
        select(runs)
        .where(runs.c.id.in_(tagged), runs.c.lifecycle_stage == "active")
        .order_by(runs.c.start_time)
    )
    with workspace.engine.connect() as connection:
        found = [_run(row) for row in connection.execute(query).mappings().all()]
        if found:
            _fill(connection, {run.id: run for run in found})
    return found


def metric_history(
    workspace: Workspace, run_id: str, key: str, offset: int = 0, limit: int | None = None
) -> list[MetricPoint]:
    """Logged points of one metric, by step then time: all, or `limit` from `offset`."""
    query = (
        select(
            metric_points.c.value,
            metric_points.c.is_nan,
            metric_points.c.step,
            metric_points.c.timestamp,
        )
        .where(metric_points.c.run_id == run_id, metric_points.c.key == key)
        .order_by(metric_points.c.step, metric_points.c.timestamp, metric_points.c.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    with workspace.engine.connect() as connection:
        _require_run(connection, run_id)
        return [
            MetricPoint(value=math.nan if is_nan else v, step=s, timestamp=t)
            for v, is_nan, s, t in connection.execute(query)
        ]


def latest_metric_points(
    workspace: Workspace, run_ids: Sequence[str]
) -> dict[str, dict[str, MetricPoint]]:
    """The latest point of every metric of each run, with its step and time."""
    found: dict[str, dict[str, MetricPoint]] = {run_id: {} for run_id in run_ids}
    if not run_ids:
        return found
    query = select(latest_metrics).where(in_or_equal(latest_metrics.c.run_id, run_ids))
    with workspace.engine.connect() as connection:
        for row in connection.execute(query).mappings():
            value = math.nan if row["is_nan"] else row["value"]
            found[row["run_id"]][row["key"]] = MetricPoint(value, row["step"], row["timestamp"])
    return found
