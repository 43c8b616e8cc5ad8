"""Profiles of dataset versions: per-column statistics, histograms, top values, correlations.

Everything is computed exactly by DuckDB over the whole Parquet file, in few scans: one
aggregate SELECT for the per-column statistics (exact distinct counts included), then one
GROUP BY per column whose distinct values are few enough to fetch (its quantiles, histogram
and top values follow exactly from those counts, far faster than DuckDB's holistic quantile
aggregate), and one more aggregate SELECT for the rest: quantiles and histograms of
high-cardinality columns and the correlations. Beyond `max_rows` rows a reproducible random
sample of `max_rows` rows is profiled instead, and the profile says so. A `Profile`
round-trips through `to_dict()` / `from_dict()`, so the caller can cache it as JSON next to
the version's Parquet file.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from itertools import accumulate, combinations
from pathlib import Path
from typing import Any

import duckdb

from seedbed.data.warehouse import quote_identifier
from seedbed.errors import Invalid, NotFound

Scalar = str | int | float | bool | None

QUANTILES = {f"p{percent:02d}": percent / 100 for percent in (1, 5, 25, 50, 75, 95, 99)}
SAMPLE_SEED = 42
_ORDER = '"seedbed sample order"'
MAX_CORRELATION_COLUMNS = 30
# Numeric columns with at most this many distinct values also get top values (codes, flags).
LOW_CARDINALITY = 50
# Numeric columns with at most this many distinct values are summarised from their value counts.
FREQUENCY_LIMIT = 100_000
MAX_TEXT_CHARS = 200
# Aggregates per SELECT: keeps the SQL of very wide tables reasonable; each batch is one scan
# that reads only the columns it names.
BATCH_AGGREGATES = 400

_INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
}  # fmt: skip
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
_KINDS = (  # DuckDB type name, without its parameters, to the kind of column it makes
    dict.fromkeys([*_INTEGER_TYPES, *_FLOAT_TYPES, "DECIMAL"], "numeric")
    | dict.fromkeys(["DATE", "TIME", "TIME WITH TIME ZONE", "TIMESTAMP", "TIMESTAMP_S",
                     "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"], "temporal")
    | dict.fromkeys(["VARCHAR", "UUID", "JSON", "ENUM"], "text")
    | {"BOOLEAN": "boolean"}
)  # fmt: skip


@dataclass
class TopValue:
    value: Scalar
    count: int


@dataclass
class Histogram:
    """Equal-width bins: `counts[i]` values lie in (edges[i], edges[i+1]], the first bin closed."""

    edges: list[Scalar]
    counts: list[int]


@dataclass
class ColumnProfile:
    name: str
    type: str
    kind: str  # numeric, temporal, boolean, text or other
    null_count: int
    null_share: float
    distinct_count: int
    min: Scalar = None
    max: Scalar = None
    mean: float | None = None
    std: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)
    top_values: list[TopValue] = field(default_factory=list)
    histogram: Histogram | None = None
    # Floating-point columns only: NaN and ±inf are counted here and left out of the statistics.
    nan_count: int = 0
    infinite_count: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        values = dict(data)
        values["top_values"] = [TopValue(**item) for item in data.get("top_values", [])]
        if data.get("histogram") is not None:
            values["histogram"] = Histogram(**data["histogram"])
        return cls(**values)


@dataclass
class Correlations:
    """Pearson correlations between numeric columns, pairwise over rows where both are set."""

    columns: list[str]
    matrix: list[list[float | None]]


@dataclass
class Profile:
    rows: int
    profiled_rows: int
    sampled: bool
    columns: list[ColumnProfile]
    correlations: Correlations | None
    seconds: float

    def column(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name == name:
                return column
        raise NotFound(f"No column {name!r} in this profile.")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (no NaN, no dates: only str, int, float, bool, None, lists, dicts)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        columns = [ColumnProfile.from_dict(item) for item in data["columns"]]
        found = data.get("correlations")
        correlations = Correlations(**found) if found is not None else None
        return cls(**{**data, "columns": columns, "correlations": correlations})


def profile_parquet(
    connection: duckdb.DuckDBPyConnection,
    path: str,
    max_rows: int = 10_000_000,
    histogram_bins: int = 20,
    top_k: int = 10,
) -> Profile:
    """Profile a local Parquet file exactly, or a reproducible sample of `max_rows` rows."""
    if max_rows < 1 or histogram_bins < 1 or top_k < 0:
        raise Invalid("max_rows and histogram_bins must be at least 1 and top_k at least 0.")
    if not Path(path).is_file():
        raise NotFound(f"No Parquet file at {path}.")
    started = time.perf_counter()
    literal = "'" + path.replace("'", "''") + "'"
    parquet = f"read_parquet({literal})"
    schema = connection.sql(f"DESCRIBE SELECT * FROM {parquet}").fetchall()
    rows = int(connection.sql(f"SELECT count(*) FROM {parquet}").fetchall()[0][0])
    sampled = rows > max_rows
    table = _sample(connection, literal, rows, max_rows) if sampled else parquet
    try:
        columns = [_Column(i, str(row[0]), str(row[1])) for i, row in enumerate(schema)]
        projection = ", ".join(c.projection() for c in columns) or "1"
        source = f"(SELECT {projection} FROM {table})"
        profiled_rows, profiles = _column_statistics(connection, source, columns, histogram_bins)
        for column, profile in zip(columns, profiles, strict=True):
            if column.kind == "numeric" and 0 < profile.distinct_count <= FREQUENCY_LIMIT:
                _summarise_frequencies(connection, source, column, profile, top_k)
            elif _wants_top_values(profile, profiled_rows - profile.null_count, top_k):
                profile.top_values = _top_values(connection, source, column, top_k)
        correlations = _remaining_aggregates(connection, source, columns, profiles)
    finally:
        if sampled:
            connection.execute(f"DROP TABLE IF EXISTS {table}")
    seconds = time.perf_counter() - started
    return Profile(rows, profiled_rows, sampled, profiles, correlations, seconds)


def _sample(connection: duckdb.DuckDBPyConnection, literal: str, rows: int, size: int) -> str:
    """A temporary table of the `size` rows whose positions hash lowest: the same on every run.

    One parallel scan keeps a few more rows than wanted, then the highest hashes go. (DuckDB's
    reservoir sample runs on one thread: 9 s for 1M of 3.4M rows where this takes 1 s.)
    """
    table = quote_identifier(f"seedbed_profile_{uuid.uuid4().hex}")
    order = f"hash(file_row_number, {SAMPLE_SEED})"
    # Five standard deviations spare, so fewer than `size` rows pass about once in 3 million.
    threshold = min(2**64 - 1, int((size + 5 * math.sqrt(size) + 10) / rows * 2**64))
    connection.execute(
        f"CREATE TEMP TABLE {table} AS SELECT * EXCLUDE (file_row_number), {order} AS {_ORDER} "
        f"FROM read_parquet({literal}, file_row_number = true) WHERE {order} < {threshold}"
    )
    excess = connection.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0] - size
    if excess > 0:
        connection.execute(
            f"DELETE FROM {table} WHERE {_ORDER} >= (SELECT {_ORDER} FROM {table} "
            f"ORDER BY {_ORDER} DESC LIMIT 1 OFFSET {excess - 1})"
        )
    return table


@dataclass
class _Column:
    """One column of the source, renamed to c{index} (and f{index}: its finite values)."""

    index: int
    name: str
    type: str
    edges: list[float] = field(default_factory=list)  # epoch microseconds for temporal columns

    @property
    def kind(self) -> str:
        return _KINDS.get(self.type.split("(")[0], "other")

    @property
    def raw(self) -> str:
        return f"c{self.index}"

    @property
    def values(self) -> str:
        """The values statistics are computed over: finite ones for floating-point columns."""
        return f"f{self.index}" if self.type in _FLOAT_TYPES else self.raw

    def projection(self) -> str:
        name = quote_identifier(self.name)
        if self.type in _FLOAT_TYPES:
            finite = f"CASE WHEN isfinite({name}) THEN {name} END"
            return f"{name} AS {self.raw}, {finite} AS {self.values}"
        return f"{name} AS {self.raw}"

    @property
    def has_epoch(self) -> bool:
        return self.type.startswith(("DATE", "TIMESTAMP"))

    def aggregates(self) -> dict[str, str]:
        c, v = self.raw, self.values
        found = {"count": f"count({c})", "distinct": f"count(DISTINCT {c})"}
        extremes = ("min", "max")
        if self.kind == "numeric":
            found |= {key: f"{key}({v})" for key in extremes}
            found |= {"mean": f"avg({v})::DOUBLE", "std": f"stddev_samp({v})::DOUBLE"}
            if self.type in _FLOAT_TYPES:
                found |= {"nan": f"count(*) FILTER (WHERE isnan({c}))", "finite": f"count({v})"}
        elif self.has_epoch:  # dates and timestamps: as UTC microseconds, like their bin edges
            found |= {"lo": f"epoch_us(min({c}))", "hi": f"epoch_us(max({c}))"}
        elif self.kind == "temporal":
            found |= {key: f"{key}({c})::VARCHAR" for key in extremes}
        elif self.kind == "text":
            found |= {key: f"left({key}({c})::VARCHAR, {MAX_TEXT_CHARS})" for key in extremes}
        elif self.kind == "boolean":
            found |= {key: f"{key}({c})" for key in extremes}
        return found


def _column_statistics(
    connection: duckdb.DuckDBPyConnection, source: str, columns: list[_Column], bins: int
) -> tuple[int, list[ColumnProfile]]:
    """Every per-column statistic that needs no second look, in one scan per batch of columns."""
    wanted = [(column, column.aggregates()) for column in columns]
    expressions = ["count(*)"] + [sql for _, found in wanted for sql in found.values()]
    values = iter(_aggregate(connection, source, expressions))
    profiled_rows = int(next(values))
    profiles = []
    for column, found in wanted:
        got = {key: next(values) for key in found}
        null_count = profiled_rows - int(got["count"])
        profile = ColumnProfile(
            name=column.name,
            type=column.type,
            kind=column.kind,
            null_count=null_count,
            null_share=null_count / profiled_rows if profiled_rows else 0.0,
            distinct_count=int(got["distinct"]),
            min=_scalar(got.get("min"), column),
            max=_scalar(got.get("max"), column),
            mean=_finite(got.get("mean")),
            std=_finite(got.get("std")),
        )
        if "nan" in got:
            profile.nan_count = int(got["nan"])
            profile.infinite_count = int(got["count"]) - int(got["finite"]) - profile.nan_count
        low, high = ("min", "max") if column.kind == "numeric" else ("lo", "hi")
        if got.get(low) is not None and got.get(high) is not None:
            is_integer = column.type in _INTEGER_TYPES
            column.edges = _edges(float(got[low]), float(got[high]), is_integer, bins)
            if column.has_epoch:
                profile.min, profile.max = (_epoch_iso(got[key], column) for key in ("lo", "hi"))
        profiles.append(profile)
    return profiled_rows, profiles


def _summarise_frequencies(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    column: _Column,
    profile: ColumnProfile,
    top_k: int,
) -> None:
    """Exact quantiles, histogram and top values of a numeric column from its value counts."""
    v = column.values
    rows = connection.sql(
        f"SELECT {v}, count(*) FROM {source} WHERE {v} IS NOT NULL GROUP BY {v} ORDER BY {v}"
    ).fetchall()
    if not rows:
        return
    numbers = [float(value) for value, _ in rows]
    cumulative = list(accumulate(int(count) for _, count in rows))
    total = cumulative[-1]

    def at(rank: int) -> float:
        return numbers[bisect.bisect_right(cumulative, rank)]

    for name, share in QUANTILES.items():
        # The interpolation DuckDB's quantile_cont uses, so both paths give the same numbers.
        position = (total - 1) * share
        below, above = at(math.floor(position)), at(math.ceil(position))
        profile.quantiles[name] = below + (above - below) * (position - math.floor(position))
    profile.histogram = _histogram(column, ((float(value), n) for value, n in rows))
    if top_k and len(rows) <= LOW_CARDINALITY:
        ranked = sorted(rows, key=lambda row: -int(row[1]))[:top_k]
        profile.top_values = [TopValue(_scalar(value, column), int(n)) for value, n in ranked]


def _remaining_aggregates(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    columns: list[_Column],
    profiles: list[ColumnProfile],
) -> Correlations | None:
    """Quantiles and histograms not known yet, and the correlations, from one more scan."""
    tasks: list[tuple[str, Callable[[Any], None]]] = []
    for column, profile in zip(columns, profiles, strict=True):
        if not column.edges or profile.histogram is not None:
            continue
        value = f"epoch_us({column.raw})" if column.kind == "temporal" else column.values
        # Each bound parsed from its shortest repr, so SQL and Python agree on it to the bit.
        bounds = ", ".join(f"'{edge!r}'::DOUBLE" for edge in column.edges[1:])
        # DuckDB's binned histogram counts each value under the first upper bound it does not
        # exceed: as fast as computing a bin number, and exact.
        histogram = f"histogram({value}::DOUBLE, [{bounds}])"
        tasks.append((histogram, partial(_set_histogram, profile, column)))
        if column.kind == "numeric":
            shares = ", ".join(str(share) for share in QUANTILES.values())
            quantiles = f"quantile_cont({value}, [{shares}])::DOUBLE[]"
            tasks.append((quantiles, partial(_set_quantiles, profile)))
    varying = [c for c, p in zip(columns, profiles, strict=True) if p.kind == "numeric" and p.std]
    correlated = varying[:MAX_CORRELATION_COLUMNS] if len(varying) > 1 else []
    size = len(correlated)
    matrix: list[list[float | None]] = [[1.0 if i == j else None for j in range(size)]
                                        for i in range(size)]  # fmt: skip
    for i, j in combinations(range(size), 2):
        pair = f"corr({correlated[i].values}, {correlated[j].values})"
        tasks.append((pair, partial(_set_cell, matrix, i, j)))
    results = _aggregate(connection, source, [sql for sql, _ in tasks])
    for (_, handle), result in zip(tasks, results, strict=True):
        handle(result)
    return Correlations([c.name for c in correlated], matrix) if correlated else None


def _set_histogram(profile: ColumnProfile, column: _Column, found: dict[float, int] | None) -> None:
    profile.histogram = _histogram(column, (found or {}).items())


def _set_quantiles(profile: ColumnProfile, found: list[float] | None) -> None:
    if found is not None:
        profile.quantiles = dict(zip(QUANTILES, found, strict=True))


def _set_cell(matrix: list[list[float | None]], i: int, j: int, value: float | None) -> None:
    matrix[i][j] = matrix[j][i] = _finite(value)


def _edges(lo: float, hi: float, is_integer: bool, bins: int) -> list[float]:
    """Equal-width bin edges over [lo, hi]; integers with a small range get a bin per value."""
    if not math.isfinite(hi - lo):
        return []
    if is_integer and hi - lo < bins:
        return [lo - 0.5 + i for i in range(int(hi - lo) + 2)]
    if hi == lo:
        return [lo, hi]
    return [lo + (hi - lo) * i / bins for i in range(bins)] + [hi]


def _histogram(column: _Column, counted: Iterable[tuple[float, int]]) -> Histogram:
    """Bin (value or upper bound, count) pairs; any past the top edge (rounding) join the last."""
    edges = column.edges
    counts = [0] * (len(edges) - 1)
    for value, count in counted:
        counts[min(max(bisect.bisect_left(edges, value, 1) - 1, 0), len(counts) - 1)] += int(count)
    labels: list[Scalar] = list(edges)
    if column.kind == "temporal":
        labels = [_epoch_iso(edge, column) for edge in edges]
    return Histogram(edges=labels, counts=counts)


def _wants_top_values(profile: ColumnProfile, non_null: int, top_k: int) -> bool:
    if not top_k or not non_null or profile.kind not in ("text", "boolean"):
        return False
    # All-unique text (identifiers) has no top values worth a GROUP BY over every row.
    return profile.distinct_count < non_null or non_null <= top_k


def _top_values(
    connection: duckdb.DuckDBPyConnection, source: str, column: _Column, top_k: int
) -> list[TopValue]:
    c = column.raw
    rows = connection.sql(
        f"SELECT {c}, count(*) AS n FROM {source} WHERE {c} IS NOT NULL "
        f"GROUP BY {c} ORDER BY n DESC, {c} LIMIT {top_k}"
    ).fetchall()
    return [TopValue(value=_scalar(value, column), count=int(n)) for value, n in rows]


def _aggregate(
    connection: duckdb.DuckDBPyConnection, source: str, expressions: Sequence[str]
) -> list[Any]:
    """Evaluate aggregate expressions over the source, BATCH_AGGREGATES per SELECT."""
    results: list[Any] = []
    for start in range(0, len(expressions), BATCH_AGGREGATES):
        batch = ", ".join(expressions[start : start + BATCH_AGGREGATES])
        results.extend(connection.sql(f"SELECT {batch} FROM {source}").fetchall()[0])
    return results


def _scalar(value: object, column: _Column) -> Scalar:
    """A JSON-ready value: decimals as floats, long text cut short, anything else as text."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float | Decimal):
        return _finite(float(value))
    text = str(value)
    if column.kind == "temporal":
        return text.replace(" ", "T", 1)
    return text[:MAX_TEXT_CHARS]


def _finite(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None


def _epoch_iso(epoch_us: float, column: _Column) -> str:
    """ISO 8601 text of a date or timestamp given in microseconds since 1970 (UTC)."""
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=round(epoch_us))
    if column.type == "DATE":
        return moment.date().isoformat() if moment.time() == dt.time() else moment.isoformat()
    return moment.isoformat() + ("+00:00" if "TIME ZONE" in column.type else "")
