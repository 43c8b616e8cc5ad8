"""Search runs with an MLflow filter string, compiled into one SQL query, one page at a time."""

from __future__ import annotations

import base64
import binascii
import json
import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    FromClause,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection

from seedbed.data.tables import dataset_versions, datasets
from seedbed.errors import Invalid
from seedbed.tracking.filters import (
    And,
    Comparison,
    Expr,
    OrderBy,
    Value,
    parse_filter,
    parse_order_by,
)
from seedbed.tracking.metric_points import INT64_MAX
from seedbed.tracking.runs import Run, _fill, _run
from seedbed.tracking.tables import (
    latest_metrics,
    run_dataset_inputs,
    run_inputs,
    run_params,
    run_tags,
    runs,
)
from seedbed.workspace import Workspace

VIEW_TYPES = {"ACTIVE_ONLY": ("active",), "DELETED_ONLY": ("deleted",), "ALL": None}
MAX_RESULTS = 50_000  # MLflow's limit for one page of runs
# Run ids per IN (...) when loading values: well under SQLite's bound-parameter limit.
_CHUNK = 900
CONTEXT_TAG = "mlflow.data.context"  # where MLflow keeps a dataset input's context

_ATTRIBUTE_COLUMNS = {
    "run_id": runs.c.id,
    "run_name": runs.c.name,
    "user_id": runs.c.user,
    "status": runs.c.status,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "artifact_uri": runs.c.artifact_uri,
}
_VALUE_TABLES = {"metric": latest_metrics, "param": run_params, "tag": run_tags}
_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def search_runs(
    workspace: Workspace,
    experiment_ids: Sequence[int],
    filter_string: str = "",
    run_view_type: str = "ACTIVE_ONLY",
    max_results: int = 1000,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
) -> tuple[list[Run], str | None]:
    """Runs of the experiments that match the filter, in order, and a token for the next page.

    Each run carries its params, latest metrics and tags. Default order: newest start
    first, then run id; ``order_by`` items come before that and put missing values last.
    """
    ids = _experiment_ids(experiment_ids)
    if run_view_type not in VIEW_TYPES:
        raise Invalid(
            f"run_view_type {run_view_type!r} is unknown; use ACTIVE_ONLY, DELETED_ONLY or ALL."
        )
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise Invalid(f"max_results must be a whole number, not {max_results!r}.")
    if not 1 <= max_results <= MAX_RESULTS:
        raise Invalid(f"max_results must be between 1 and {MAX_RESULTS}, not {max_results}.")
    offset = decode_page_token(page_token)
    expr = parse_filter(filter_string)
    ordering = parse_order_by(order_by)
    if not ids:
        return [], None
    query = _query(ids, VIEW_TYPES[run_view_type], expr, ordering, workspace.engine.dialect.name)
    query = query.offset(offset).limit(max_results + 1)
    with workspace.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
        page = [_run(row) for row in rows[:max_results]]
        _load_values(connection, page)
    more = len(rows) > max_results
    return page, encode_page_token(offset + max_results) if more else None


