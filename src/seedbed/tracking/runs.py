"""Runs: one attempt at a model, with write-once params, metric series, tags and artifacts."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import RowMapping, and_, select
from sqlalchemy.engine import Connection

from seedbed.auth import audit
from seedbed.db import now_ms
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.tracking.experiments import get_experiment
from seedbed.tracking.tables import latest_metrics, metrics, run_params, run_tags, runs
from seedbed.workspace import Workspace

STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
MAX_KEY = 250


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

    @property
    def artifact_key(self) -> str:
        """Where the run's artifacts live in the workspace's artifact store."""
        return f"runs/{self.id}/artifacts"


@dataclass(frozen=True)
class MetricPoint:
    value: float
    step: int
    timestamp: int


def _check_key(kind: str, key: str) -> None:
    if not key or len(key) > MAX_KEY or key != key.strip():
        raise Invalid(f"{kind} name {key!r} must be 1 to {MAX_KEY} characters, no outer spaces.")


def start_run(
    workspace: Workspace,
    experiment_id: int,
    name: str = "",
    user: str = "",
    tags: Mapping[str, str] | None = None,
) -> Run:
    """Open a RUNNING run in an existing experiment."""
    experiment = get_experiment(workspace, experiment_id)
    if experiment.lifecycle_stage != "active":
        raise Invalid(f"Experiment {experiment.name!r} is deleted; restore it before logging.")
    run_id = uuid.uuid4().hex
    with workspace.engine.begin() as connection:
        connection.execute(
            runs.insert().values(
                id=run_id,
                experiment_id=experiment_id,
                name=name or run_id[:8],
                user=user,
                status="RUNNING",
                start_time=now_ms(),
                end_time=None,
                lifecycle_stage="active",
                artifact_uri=workspace.artifacts.uri(f"runs/{run_id}/artifacts"),
            )
        )
    if tags:
        set_tags(workspace, run_id, tags)
    audit.record(workspace, user or None, "run.create", run_id, experiment=experiment.name)
    return get_run(workspace, run_id)


def _require_run(connection: Connection, run_id: str) -> RowMapping:
    row = connection.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
    if row is None:
        raise NotFound(f"No run with id {run_id!r}.")
    return row


def log_params(workspace: Workspace, run_id: str, params: Mapping[str, Any]) -> None:
    """Record params; a param is written once, and logging a different value is a Conflict."""
    for key in params:
        _check_key("Param", key)
    with workspace.engine.begin() as connection:
        _require_run(connection, run_id)
        existing = dict(
            connection.execute(
                select(run_params.c.key, run_params.c.value).where(
                    run_params.c.run_id == run_id, run_params.c.key.in_(list(params))
                )
            ).all()
        )
        new = []
        for key, value in params.items():
            text = str(value)
            if key in existing:
                if existing[key] != text:
                    raise Conflict(
                        f"Param {key!r} of run {run_id} is already {existing[key]!r}; params "
                        f"are write-once, so {text!r} was refused. Log it under another name."
                    )
                continue
            new.append({"run_id": run_id, "key": key, "value": text})
        if new:
            connection.execute(run_params.insert(), new)


def log_metrics(
    workspace: Workspace,
    run_id: str,
    values: Mapping[str, float],
    step: int = 0,
    timestamp: int | None = None,
) -> None:
    """Append one point per metric to its series and keep the latest-value table current."""
    stamp = timestamp if timestamp is not None else now_ms()
    points = []
    for key, value in values.items():
        _check_key("Metric", key)
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise Invalid(f"Metric {key!r} must be a number, got {value!r}.") from exc
        points.append(
            {"run_id": run_id, "key": key, "value": number, "step": step, "timestamp": stamp}
        )
    if not points:
        return
    with workspace.engine.begin() as connection:
        _require_run(connection, run_id)
        connection.execute(metrics.insert(), points)
        for point in points:
            _update_latest(connection, point)


def _update_latest(connection: Connection, point: dict[str, Any]) -> None:
    where = and_(latest_metrics.c.run_id == point["run_id"], latest_metrics.c.key == point["key"])
    current = connection.execute(
        select(latest_metrics.c.step, latest_metrics.c.timestamp).where(where)
    ).first()
    if current is None:
        connection.execute(latest_metrics.insert().values(**point))
    elif (point["step"], point["timestamp"]) >= (current.step, current.timestamp):
        connection.execute(
            latest_metrics.update()
            .where(where)
            .values(value=point["value"], step=point["step"], timestamp=point["timestamp"])
        )


def set_tags(workspace: Workspace, run_id: str, tags: Mapping[str, Any]) -> None:
    """Set tags; unlike params, a tag may be overwritten."""
    for key in tags:
        _check_key("Tag", key)
    with workspace.engine.begin() as connection:
        _require_run(connection, run_id)
        for key, value in tags.items():
            connection.execute(
                run_tags.delete().where(run_tags.c.run_id == run_id, run_tags.c.key == key)
            )
            connection.execute(run_tags.insert().values(run_id=run_id, key=key, value=str(value)))


def end_run(workspace: Workspace, run_id: str, status: str = "FINISHED") -> Run:
    """Close a run with a final status (FINISHED, FAILED or KILLED)."""
    if status not in STATUSES or status in ("RUNNING", "SCHEDULED"):
        raise Invalid(f"A run ends as FINISHED, FAILED or KILLED, not {status!r}.")
    with workspace.engine.begin() as connection:
        _require_run(connection, run_id)
        connection.execute(
            runs.update().where(runs.c.id == run_id).values(status=status, end_time=now_ms())
        )
    return get_run(workspace, run_id)


def get_run(workspace: Workspace, run_id: str) -> Run:
    """A run with its params, latest metrics and tags."""
    with workspace.engine.connect() as connection:
        row = _require_run(connection, run_id)
        run = _run(row)
        run.params = dict(
            connection.execute(
                select(run_params.c.key, run_params.c.value).where(run_params.c.run_id == run_id)
            ).all()
        )
        run.metrics = dict(
            connection.execute(
                select(latest_metrics.c.key, latest_metrics.c.value).where(
                    latest_metrics.c.run_id == run_id
                )
            ).all()
        )
        run.tags = dict(
            connection.execute(
                select(run_tags.c.key, run_tags.c.value).where(run_tags.c.run_id == run_id)
            ).all()
        )
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
    )


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
        by_id = {run.id: run for run in found}
        if not by_id:
            return []
        ids = list(by_id)
        for table, attribute in (
            (run_params, "params"),
            (latest_metrics, "metrics"),
            (run_tags, "tags"),
        ):
            rows = connection.execute(
                select(table.c.run_id, table.c.key, table.c.value).where(table.c.run_id.in_(ids))
            ).all()
            for run_id, key, value in rows:
                getattr(by_id[run_id], attribute)[key] = value
    return found


def metric_history(workspace: Workspace, run_id: str, key: str) -> list[MetricPoint]:
    """Every logged point of one metric, by step then time."""
    with workspace.engine.connect() as connection:
        _require_run(connection, run_id)
        rows = connection.execute(
            select(metrics.c.value, metrics.c.step, metrics.c.timestamp)
            .where(metrics.c.run_id == run_id, metrics.c.key == key)
            .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.id)
        ).all()
        return [MetricPoint(value=v, step=s, timestamp=t) for v, s, t in rows]
