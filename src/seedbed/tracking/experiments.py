"""Experiments: named groups of runs that answer one question."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from seedbed.auth import audit
from seedbed.db import now_ms
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.tracking.tables import experiment_tags, experiments, runs
from seedbed.workspace import Workspace

# MLflow clients expect an experiment "0" called "Default"; seedbed makes it on first use.
DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT_NAME = "Default"
MAX_TAG_KEY = 250
MAX_TAG_VALUE = 20000  # MLflow's limit for experiment tags
VIEW_STAGES = {
    "ACTIVE_ONLY": ("active",),
    "DELETED_ONLY": ("deleted",),
    "ALL": ("active", "deleted"),
}


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


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 500:
        raise Invalid("An experiment needs a name of 1 to 500 characters.")
    return name


def create_experiment(
    workspace: Workspace,
    name: str,
    description: str = "",
    user: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Experiment:
    """Create an experiment; its name must be unique in the workspace."""
    name = _check_name(name)
    tag_rows = [_tag_row(0, key, value) for key, value in (tags or {}).items()]
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
            for row in tag_rows:
                connection.execute(
                    experiment_tags.insert().values({**row, "experiment_id": new_id[0]})
                )
    except IntegrityError as exc:
        raise Conflict(f"An experiment named {name!r} already exists.") from exc
    audit.record(workspace, user, "experiment.create", name)
    return get_experiment(workspace, new_id[0])


def get_experiment(workspace: Workspace, experiment_id: int) -> Experiment:
    with workspace.engine.connect() as connection:
        return read_experiment(connection, experiment_id)


# Built once: every run created reads its experiment (see runs.start_run).
_EXPERIMENT = select(experiments).where(experiments.c.id == bindparam("experiment_id"))


def read_experiment(connection: Connection, experiment_id: int) -> Experiment:
    """get_experiment inside the caller's transaction."""
    row = connection.execute(_EXPERIMENT, {"experiment_id": experiment_id}).first()
    if row is None:
        raise NotFound(f"No experiment with id {experiment_id}.")
    return _experiment(row)


def get_experiment_by_name(workspace: Workspace, name: str) -> Experiment:
    """The experiment with this name, deleted or not (a deleted one still holds its name)."""
    with workspace.engine.connect() as connection:
        row = connection.execute(select(experiments).where(experiments.c.name == name)).first()
    if row is None:
        raise NotFound(f"No experiment named {name!r}.")
    return _experiment(row)


def get_or_create_experiment(
    workspace: Workspace, name: str, user: str | None = None
) -> Experiment:
    """The experiment of that name, made if missing (by whichever of two racing callers wins)."""
    try:
        return get_experiment_by_name(workspace, name)
    except NotFound:
        pass
    try:
        return create_experiment(workspace, name, user=user)
    except Conflict:
        return get_experiment_by_name(workspace, name)


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


