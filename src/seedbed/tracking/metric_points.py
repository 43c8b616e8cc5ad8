"""Metric points: what a logged point is, its checks, the rows it becomes, and how the
latest value of each metric is kept (highest step, then time)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Table, and_, or_
from sqlalchemy.engine import Connection

from seedbed.db import now_ms, upsert
from seedbed.errors import Invalid
from seedbed.tracking.tables import latest_metrics

MAX_KEY = 250
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # metric_points.step and .timestamp are BIGINT


@dataclass(frozen=True)
class MetricPoint:
    value: float
    step: int
    timestamp: int


class LoggedMetric(NamedTuple):
    """One point to log, as log_batch takes it (any tuple in this order will do: the MLflow
    API passes plain ones, since a thousand-point batch would spend more making objects
    than storing them)."""

    key: str
    value: float
    step: int = 0
    timestamp: int | None = None


def check_key(kind: str, key: str) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or key != key.strip():
        raise Invalid(f"{kind} name {key!r} must be 1 to {MAX_KEY} characters, no outer spaces.")


# The columns of a metric point as `metric_rows` lays them out.
POINT_COLUMNS = ("run_id", "key", "value", "is_nan", "step", "timestamp")


def metric_rows(run_id: str, points: Iterable[tuple[str, Any, Any, Any]]) -> list[tuple[Any, ...]]:
    # Tuples, not dicts: a batch holds thousands of points and goes straight to the driver.
    stamp = now_ms()
    rows = []
    checked: set[str] = set()
    for key, value, given_step, given_time in points:
        if key not in checked:
            check_key("Metric", key)
            checked.add(key)
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise Invalid(f"Metric {key!r} must be a number, got {value!r}.") from exc
        is_nan = number != number
        step = int(given_step)
        timestamp = given_time if given_time is not None else stamp
        if not (INT64_MIN <= step <= INT64_MAX and INT64_MIN <= timestamp <= INT64_MAX):
            raise Invalid(
                f"Metric {key!r}: step and timestamp must fit in 64 bits, "
                f"got step {step} and timestamp {timestamp}."
            )
        rows.append((run_id, key, 0.0 if is_nan else number, is_nan, step, timestamp))
    return rows


def update_latest(connection: Connection, run_id: str, points: list[tuple[Any, ...]]) -> None:
    # Latest = highest (step, timestamp); among equals, the one logged last.
    newest: dict[str, tuple[Any, ...]] = {}
    for point in points:
        best = newest.get(point[1])
        if best is None or (point[4], point[5]) >= (best[4], best[5]):
            newest[point[1]] = point
    rows = [dict(zip(POINT_COLUMNS, point, strict=True)) for point in newest.values()]
    upsert(
        connection,
        latest_metrics,
        rows,
        ("run_id", "key"),
        update=("value", "is_nan", "step", "timestamp"),
        where=_newer,
    )


def _newer(table: Table, new: Any) -> ColumnElement[bool]:
    # A point replaces the latest one when its (step, timestamp) is not older.
    return or_(
        new.step > table.c.step,
        and_(new.step == table.c.step, new.timestamp >= table.c.timestamp),
    )
