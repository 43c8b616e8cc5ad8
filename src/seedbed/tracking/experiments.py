"""Experiments: named groups of runs that answer one question."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from seedbed.auth import audit
from seedbed.db import now_ms
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.tracking.tables import experiments, runs
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class Experiment:
    id: int
    name: str
    description: str
    artifact_location: str
    lifecycle_stage: str
    created_at: int
    updated_at: int
    run_count: int = 0


def _experiment(row: object, run_count: int = 0) -> Experiment:
    m = row._mapping  # type: ignore[attr-defined]
    return Experiment(
        id=m["id"],
        name=m["name"],
        description=m["description"],
        artifact_location=m["artifact_location"],
        lifecycle_stage=m["lifecycle_stage"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        run_count=run_count,
    )


def create_experiment(
    workspace: Workspace, name: str, description: str = "", user: str | None = None
) -> Experiment:
    """Create an experiment; its name must be unique in the workspace."""
    name = name.strip()
    if not name or len(name) > 500:
        raise Invalid("An experiment needs a name of 1 to 500 characters.")
    now = now_ms()
    try:
        with workspace.engine.begin() as connection:
            new_id = connection.execute(
                experiments.insert().values(
                    name=name,
                    description=description,
                    artifact_location="",
                    lifecycle_stage="active",
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key
            assert new_id is not None
            location = workspace.artifacts.uri(f"experiments/{new_id[0]}")
            connection.execute(
                experiments.update()
                .where(experiments.c.id == new_id[0])
                .values(artifact_location=location)
            )
    except IntegrityError as exc:
        raise Conflict(f"An experiment named {name!r} already exists.") from exc
    audit.record(workspace, user, "experiment.create", name)
    return get_experiment(workspace, new_id[0])


def get_experiment(workspace: Workspace, experiment_id: int) -> Experiment:
    with workspace.engine.connect() as connection:
        row = connection.execute(
            select(experiments).where(experiments.c.id == experiment_id)
        ).first()
    if row is None:
        raise NotFound(f"No experiment with id {experiment_id}.")
    return _experiment(row)


def get_experiment_by_name(workspace: Workspace, name: str) -> Experiment:
    with workspace.engine.connect() as connection:
        row = connection.execute(select(experiments).where(experiments.c.name == name)).first()
    if row is None:
        raise NotFound(f"No experiment named {name!r}.")
    return _experiment(row)


def get_or_create_experiment(
    workspace: Workspace, name: str, user: str | None = None
) -> Experiment:
    try:
        return get_experiment_by_name(workspace, name)
    except NotFound:
        return create_experiment(workspace, name, user=user)


def list_experiments(workspace: Workspace) -> list[Experiment]:
    """Active experiments, newest first, each with its number of runs."""
    counts = (
        select(runs.c.experiment_id, func.count().label("n"))
        .where(runs.c.lifecycle_stage == "active")
        .group_by(runs.c.experiment_id)
        .subquery()
    )
    query = (
        select(experiments, func.coalesce(counts.c.n, 0).label("run_count"))
        .outerjoin(counts, counts.c.experiment_id == experiments.c.id)
        .where(experiments.c.lifecycle_stage == "active")
        .order_by(experiments.c.created_at.desc(), experiments.c.id.desc())
    )
    with workspace.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [_experiment(row, row._mapping["run_count"]) for row in rows]
