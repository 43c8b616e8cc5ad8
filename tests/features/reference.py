"""A brute-force reading of the point-in-time semantics in `seedbed.features.offline`.

Deliberately naive: for every entity row it walks every source row in Python and keeps
those that match, so the property tests compare two independent implementations. It
never calls DuckDB. Derived features are Python functions standing in for their SQL.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

AS_OF = "_as_of"


@dataclass(frozen=True)
class Plain:
    name: str
    column: str


@dataclass(frozen=True)
class Agg:
    name: str
    column: str | None
    function: str
    window: dt.timedelta


@dataclass(frozen=True)
class Calc:
    """A derived feature: `function` gets the row's feature values and `_as_of`."""

    name: str
    function: Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class View:
    keys: Sequence[str]
    timestamp: str | None = None
    created: str | None = None
    ttl: dt.timedelta | None = None
    plain: Sequence[Plain] = ()
    aggregates: Sequence[Agg] = ()
    derived: Sequence[Calc] = field(default_factory=tuple)  # in an order that resolves


def is_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd

        return bool(value is pd.NA or value is pd.NaT)
    except ImportError:  # pragma: no cover
        return False


def utc(value: Any) -> dt.datetime | None:
    """A timestamp as naive UTC: aware ones converted, naive ones taken as UTC."""
    if is_null(value):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise TypeError(f"not a timestamp: {value!r}")


def compute(
    view: View, source: Sequence[Mapping[str, Any]], entity: Sequence[Mapping[str, Any]], at: str
) -> list[dict[str, Any]]:
    """Each entity row's feature values (plain, aggregates, derived) and `_as_of`."""
    return [_row(view, source, row, at) for row in entity]


def _row(
    view: View, source: Sequence[Mapping[str, Any]], row: Mapping[str, Any], at: str
) -> dict[str, Any]:
    when = utc(row[at])
    keys = [row[k] for k in view.keys]
    out: dict[str, Any] = {AS_OF: when}
    matching: list[tuple[int, Mapping[str, Any]]] = []
    if not any(is_null(k) for k in keys):
        for index, candidate in enumerate(source):
            if all(
                not is_null(candidate[k]) and candidate[k] == key
                for k, key in zip(view.keys, keys, strict=True)
            ):
                matching.append((index, candidate))
    if view.timestamp is None:
        last = matching[-1][1] if matching else None
        for feature in view.plain:
            out[feature.name] = None if last is None else _value(last[feature.column])
    else:
        # (event, created, source position, row) of the rows visible at `when`.
        visible: list[tuple[dt.datetime, dt.datetime, int, Mapping[str, Any]]] = []
        for index, candidate in matching:
            event = utc(candidate[view.timestamp])
            if event is None or when is None or event > when:
                continue
            created = utc(candidate[view.created]) if view.created else None
            created = event if created is None else created
            if created > when:
                continue
            visible.append((event, created, index, candidate))
        latest = max(visible, key=lambda v: v[:3]) if visible else None
        fresh = None  # the latest visible row, unless the ttl has passed
        if latest is not None and when is not None:
            stale = view.ttl is not None and when - latest[0] > view.ttl
            fresh = None if stale else latest[3]
        for feature in view.plain:
            out[feature.name] = None if fresh is None else _value(fresh[feature.column])
        for aggregate in view.aggregates:
            if when is None or any(is_null(k) for k in keys):
                out[aggregate.name] = None  # no entity to aggregate for
                continue
            start = when - aggregate.window
            window = sorted((v for v in visible if v[0] > start), key=lambda v: v[:3])
            out[aggregate.name] = _aggregate(aggregate, [v[3] for v in window])
    for calc in view.derived:
        out[calc.name] = calc.function(out)
    return out


def _value(value: Any) -> Any:
    return None if is_null(value) else value


def _aggregate(aggregate: Agg, rows: list[Mapping[str, Any]]) -> Any:
    """`rows` are the window's events, oldest first (ties ordered as `last` breaks them)."""
    if aggregate.function == "count" and aggregate.column is None:
        return len(rows)
    assert aggregate.column is not None
    values = [_value(r[aggregate.column]) for r in rows]
    present = [v for v in values if v is not None]
    if aggregate.function == "count":
        return len(present)
    if aggregate.function == "distinct_count":
        return len(set(present))
    if aggregate.function == "last":
        return values[-1] if values else None
    if not present:
        return None
    if aggregate.function == "sum":
        return math.fsum(present)
    if aggregate.function == "mean":
        return math.fsum(present) / len(present)
    if aggregate.function == "min":
        return min(present)
    if aggregate.function == "max":
        return max(present)
    if aggregate.function == "stddev":
        return statistics.stdev(present) if len(present) > 1 else None
    raise ValueError(f"unknown aggregation {aggregate.function!r}")


def same(left: Any, right: Any) -> bool:
    """Equal, with nulls equal to nulls and numbers within 1e-9 (relative or absolute)."""
    if is_null(left) or is_null(right):
        return is_null(left) and is_null(right)
    if isinstance(left, int | float) and isinstance(right, int | float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return bool(left == right)
