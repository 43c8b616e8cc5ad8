"""Profiles of dataset versions: per-column statistics, histograms, top values, correlations.

Everything is computed exactly by DuckDB over the whole Parquet file, in as few scans as it
takes: one aggregate SELECT for every per-column statistic (exact distinct counts and
quantiles included), one for histograms and correlations, and a small GROUP BY per column that
gets top values. Beyond `max_rows` rows a reproducible reservoir sample is profiled instead and
the profile says so. A `Profile` round-trips through `to_dict()` / `from_dict()` so the caller
can cache it as JSON next to the Parquet file of the version it describes.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from seedbed.data.warehouse import quote_identifier
from seedbed.errors import Invalid, NotFound

Scalar = str | int | float | bool | None

QUANTILES = {f"p{percent:02d}": percent / 100 for percent in (1, 5, 25, 50, 75, 95, 99)}
SAMPLE_SEED = 42
MAX_CORRELATION_COLUMNS = 30
# Numeric columns with at most this many distinct values also get top values (codes, flags).
LOW_CARDINALITY = 50
MAX_TEXT_CHARS = 200
# Aggregates per SELECT: keeps the SQL of very wide tables reasonable; each batch is one scan
# that reads only the columns it names.
BATCH_AGGREGATES = 400

_INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
}  # fmt: skip
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
_TEXT_TYPES = {"VARCHAR", "UUID", "JSON"}
_TEMPORAL_TYPES = {"DATE", "TIME", "TIME WITH TIME ZONE", "TIMESTAMP", "TIMESTAMP_S",
                   "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"}  # fmt: skip


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
        correlations = data.get("correlations")
        return cls(
            rows=data["rows"],
            profiled_rows=data["profiled_rows"],
            sampled=data["sampled"],
            columns=[ColumnProfile.from_dict(item) for item in data["columns"]],
            correlations=Correlations(**correlations) if correlations is not None else None,
            seconds=data["seconds"],
        )


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
    parquet = "read_parquet(" + "'" + path.replace("'", "''") + "')"
    schema = connection.sql(f"DESCRIBE SELECT * FROM {parquet}").fetchall()
    rows = int(connection.sql(f"SELECT count(*) FROM {parquet}").fetchall()[0][0])
    sampled = rows > max_rows
    table = parquet
    if sampled:
        table = quote_identifier(f"seedbed_profile_{uuid.uuid4().hex}")
        # Materialised once so that every pass below sees the same rows.
        connection.execute(
            f"CREATE TEMP TABLE {table} AS SELECT * FROM {parquet} "
            f"USING SAMPLE reservoir({max_rows} ROWS) REPEATABLE ({SAMPLE_SEED})"
        )
    try:
        columns = [_Column(i, str(name), str(type_)) for i, (name, type_, *_) in enumerate(schema)]
        source = "(SELECT " + ", ".join(c.projection() for c in columns) + f" FROM {table})"
        if not columns:
            source = f"(SELECT 1 FROM {table})"
        profiled_rows, profiles = _column_statistics(connection, source, columns)
        correlations = _histograms_and_correlations(
            connection, source, columns, profiles, histogram_bins
        )
        for column, profile in zip(columns, profiles, strict=True):
            if _wants_top_values(profile, profiled_rows - profile.null_count, top_k):
                profile.top_values = _top_values(connection, source, column, top_k)
    finally:
        if sampled:
            connection.execute(f"DROP TABLE IF EXISTS {table}")
    return Profile(
        rows=rows,
        profiled_rows=profiled_rows,
        sampled=sampled,
        columns=profiles,
        correlations=correlations,
        seconds=time.perf_counter() - started,
    )


@dataclass
class _Column:
    """One column of the source, renamed to c{index} (and f{index}: its finite values)."""

    index: int
    name: str
    type: str
    lo: float = math.nan  # histogram range, as doubles (epoch microseconds for temporal)
    hi: float = math.nan

    @property
    def kind(self) -> str:
        base = self.type.split("(")[0]
        if base in _INTEGER_TYPES or base in _FLOAT_TYPES or base == "DECIMAL":
            return "numeric"
        if base in _TEMPORAL_TYPES:
            return "temporal"
        if base == "BOOLEAN":
            return "boolean"
        return "text" if base in _TEXT_TYPES or base == "ENUM" else "other"

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

    def aggregates(self) -> dict[str, str]:
        c, v = self.raw, self.values
        found = {"count": f"count({c})", "distinct": f"count(DISTINCT {c})"}
        if self.kind == "numeric":
            quantiles = ", ".join(str(q) for q in QUANTILES.values())
            found |= {
                "min": f"min({v})", "max": f"max({v})",
                "mean": f"avg({v})::DOUBLE", "std": f"stddev_samp({v})::DOUBLE",
                "quantiles": f"quantile_cont({v}, [{quantiles}])::DOUBLE[]",
            }  # fmt: skip
            if self.type in _FLOAT_TYPES:
                found |= {"nan": f"count(*) FILTER (WHERE isnan({c}))", "finite": f"count({v})"}
        elif self.kind == "temporal":
            found |= {"min": f"min({c})::VARCHAR", "max": f"max({c})::VARCHAR"}
            if self.has_epoch:
                found |= {"lo": f"epoch_us(min({c}))", "hi": f"epoch_us(max({c}))"}
        elif self.kind == "text":
            found |= {
                "min": f"left(min({c})::VARCHAR, {MAX_TEXT_CHARS})",
                "max": f"left(max({c})::VARCHAR, {MAX_TEXT_CHARS})",
            }
        elif self.kind == "boolean":
            found |= {"min": f"min({c})", "max": f"max({c})"}
        return found

    @property
    def has_epoch(self) -> bool:
        return self.type.startswith(("DATE", "TIMESTAMP"))


def _column_statistics(
    connection: duckdb.DuckDBPyConnection, source: str, columns: list[_Column]
) -> tuple[int, list[ColumnProfile]]:
    """Every per-column statistic in one aggregate SELECT per batch of columns."""
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
        if got.get("quantiles") is not None:
            profile.quantiles = dict(zip(QUANTILES, got["quantiles"], strict=True))
        if "nan" in got:
            profile.nan_count = int(got["nan"])
            profile.infinite_count = int(got["count"]) - int(got["finite"]) - profile.nan_count
        if column.kind == "numeric" and got["min"] is not None:
            column.lo, column.hi = float(got["min"]), float(got["max"])
        elif got.get("lo") is not None and got.get("hi") is not None:
            column.lo, column.hi = float(got["lo"]), float(got["hi"])
        profiles.append(profile)
    return profiled_rows, profiles


def _histograms_and_correlations(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    columns: list[_Column],
    profiles: list[ColumnProfile],
    bins: int,
) -> Correlations | None:
    """Fill in histograms and return the correlations, both from one more scan."""
    binned = [(c, p, _edges(c, bins)) for c, p in zip(columns, profiles, strict=True)]
    binned = [item for item in binned if item[2]]
    expressions = []
    for column, _, edges in binned:
        value = f"epoch_us({column.raw})" if column.kind == "temporal" else column.values
        bounds = ", ".join(repr(edge) for edge in edges[1:])
        # DuckDB's binned histogram counts each value into the first bin whose upper bound it
        # does not exceed: as fast as computing a bucket number, and exact.
        expressions.append(f"histogram({value}::DOUBLE, [{bounds}]::DOUBLE[])")
    varying = [c for c, p in zip(columns, profiles, strict=True) if p.kind == "numeric" and p.std]
    correlated = varying[:MAX_CORRELATION_COLUMNS] if len(varying) > 1 else []
    pairs = [(i, j) for i in range(len(correlated)) for j in range(i + 1, len(correlated))]
    expressions += [f"corr({correlated[i].values}, {correlated[j].values})" for i, j in pairs]
    results = _aggregate(connection, source, expressions)
    for (column, profile, edges), found in zip(binned, results, strict=False):
        counts = [0] * (len(edges) - 1)
        for upper, count in (found or {}).items():
            # Values above the last bound (float rounding of the top edge) join the last bin.
            counts[min(bisect.bisect_left(edges, upper, 1) - 1, len(counts) - 1)] += int(count)
        labels: list[Scalar] = list(edges)
        if column.kind == "temporal":
            labels = [_epoch_iso(edge, column) for edge in edges]
        profile.histogram = Histogram(edges=labels, counts=counts)
    if not correlated:
        return None
    size = len(correlated)
    matrix: list[list[float | None]] = [[1.0 if i == j else None for j in range(size)]
                                        for i in range(size)]  # fmt: skip
    for (i, j), value in zip(pairs, results[len(binned) :], strict=True):
        matrix[i][j] = matrix[j][i] = _finite(value)
    return Correlations(columns=[c.name for c in correlated], matrix=matrix)


def _edges(column: _Column, bins: int) -> list[float]:
    """Equal-width bin edges over [min, max]; integers with a small range get a bin per value."""
    lo, hi = column.lo, column.hi
    if not math.isfinite(hi - lo):
        return []
    if column.type in _INTEGER_TYPES and hi - lo < bins:
        return [lo - 0.5 + i for i in range(int(hi - lo) + 2)]
    if hi == lo:
        return [lo, hi]
    return [lo + (hi - lo) * i / bins for i in range(bins)] + [hi]


def _wants_top_values(profile: ColumnProfile, non_null: int, top_k: int) -> bool:
    if not top_k or not non_null:
        return False
    if profile.kind in ("text", "boolean"):
        # All-unique text (identifiers) has no top values worth a GROUP BY over every row.
        return profile.distinct_count < non_null or non_null <= top_k
    return profile.kind == "numeric" and profile.distinct_count <= LOW_CARDINALITY


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
    for batch in _batches(expressions, BATCH_AGGREGATES):
        results.extend(connection.sql(f"SELECT {', '.join(batch)} FROM {source}").fetchall()[0])
    return results


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=round(epoch_us))
    if column.type == "DATE":
        return moment.date().isoformat() if moment.time() == dt.time() else moment.isoformat()
    return moment.isoformat() + ("+00:00" if "TIME ZONE" in column.type else "")