def encode_page_token(offset: int) -> str:
    """An opaque token that resumes a search at `offset`."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode("ascii")


def decode_page_token(token: str | None) -> int:
    """The offset a token from `encode_page_token` stands for; 0 for no token."""
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (UnicodeError, binascii.Error, ValueError):
        decoded = None
    offset = decoded.get("offset") if isinstance(decoded, dict) else None
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= INT64_MAX:
        raise Invalid(
            f"page_token {token[:40]!r} is not one this server issued; "
            "repeat the search without it to start from the first page."
        )
    return offset


def _experiment_ids(values: Sequence[int | str] | int | str) -> list[int]:
    # A lone id (or the string "12", which is also a sequence) means that one experiment.
    items = [values] if isinstance(values, int | str) else values
    ids = []
    for value in items:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise Invalid(f"Experiment id {value!r} is not a number.") from None
    return ids


def _query(
    ids: list[int],
    stages: tuple[str, ...] | None,
    expr: Expr | None,
    ordering: list[OrderBy],
    dialect: str,
) -> Select[Any]:
    source: FromClause = runs
    clauses: list[Any] = []
    for number, item in enumerate(ordering):
        if item.kind == "attribute":
            value: Any = _ATTRIBUTE_COLUMNS[item.key]
        else:
            table = _VALUE_TABLES[item.kind].alias(f"order_{number}")
            source = source.outerjoin(
                table, and_(table.c.run_id == runs.c.id, table.c.key == item.key)
            )
            value = table.c.value
            if item.kind == "metric":
                # As MLflow: numbers first, then NaN, then runs without the metric.
                clauses.append(case((value.is_(None), 2), (table.c.is_nan == true(), 1), else_=0))
        # MLflow puts runs without the value last, whichever the direction.
        clauses.append((value.asc() if item.ascending else value.desc()).nulls_last())
    if not any(item.kind == "attribute" and item.key == "start_time" for item in ordering):
        clauses.append(runs.c.start_time.desc())
    clauses.append(runs.c.id)
    query = select(runs).select_from(source).where(runs.c.experiment_id.in_(ids))
    if stages is not None:
        query = query.where(runs.c.lifecycle_stage.in_(stages))
    if expr is not None:
        query = query.where(filter_condition(expr, dialect))
    return query.order_by(*clauses)


def filter_condition(expr: Expr, dialect: str) -> ColumnElement[bool]:
    """A WHERE condition on `runs` for a parsed filter, for the named SQL dialect."""
    if isinstance(expr, Comparison):
        return _comparison(expr, dialect)
    parts = [filter_condition(item, dialect) for item in expr.items]
    return and_(*parts) if isinstance(expr, And) else or_(*parts)


def _comparison(item: Comparison, dialect: str) -> ColumnElement[bool]:
    if item.kind == "attribute":
        return _compare(_ATTRIBUTE_COLUMNS[item.key], item.op, item.value, dialect)
    if item.kind == "dataset":
        return _dataset_condition(item, dialect)
    table = _VALUE_TABLES[item.kind]
    # Uncorrelated IN (subquery): the database finds the matching runs once, instead of a
    # correlated EXISTS probing every candidate run (2x faster on 10k runs in SQLite).
    having_key = select(table.c.run_id).where(table.c.key == item.key)
    if item.op == "IS NULL":
        return runs.c.id.not_in(having_key)
    if item.op == "IS NOT NULL":
        return runs.c.id.in_(having_key)
    matches = _compare(table.c.value, item.op, item.value, dialect)
    if item.kind == "metric":
        # A NaN point is stored as 0 with is_nan set; NaN differs from every number and
        # equals, exceeds or trails none of them.
        if item.op == "!=":
            matches = or_(matches, table.c.is_nan == true())
        else:
            matches = and_(matches, table.c.is_nan == false())
    return runs.c.id.in_(having_key.where(matches))


def _dataset_condition(item: Comparison, dialect: str) -> ColumnElement[bool]:
    """A run matches when any dataset it read matches (as in MLflow): one an MLflow client
    declared with log_input, or a seedbed dataset version (which has no context)."""
    declared = run_dataset_inputs
    if item.key == "context":
        column = _json_text(declared.c.tags, CONTEXT_TAG, dialect)
    else:
        column = declared.c.name if item.key == "name" else declared.c.digest
    condition = runs.c.id.in_(
        select(declared.c.run_id).where(_compare(column, item.op, item.value, dialect))
    )
    if item.key == "context":
        return condition
    if item.key == "name":
        source = run_inputs.join(datasets, datasets.c.id == run_inputs.c.dataset_id)
        column = datasets.c.name
    else:
        source = run_inputs.join(
            dataset_versions,
            and_(
                dataset_versions.c.dataset_id == run_inputs.c.dataset_id,
                dataset_versions.c.version == run_inputs.c.version,
            ),
        )
        column = dataset_versions.c.content_hash
    own = select(run_inputs.c.run_id).select_from(source)
    return or_(
        condition,
        runs.c.id.in_(own.where(_compare(column, item.op, item.value, dialect))),
    )


def _json_text(column: ColumnElement[Any], key: str, dialect: str) -> ColumnElement[Any]:
    """The text under `key` of a JSON object kept in a text column (NULL when absent)."""
    if dialect == "sqlite":
        return func.json_extract(column, f'$."{key}"')
    return func.json_extract_path_text(cast(column, JSON), key)


def _compare(
    column: ColumnElement[Any], op: str, value: Value, dialect: str
) -> ColumnElement[bool]:
    if op in _ORDERING:
        result: ColumnElement[bool] = _ORDERING[op](column, value)
        return result
    if isinstance(value, tuple):
        return column.in_(value) if op == "IN" else column.not_in(value)
    assert isinstance(value, str), value
    return like(column, value, case_sensitive=op == "LIKE", dialect=dialect)


def like(
    column: ColumnElement[Any], pattern: str, case_sensitive: bool, dialect: str
) -> ColumnElement[bool]:
    """SQL LIKE with the same meaning on every backend: `%` any run, `_` one character,
    a backslash before `%`, `_` or a backslash makes it literal; LIKE is case-sensitive
    and ILIKE is not. SQLite's own LIKE ignores ASCII case, so there it becomes GLOB."""
    parts = _like_parts(pattern)
    if dialect == "sqlite":
        glob = "".join(_glob_part(part, fold=not case_sensitive) for part in parts)
        matches: ColumnElement[bool] = column.op("GLOB", is_comparison=True)(glob)
        return matches
    escaped = "".join(_like_part(part) for part in parts)
    if case_sensitive:
        return column.like(escaped, escape="\\")
    return column.ilike(escaped, escape="\\")


# A LIKE pattern as parts: "%" and "_" are wildcards, any other part is one literal character.
_WILDCARDS = ("%", "_")


def _like_parts(pattern: str) -> list[str]:
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_\\":
            parts.append("\\" + pattern[i + 1])  # a literal, marked by its two characters
            i += 2
            continue
        parts.append(char)
        i += 1
    return parts


def _like_part(part: str) -> str:
    if part in _WILDCARDS:
        return part
    char = part[-1]
    return "\\" + char if char in "%_\\" else char


def _glob_part(part: str, fold: bool) -> str:
    if part == "%":
        return "*"
    if part == "_":
        return "?"
    char = part[-1]
    if char in "*?[":
        return f"[{char}]"
    if fold:
        variants = sorted({v for v in (char, char.lower(), char.upper()) if len(v) == 1})
        if len(variants) > 1:
            return "[" + "".join(variants) + "]"
    return char


def _load_values(connection: Connection, page: list[Run]) -> None:
    """Fill params, latest metrics and tags of the runs on a page, a chunk of ids at a time."""
    for start in range(0, len(page), _CHUNK):
        _fill(connection, {run.id: run for run in page[start : start + _CHUNK]})
