from __future__ import annotations

import datetime as dt
import json
import statistics
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seedbed.data.profiling import (
    FREQUENCY_LIMIT,
    MAX_CORRELATION_COLUMNS,
    QUANTILES,
    ColumnProfile,
    Profile,
    profile_parquet,
)
from seedbed.errors import Invalid, NotFound


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    yield con
    con.close()


def write(tmp_path: Path, table: pa.Table, name: str = "t.parquet", **options: int) -> str:
    path = tmp_path / name
    pq.write_table(table, path, **options)
    return str(path)


def duckdb_quantiles(values: list[float]) -> list[float]:
    """What DuckDB's own exact quantile_cont says, to compare both of our paths against."""
    shares = list(QUANTILES.values())
    con = duckdb.connect()
    found = con.sql(
        f"SELECT quantile_cont(v, {shares}) FROM (SELECT unnest(?::DOUBLE[]) AS v)",
        params=[values],
    ).fetchall()[0][0]
    con.close()
    return [float(x) for x in found]


INTS = [1, 2, 2, 3, None, 5, 8, 2, None, 10]
FLOATS = [0.5, float("nan"), 1.5, float("inf"), None, -2.0, float("-inf"), 4.0, 4.0, 1.0]
TEXT = ["b", "a", None, "a", "c", "b", "a", "d", None, "b"]


@pytest.fixture
def known(tmp_path: Path) -> str:
    table = pa.table(
        {
            "i": pa.array(INTS, pa.int64()),
            "f": pa.array(FLOATS, pa.float64()),
            "s": pa.array(TEXT, pa.string()),
            "b": pa.array([True, False, True, None, True, True, False, None, True, True]),
            "ts": pa.array(
                [dt.datetime(2024, 1, 1) + dt.timedelta(hours=h) for h in range(9)] + [None],
                pa.timestamp("us"),
            ),
            "d": pa.array([dt.date(2024, 3, d) for d in range(1, 11)], pa.date32()),
            "dec": pa.array([Decimal("1.25")] * 4 + [Decimal("2.75")] * 6, pa.decimal128(8, 2)),
            "empty": pa.array([None] * 10, pa.int32()),
        }
    )
    return write(tmp_path, table)


def test_exact_numbers_on_a_known_table(connection: duckdb.DuckDBPyConnection, known: str) -> None:
    profile = profile_parquet(connection, known, histogram_bins=5, top_k=3)
    assert (profile.rows, profile.profiled_rows, profile.sampled) == (10, 10, False)
    assert [c.kind for c in profile.columns] == [
        "numeric", "numeric", "text", "boolean", "temporal", "temporal", "numeric", "numeric",
    ]  # fmt: skip

    i = profile.column("i")
    present = [v for v in INTS if v is not None]
    assert (i.type, i.null_count, i.null_share, i.distinct_count) == ("BIGINT", 2, 0.2, 6)
    assert (i.min, i.max) == (1, 10)
    assert i.mean == pytest.approx(statistics.mean(present))
    assert i.std == pytest.approx(statistics.stdev(present))
    assert list(i.quantiles) == ["p01", "p05", "p25", "p50", "p75", "p95", "p99"]
    expected = np.percentile(present, [1, 5, 25, 50, 75, 95, 99])  # linear, like quantile_cont
    assert list(i.quantiles.values()) == pytest.approx(list(expected))
    # Low-cardinality integers: top values, most frequent first, ties by value.
    assert [(t.value, t.count) for t in i.top_values] == [(2, 3), (1, 1), (3, 1)]
    # Bins are closed on the right, the first on both sides: [1, 2.8] (2.8, 4.6] ...
    assert i.histogram is not None
    assert i.histogram.edges == pytest.approx([1.0, 2.8, 4.6, 6.4, 8.2, 10.0])
    assert i.histogram.counts == [4, 1, 1, 1, 1]  # (1, 2, 2, 2) (3) (5) (8) (10)

    f = profile.column("f")
    finite = [v for v in FLOATS if v is not None and np.isfinite(v)]
    assert (f.null_count, f.nan_count, f.infinite_count) == (1, 1, 2)
    assert (f.min, f.max) == (-2.0, 4.0)
    assert f.mean == pytest.approx(statistics.mean(finite))
    assert f.std == pytest.approx(statistics.stdev(finite))
    assert list(f.quantiles.values()) == pytest.approx(duckdb_quantiles(finite))
    assert f.histogram is not None and sum(f.histogram.counts) == len(finite)
    assert f.histogram.counts == [1, 0, 3, 0, 2]  # (-2) () (0.5, 1, 1.5) () (4, 4)

    s = profile.column("s")
    assert (s.null_count, s.distinct_count, s.min, s.max) == (2, 4, "a", "d")
    assert [(t.value, t.count) for t in s.top_values] == [("a", 3), ("b", 3), ("c", 1)]
    assert s.histogram is None and s.mean is None

    b = profile.column("b")
    assert [(t.value, t.count) for t in b.top_values] == [(True, 6), (False, 2)]

    ts = profile.column("ts")
    assert (ts.min, ts.max, ts.null_count) == ("2024-01-01T00:00:00", "2024-01-01T08:00:00", 1)
    assert ts.histogram is not None
    assert ts.histogram.edges[0] == "2024-01-01T00:00:00"
    assert ts.histogram.edges[-1] == "2024-01-01T08:00:00"
    assert sum(ts.histogram.counts) == 9
    d = profile.column("d")
    assert (d.min, d.max, d.distinct_count) == ("2024-03-01", "2024-03-10", 10)

    dec = profile.column("dec")
    assert dec.type == "DECIMAL(8,2)"
    assert (dec.min, dec.max, dec.mean) == (1.25, 2.75, pytest.approx(2.15))
    assert dec.quantiles["p50"] == pytest.approx(2.75)
    assert dec.histogram is not None and dec.histogram.counts == [4, 0, 0, 0, 6]

    empty = profile.column("empty")
    assert (empty.null_count, empty.null_share, empty.distinct_count) == (10, 1.0, 0)
    assert (empty.min, empty.mean, empty.std, empty.histogram) == (None, None, None, None)
    assert (empty.quantiles, empty.top_values) == ({}, [])