def ensure_default_experiment(workspace: Workspace) -> Experiment:
    """MLflow's default experiment, id 0, made the first time a client refers to it."""
    try:
        return get_experiment(workspace, DEFAULT_EXPERIMENT_ID)
    except NotFound:
        pass
    name = DEFAULT_EXPERIMENT_NAME
    with workspace.engine.connect() as connection:
        if connection.execute(select(experiments.c.id).where(experiments.c.name == name)).first():
            name = f"{DEFAULT_EXPERIMENT_NAME} (MLflow)"
    now = now_ms()
    try:
        with workspace.engine.begin() as connection:
            connection.execute(
                experiments.insert().values(
                    id=DEFAULT_EXPERIMENT_ID,
                    name=name,
                    description="Where MLflow clients log runs when no experiment is set.",
                    artifact_location=workspace.artifacts.uri("experiments/0"),
                    lifecycle_stage="active",
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:  # another request made it first
        pass
    return get_experiment(workspace, DEFAULT_EXPERIMENT_ID)


def _active(connection: Connection, experiment_id: int) -> None:
    stage = connection.execute(
        select(experiments.c.lifecycle_stage).where(experiments.c.id == experiment_id)
    ).scalar_one_or_none()
    if stage is None:
        raise NotFound(f"No experiment with id {experiment_id}.")
    if stage != "active":
        raise Invalid(f"Experiment {experiment_id} is deleted; restore it first.")


def rename_experiment(
    workspace: Workspace, experiment_id: int, new_name: str, user: str | None = None
) -> Experiment:
    """Give an active experiment a new, unused name."""
    new_name = _check_name(new_name)
    try:
        with workspace.engine.begin() as connection:
            _active(connection, experiment_id)
            connection.execute(
                experiments.update()
                .where(experiments.c.id == experiment_id)
                .values(name=new_name, updated_at=now_ms())
            )
    except IntegrityError as exc:
        raise Conflict(f"An experiment named {new_name!r} already exists.") from exc
    audit.record(workspace, user, "experiment.rename", str(experiment_id), name=new_name)
    return get_experiment(workspace, experiment_id)


def delete_experiment(workspace: Workspace, experiment_id: int, user: str | None = None) -> None:
    """Mark an experiment and its runs deleted (as MLflow does); restore brings both back."""
    with workspace.engine.begin() as connection:
        _active(connection, experiment_id)
        _set_stage(connection, experiment_id, "deleted")
    audit.record(workspace, user, "experiment.delete", str(experiment_id))


def restore_experiment(workspace: Workspace, experiment_id: int, user: str | None = None) -> None:
    """Bring a deleted experiment back, with all its runs."""
    experiment = get_experiment(workspace, experiment_id)
    if experiment.lifecycle_stage != "deleted":
        raise Invalid(f"Experiment {experiment.name!r} is not deleted.")
    with workspace.engine.begin() as connection:
        _set_stage(connection, experiment_id, "active")
    audit.record(workspace, user, "experiment.restore", str(experiment_id))


def _set_stage(connection: Connection, experiment_id: int, stage: str) -> None:
    connection.execute(
        experiments.update()
        .where(experiments.c.id == experiment_id)
        .values(lifecycle_stage=stage, updated_at=now_ms())
    )
    connection.execute(
        runs.update().where(runs.c.experiment_id == experiment_id).values(lifecycle_stage=stage)
    )


def _tag_row(experiment_id: int, key: str, value: Any) -> dict[str, Any]:
    if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY or key != key.strip():
        raise Invalid(f"Tag name {key!r} must be 1 to {MAX_TAG_KEY} characters, no outer spaces.")
    text = str(value)
    if len(text) > MAX_TAG_VALUE:
        raise Invalid(f"Tag {key!r} is {len(text)} characters long; the limit is {MAX_TAG_VALUE}.")
    return {"experiment_id": experiment_id, "key": key, "value": text}


def set_experiment_tag(workspace: Workspace, experiment_id: int, key: str, value: str) -> None:
    """Set or overwrite one tag of an active experiment."""
    row = _tag_row(experiment_id, key, value)
    with workspace.engine.begin() as connection:
        _active(connection, experiment_id)
        where = and_(experiment_tags.c.experiment_id == experiment_id, experiment_tags.c.key == key)
        connection.execute(experiment_tags.delete().where(where))
        connection.execute(experiment_tags.insert().values(row))
        connection.execute(
            experiments.update()
            .where(experiments.c.id == experiment_id)
            .values(updated_at=now_ms())
        )


def delete_experiment_tag(workspace: Workspace, experiment_id: int, key: str) -> None:
    """Remove one tag; a missing tag is NotFound."""
    with workspace.engine.begin() as connection:
        _active(connection, experiment_id)
        gone = connection.execute(
            experiment_tags.delete().where(
                experiment_tags.c.experiment_id == experiment_id, experiment_tags.c.key == key
            )
        ).rowcount
    if not gone:
        raise NotFound(f"Experiment {experiment_id} has no tag {key!r}.")


def tags_of(workspace: Workspace, experiment_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """The tags of each experiment."""
    found: dict[int, dict[str, str]] = {i: {} for i in experiment_ids}
    query = select(experiment_tags).where(experiment_tags.c.experiment_id.in_(list(found)))
    with workspace.engine.connect() as connection:
        for row in connection.execute(query).mappings():
            found[row["experiment_id"]][row["key"]] = row["value"]
    return found


# --- search, with MLflow's filter grammar for experiments ---------------------------------------

_ORDER_COLUMNS = {
    "name": experiments.c.name,
    "experiment_id": experiments.c.id,
    "creation_time": experiments.c.created_at,
    "last_update_time": experiments.c.updated_at,
}
_CLAUSE = re.compile(
    r"""^\s*(?P<key>(?:tags?|attributes?|attr)\.(?:`[^`]+`|"[^"]+"|[\w.\-/: ]+?)|\w+)
    \s*(?P<op>!=|>=|<=|=|<|>|(?:NOT\s+)?I?LIKE)
    \s*(?P<value>'(?:[^']|'')*'|"[^"]*"|-?\d+)\s*$""",
    re.IGNORECASE | re.VERBOSE,
)


def search_experiments(
    workspace: Workspace,
    view_type: str = "ACTIVE_ONLY",
    filter_string: str = "",
    order_by: Sequence[str] = (),
    max_results: int = 1000,
    offset: int = 0,
) -> tuple[list[Experiment], bool]:
    """One page of experiments matching an MLflow filter; True when more follow."""
    if view_type not in VIEW_STAGES:
        raise Invalid(f"view_type must be one of {', '.join(VIEW_STAGES)}, not {view_type!r}.")
    if not 1 <= max_results <= 50000:
        raise Invalid("max_results must be between 1 and 50000.")
    query = (
        select(experiments)
        .where(experiments.c.lifecycle_stage.in_(VIEW_STAGES[view_type]))
        .where(*[_condition(clause) for clause in _split_and(filter_string)])
        .order_by(*_order(order_by))
        .offset(offset)
        .limit(max_results + 1)
    )
    with workspace.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [_experiment(row) for row in rows[:max_results]], len(rows) > max_results


def _split_and(text: str) -> list[str]:
    """Clauses joined by AND, ignoring an AND inside quotes."""
    clauses, current, quote, i = [], "", "", 0
    while i < len(text):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif re.match(r"\sAND\s", text[i : i + 5], re.IGNORECASE):
            clauses.append(current)
            current, i = "", i + 5
            continue
        current += char
        i += 1
    clauses.append(current)
    if quote:
        raise Invalid(f"Unclosed quote in filter {text!r}.")
    return [c for c in clauses if c.strip()] if text.strip() else []


def _condition(clause: str) -> ColumnElement[bool]:
    match = _CLAUSE.match(clause)
    if match is None:
        raise Invalid(
            f"Cannot read filter {clause.strip()!r}: write e.g. name LIKE 'churn%', "
            "tags.team = 'risk' or creation_time > 1700000000000."
        )
    key, op, raw = match["key"], " ".join(match["op"].upper().split()), match["value"]
    entity, _, name = key.partition(".") if "." in key else ("attributes", "", key)
    name = name.strip('`"')
    is_text = raw[0] in "'\""
    value: Any = raw[1:-1].replace("''", "'") if is_text else int(raw)
    if entity.lower().startswith("tag"):
        if not is_text:
            raise Invalid(f"Compare tag {name!r} with a quoted string.")
        tag = experiment_tags.c
        return exists().where(
            tag.experiment_id == experiments.c.id, tag.key == name, _compare(tag.value, op, value)
        )
    columns = {"name": experiments.c.name, **_ORDER_COLUMNS}
    if name not in ("name", "creation_time", "last_update_time"):
        raise Invalid(
            f"Experiments can be filtered by name, creation_time, last_update_time "
            f"and tags.<key>, not {name!r}."
        )
    if (name == "name") != is_text:
        raise Invalid(
            f"{name} is compared with {'a quoted string' if name == 'name' else 'a number'}."
        )
    return _compare(columns[name], op, value)


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    operations = {
        "=": lambda: column == value,
        "!=": lambda: column != value,
        "<": lambda: column < value,
        "<=": lambda: column <= value,
        ">": lambda: column > value,
        ">=": lambda: column >= value,
        "LIKE": lambda: column.like(value),
        "ILIKE": lambda: column.ilike(value),
        "NOT LIKE": lambda: column.not_like(value),
        "NOT ILIKE": lambda: column.not_ilike(value),
    }
    if isinstance(value, str) and op in ("<", "<=", ">", ">="):
        raise Invalid(f"Strings are compared with =, !=, LIKE or ILIKE, not {op}.")
    if isinstance(value, int) and "LIKE" in op:
        raise Invalid("LIKE compares strings; quote the value.")
    result: ColumnElement[bool] = operations[op]()
    return result


def _order(order_by: Sequence[str]) -> list[Any]:
    clauses = []
    for item in order_by:
        parts = item.split()
        name = parts[0].removeprefix("attributes.").removeprefix("attribute.") if parts else ""
        direction = parts[1].upper() if len(parts) > 1 else "ASC"
        if name not in _ORDER_COLUMNS or direction not in ("ASC", "DESC") or len(parts) > 2:
            raise Invalid(
                f"Cannot order by {item!r}: use one of {', '.join(_ORDER_COLUMNS)}, "
                "then ASC or DESC."
            )
        column = _ORDER_COLUMNS[name]
        clauses.append(column.desc() if direction == "DESC" else column.asc())
    # MLflow's default order; the id last keeps pages stable when values tie.
    return [*(clauses or [experiments.c.created_at.desc()]), experiments.c.id.asc()]
