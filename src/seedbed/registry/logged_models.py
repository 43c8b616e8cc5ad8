"""MLflow 3 logged models: a model a run logs, with its own artifact folder.

The files live under the store key `models/<id>/artifacts` (an MLmodel folder once the client has
uploaded them); registering the model makes a registry version whose `source` is that key.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, select

from seedbed.db import now_ms
from seedbed.errors import Invalid, NotFound
from seedbed.registry.tables import logged_models
from seedbed.tracking.runs import get_run
from seedbed.workspace import Workspace

MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")


@dataclass(frozen=True)
class LoggedModel:
    id: str
    experiment_id: int
    name: str
    model_type: str
    source_run_id: str | None
    status: str
    status_message: str
    params: dict[str, str]
    tags: dict[str, str]
    created_by: str
    created_at: int
    updated_at: int

    @property
    def artifact_key(self) -> str:
        return artifact_key(self.id)


def artifact_key(model_id: str) -> str:
    """The artifact-store key of a logged model's files."""
    return f"models/{model_id}/artifacts"


def _model(row: RowMapping) -> LoggedModel:
    return LoggedModel(
        id=row["id"],
        experiment_id=row["experiment_id"],
        name=row["name"],
        model_type=row["model_type"],
        source_run_id=row["source_run_id"],
        status=row["status"],
        status_message=row["status_message"],
        params=json.loads(row["params"]),
        tags=json.loads(row["tags"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def create(
    workspace: Workspace,
    experiment_id: int,
    name: str,
    model_type: str = "",
    source_run_id: str | None = None,
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    user: str = "",
) -> LoggedModel:
    if not name or len(name) > 500 or "/" in name:
        raise Invalid(f"Logged model name {name!r} is not allowed: 1-500 characters, no '/'.")
    if source_run_id:
        run = get_run(workspace, source_run_id)
        if run.experiment_id != experiment_id:
            raise Invalid(f"Run {source_run_id} is not in experiment {experiment_id}.")
    model_id = f"m-{uuid.uuid4().hex}"
    now = now_ms()
    with workspace.engine.begin() as connection:
        connection.execute(
            logged_models.insert().values(
                id=model_id,
                experiment_id=experiment_id,
                name=name,
                model_type=model_type,
                source_run_id=source_run_id or None,
                status=STATUSES[0],
                status_message="",
                params=json.dumps(dict(params or {})),
                tags=json.dumps(dict(tags or {})),
                created_by=user,
                created_at=now,
                updated_at=now,
            )
        )
    return get(workspace, model_id)


def get(workspace: Workspace, model_id: str) -> LoggedModel:
    if not MODEL_ID.fullmatch(model_id):
        raise NotFound(f"No logged model {model_id!r} (ids look like m-<32 hex digits>).")
    with workspace.engine.connect() as connection:
        row = (
            connection.execute(select(logged_models).where(logged_models.c.id == model_id))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"No logged model {model_id!r}.")
    return _model(row)


def _update(workspace: Workspace, model_id: str, **values: Any) -> LoggedModel:
    get(workspace, model_id)
    with workspace.engine.begin() as connection:
        connection.execute(
            logged_models.update()
            .where(logged_models.c.id == model_id)
            .values(updated_at=now_ms(), **values)
        )
    return get(workspace, model_id)


def finalize(workspace: Workspace, model_id: str, status: str) -> LoggedModel:
    if status not in STATUSES[1:]:
        raise Invalid(f"A logged model is finalised as {' or '.join(STATUSES[1:])}, not {status}.")
    return _update(workspace, model_id, status=status)


def set_tags(workspace: Workspace, model_id: str, tags: Mapping[str, str]) -> LoggedModel:
    model = get(workspace, model_id)
    return _update(workspace, model_id, tags=json.dumps({**model.tags, **tags}))


def delete_tag(workspace: Workspace, model_id: str, key: str) -> LoggedModel:
    model = get(workspace, model_id)
    if key not in model.tags:
        raise NotFound(f"Logged model {model_id} has no tag {key!r}.")
    return _update(
        workspace, model_id, tags=json.dumps({k: v for k, v in model.tags.items() if k != key})
    )


def log_params(workspace: Workspace, model_id: str, params: Mapping[str, str]) -> LoggedModel:
    model = get(workspace, model_id)
    return _update(workspace, model_id, params=json.dumps({**model.params, **params}))


def delete(workspace: Workspace, model_id: str) -> None:
    """Forget the model and delete its files (registry versions made from it keep their rows)."""
    get(workspace, model_id)
    with workspace.engine.begin() as connection:
        connection.execute(logged_models.delete().where(logged_models.c.id == model_id))
    workspace.artifacts.delete(artifact_key(model_id))


# --- search ------------------------------------------------------------------------------------

_CLAUSE = re.compile(
    r"""\s*(?P<field>[A-Za-z_]+\.`[^`]+`|[A-Za-z_][\w.]*)\s*(?P<op>!=|=)\s*
    (?P<quote>['"])(?P<value>.*?)(?P=quote)\s*""",
    re.VERBOSE,
)
_ATTRIBUTES = {
    "name": "name",
    "model_id": "id",
    "source_run_id": "source_run_id",
    "status": "status",
    "model_type": "model_type",
}


def _parse(filter_string: str) -> list[tuple[str, str, str]]:
    """`name = 'x' AND source_run_id = 'y' AND tags.k != 'v'` as (field, op, value) triples."""
    clauses: list[tuple[str, str, str]] = []
    text = filter_string.strip()
    if not text:
        return clauses
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
        match = _CLAUSE.fullmatch(part)
        if match is None:
            raise Invalid(
                f"Cannot read the logged-model filter {filter_string!r}: seedbed understands "
                "`field = 'value'` or `!=` clauses joined by AND, on name, model_id, "
                "source_run_id, status, model_type, tags.<key> and params.<key>."
            )
        field = match["field"].replace("`", "")
        if field.startswith("attributes."):
            field = field.removeprefix("attributes.")
        if field not in _ATTRIBUTES and not field.startswith(("tags.", "params.")):
            raise Invalid(f"Logged models cannot be filtered on {field!r}.")
        clauses.append((field, match["op"], match["value"]))
    return clauses


def _value(model: LoggedModel, field: str) -> str | None:
    if field.startswith("tags."):
        return model.tags.get(field.removeprefix("tags."))
    if field.startswith("params."):
        return model.params.get(field.removeprefix("params."))
    value = getattr(model, _ATTRIBUTES[field])
    return None if value is None else str(value)


def search(
    workspace: Workspace,
    experiment_ids: Iterable[int],
    filter_string: str = "",
    max_results: int = 50,
    offset: int = 0,
) -> tuple[list[LoggedModel], bool]:
    """Matching models, newest first, and whether more follow."""
    clauses = _parse(filter_string)
    query = select(logged_models).order_by(
        logged_models.c.created_at.desc(), logged_models.c.id.desc()
    )
    ids = list(experiment_ids)
    if ids:
        query = query.where(logged_models.c.experiment_id.in_(ids))
    with workspace.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    found = []
    for model in map(_model, rows):
        values = [(_value(model, field), op, value) for field, op, value in clauses]
        if all((got == want) == (op == "=") for got, op, want in values):
            found.append(model)
    page = found[offset : offset + max_results]
    return page, len(found) > offset + max_results