def test_temporal_types(connection: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    noon = [dt.datetime(2024, 5, day, 12, tzinfo=dt.UTC) for day in (1, 2, 3)]
    table = pa.table(
        {
            "tz": pa.array(noon, pa.timestamp("us", tz="UTC")),
            "ns": pa.array([t.replace(tzinfo=None) for t in noon], pa.timestamp("ns")),
            "t": pa.array([dt.time(1, 2, 3), None, dt.time(4, 5, 6)], pa.time64("us")),
        }
    )
    profile = profile_parquet(connection, write(tmp_path, table), histogram_bins=4)
    tz, ns, t = profile.columns
    assert (tz.type, ns.type, t.type) == ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIME")
    assert {tz.kind, ns.kind, t.kind} == {"temporal"}
    assert (tz.min, tz.max) == ("2024-05-01T12:00:00+00:00", "2024-05-03T12:00:00+00:00")
    assert (ns.min, ns.max) == ("2024-05-01T12:00:00", "2024-05-03T12:00:00")
    assert tz.histogram is not None and tz.histogram.counts == [
        1,
        1,
        0,
        1,
    ]  # bins closed on the right
    assert tz.histogram.edges[2] == "2024-05-02T12:00:00+00:00"
    assert ns.histogram is not None and ns.histogram.counts == [1, 1, 0, 1]
    assert (t.min, t.max, t.null_count, t.histogram) == ("01:02:03", "04:05:06", 1, None)


def test_small_integer_ranges_get_one_bin_per_value(
    connection: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    months = [m for m in range(1, 13) for _ in range(m)]  # month m occurs m times
    path = write(tmp_path, pa.table({"month": pa.array(months, pa.int16())}))
    histogram = profile_parquet(connection, path).column("month").histogram
    assert histogram is not None
    assert histogram.edges == [m - 0.5 for m in range(1, 14)]
    assert histogram.counts == list(range(1, 13))


def test_high_cardinality_columns_match_the_frequency_path(
    connection: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Above FREQUENCY_LIMIT distinct values quantiles come from DuckDB's quantile_cont instead."""
    rng = np.random.default_rng(7)
    many = rng.normal(size=FREQUENCY_LIMIT + 5_000)
    few = np.round(many, 1)  # a few dozen distinct values: the value-count path
    path = write(tmp_path, pa.table({"many": many, "few": few}))
    profile = profile_parquet(connection, path, histogram_bins=10)
    for name, values in (("many", many), ("few", few)):
        column = profile.column(name)
        expected = np.percentile(values, [1, 5, 25, 50, 75, 95, 99])
        assert list(column.quantiles.values()) == pytest.approx(list(expected), rel=1e-12)
        assert column.histogram is not None
        edges = np.array(column.histogram.edges, dtype=float)
        bins = np.clip(np.searchsorted(edges, values, side="left") - 1, 0, len(edges) - 2)
        assert column.histogram.counts == np.bincount(bins, minlength=len(edges) - 1).tolist()
    assert profile.column("many").distinct_count == len(np.unique(many))
    assert profile.column("many").top_values == []


def test_correlations_are_pairwise_pearson(
    connection: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=500)
    frame = pd.DataFrame(
        {
            "x": x,
            "double": 2 * x + 1,
            "noisy": -x + rng.normal(scale=0.5, size=500),
            "gappy": np.where(np.arange(500) % 7 == 0, np.nan, x**2),
            "constant": np.ones(500),
            "label": ["a"] * 500,
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)  # NaN in gappy becomes null
    profile = profile_parquet(connection, write(tmp_path, table))
    correlations = profile.correlations
    assert correlations is not None
    assert correlations.columns == ["x", "double", "noisy", "gappy"]  # no constant, no text
    expected = frame[correlations.columns].corr()  # pandas: pairwise complete observations
    assert np.array(correlations.matrix, dtype=float) == pytest.approx(expected.to_numpy())
    assert correlations.matrix[0][1] == pytest.approx(1.0)


def test_correlations_need_two_numeric_columns_and_cap_wide_tables(
    connection: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    one = write(tmp_path, pa.table({"x": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]}), "one.parquet")
    assert profile_parquet(connection, one).correlations is None
    rng = np.random.default_rng(3)
    wide = pa.table({f"col {i}": rng.normal(size=50) for i in range(120)})
    profile = profile_parquet(connection, write(tmp_path, wide, "wide.parquet"))
    assert len(profile.columns) == 120
    assert all(c.histogram is not None and sum(c.histogram.counts) == 50 for c in profile.columns)
    assert profile.correlations is not None
    assert len(profile.correlations.columns) == MAX_CORRELATION_COLUMNS
    assert len(profile.correlations.matrix) == MAX_CORRELATION_COLUMNS


def test_empty_table(connection: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    schema = pa.schema([("n", pa.int64()), ("x", pa.float64()), ("s", pa.string())])
    profile = profile_parquet(connection, write(tmp_path, schema.empty_table()))
    assert (profile.rows, profile.profiled_rows, profile.sampled) == (0, 0, False)
    assert profile.correlations is None
    for column in profile.columns:
        assert (column.null_count, column.null_share, column.distinct_count) == (0, 0.0, 0)
        assert (column.min, column.histogram, column.top_values) == (None, None, [])


def test_large_tables_are_sampled_reproducibly(
    connection: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    table = pa.table({"n": np.arange(50_000), "s": [f"v{i % 5}" for i in range(50_000)]})
    path = write(tmp_path, table, row_group_size=5_000)
    first = profile_parquet(connection, path, max_rows=2_000)
    assert (first.rows, first.profiled_rows, first.sampled) == (50_000, 2_000, True)
    n = first.column("n")
    assert n.null_count == 0 and n.distinct_count == 2_000
    assert sum(t.count for t in first.column("s").top_values) == 2_000
    assert n.histogram is not None and sum(n.histogram.counts) == 2_000
    # The same rows whatever the number of threads; only float sums may differ in the last bit.
    single = duckdb.connect(config={"threads": 1})
    second = profile_parquet(single, path, max_rows=2_000)
    single.close()
    assert second.column("n").std == pytest.approx(n.std, rel=1e-12)
    for profile in (first, second):
        profile.seconds, profile.column("n").std = 0.0, None
    assert first == second
    temporary = "SELECT count(*) FROM duckdb_tables() WHERE temporary"
    assert connection.sql(temporary).fetchall() == [(0,)]
    assert not profile_parquet(connection, path).sampled


def test_awkward_column_names(connection: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    names = ["with space", 'quo"te', "it's", "select", "ünï", "c0"]
    table = pa.table({name: [1, 2, None] for name in names})
    profile = profile_parquet(connection, write(tmp_path, table, "it's here.parquet"))
    assert [c.name for c in profile.columns] == names
    assert all(c.null_count == 1 and c.mean == 1.5 for c in profile.columns)
    assert profile.correlations is not None and profile.correlations.columns == names


def test_round_trip_through_json(connection: duckdb.DuckDBPyConnection, known: str) -> None:
    profile = profile_parquet(connection, known)
    text = json.dumps(profile.to_dict(), allow_nan=False)
    restored = Profile.from_dict(json.loads(text))
    assert restored == profile
    assert isinstance(restored.columns[0], ColumnProfile)


def test_bad_arguments(connection: duckdb.DuckDBPyConnection, known: str, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="No Parquet file"):
        profile_parquet(connection, str(tmp_path / "missing.parquet"))
    with pytest.raises(Invalid, match="max_rows"):
        profile_parquet(connection, known, max_rows=0)
    with pytest.raises(NotFound, match="nope"):
        profile_parquet(connection, known).column("nope")
