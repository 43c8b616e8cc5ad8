"""Tracking benchmark: the same mlflow-client workload against MLflow's own server and seedbed.

Targets (issue 4), seedbed on SQLite against `mlflow server` with its SQLite backend:
- batch metric ingest (log_batch, 1,000 points a call): at least 10x MLflow's points/s;
- run creation (create + log_batch of 10 params and 5 metrics + terminate): at least 3x;
- reading a 100k-point metric history: at least 10x faster;
- a filtered search over 10k runs: under 100 ms (seedbed alone; its 10k runs are
  inserted in bulk before the server starts, since only the search is timed).
Prints each figure and the ratios.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from peers import mlflow_server
from server_process import SeedbedServer

BATCH_CALLS = 30  # x 1,000 points
RUNS = 200
HISTORY_POINTS = 100_000
SEARCH_RUNS = 10_000


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def timed_with_cpu(action: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds this process (the mlflow client; the servers run apart)
    spent: the floor under the wall time that no server, however fast, can remove."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def workload(client: MlflowClient) -> dict[str, float]:
    experiment = client.create_experiment(f"bench-{uuid.uuid4().hex[:8]}")
    now = int(time.time() * 1000)

    run = client.create_run(experiment).info.run_id

    def ingest() -> None:
        for call in range(BATCH_CALLS):
            metrics = [
                Metric(f"m{i % 10}", float(i), now, call * 100 + i // 10) for i in range(1000)
            ]
            client.log_batch(run, metrics=metrics)

    ingest_s, ingest_cpu = timed_with_cpu(ingest)

    def create_runs() -> None:
        for index in range(RUNS):
            run_id = client.create_run(experiment).info.run_id
            client.log_batch(
                run_id,
                params=[Param(f"p{i}", str(index)) for i in range(10)],
                metrics=[Metric(f"m{i}", index / (i + 1), now, 0) for i in range(5)],
                tags=[RunTag("bench", "yes")],
            )
            client.set_terminated(run_id)

    runs_s, runs_cpu = timed_with_cpu(create_runs)

    history_run = client.create_run(experiment).info.run_id
    for call in range(HISTORY_POINTS // 1000):
        client.log_batch(
            history_run,
            metrics=[
                Metric("loss", 1.0 / (call * 1000 + i + 1), now, call * 1000 + i)
                for i in range(1000)
            ],
        )
    reads = [timed(lambda: client.get_metric_history(history_run, "loss")) for _ in range(3)]
    read_cpu = timed_with_cpu(lambda: client.get_metric_history(history_run, "loss"))[1]
    assert len(client.get_metric_history(history_run, "loss")) == HISTORY_POINTS
    return {
        "points_per_s": BATCH_CALLS * 1000 / ingest_s,
        "runs_per_s": RUNS / runs_s,
        "history_s": statistics.median(reads),
        "ingest_floor_s": ingest_cpu,
        "ingest_s": ingest_s,
        "runs_floor_s": runs_cpu,
        "runs_s": runs_s,
        "history_floor_s": read_cpu,
    }


def seed_runs(workspace: Path) -> None:
    """10k runs with 10 params, 5 metrics and 3 tags each, inserted in bulk."""
    from seedbed.settings import load_settings
    from seedbed.tracking.experiments import create_experiment
    from seedbed.tracking.tables import latest_metrics, run_params, run_tags, runs
    from seedbed.workspace import Workspace

    with Workspace.open(load_settings(workspace=workspace)) as ws:
        experiment = create_experiment(ws, "search-10k")
        now = int(time.time() * 1000)
        ids = [uuid.uuid4().hex for _ in range(SEARCH_RUNS)]
        with ws.engine.begin() as connection:
            connection.execute(
                runs.insert(),
                [
                    {
                        "id": run_id,
                        "experiment_id": experiment.id,
                        "name": f"run-{n}",
                        "user": "b",
                        "status": "FINISHED",
                        "start_time": now + n,
                        "end_time": now + n,
                        "lifecycle_stage": "active",
                        "artifact_uri": "",
                    }
                    for n, run_id in enumerate(ids)
                ],
            )
            connection.execute(
                run_params.insert(),
                [
                    {"run_id": run_id, "key": f"p{i}", "value": f"v{(n + i) % 20}"}
                    for n, run_id in enumerate(ids)
                    for i in range(10)
                ],
            )
            connection.execute(
                latest_metrics.insert(),
                [
                    {
                        "run_id": run_id,
                        "key": f"m{i}",
                        "value": ((n * 7919 + i) % 1000) / 1000,
                        "step": 0,
                        "timestamp": now,
                    }
                    for n, run_id in enumerate(ids)
                    for i in range(5)
                ],
            )
            connection.execute(
                run_tags.insert(),
                [
                    {"run_id": run_id, "key": f"t{i}", "value": f"group-{n % (i + 3)}"}
                    for n, run_id in enumerate(ids)
                    for i in range(3)
                ],
            )


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with mlflow_server(folder) as url:
            os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
            theirs = workload(MlflowClient(tracking_uri=url))
        seed_runs(folder / "ws")
        with SeedbedServer(folder / "ws") as server:
            os.environ["MLFLOW_TRACKING_TOKEN"] = server.token
            client = MlflowClient(tracking_uri=server.url)
            ours = workload(client)
            experiment = client.get_experiment_by_name("search-10k").experiment_id
            query = (
                "metrics.m0 > 0.9 and params.p3 = 'v7' "
                "or (tags.t0 = 'group-2' and metrics.m4 < 0.05)"
            )
            client.search_runs([experiment], query, max_results=100)
            searches = [
                timed(lambda: client.search_runs([experiment], query, max_results=100))
                for _ in range(10)
            ]
    print(
        f"log_batch ingest: mlflow {theirs['points_per_s']:,.0f} points/s, seedbed "
        f"{ours['points_per_s']:,.0f} points/s, "
        f"ratio {ours['points_per_s'] / theirs['points_per_s']:.1f}x (target >= 10x)"
    )
    print(
        f"run creation: mlflow {theirs['runs_per_s']:.1f} runs/s, seedbed {ours['runs_per_s']:.1f} "
        f"runs/s, ratio {ours['runs_per_s'] / theirs['runs_per_s']:.1f}x (target >= 3x)"
    )
    print(
        f"100k-point metric history: mlflow {theirs['history_s']:.2f} s, seedbed "
        f"{ours['history_s']:.2f} s, "
        f"ratio {theirs['history_s'] / ours['history_s']:.1f}x (target >= 10x)"
    )
    # What the mlflow client costs by itself bounds every ratio: mlflow's time / client floor.
    for label, total, floor in (
        ("ingest", theirs["ingest_s"], ours["ingest_floor_s"]),
        ("run creation", theirs["runs_s"], ours["runs_floor_s"]),
        ("metric history", theirs["history_s"], ours["history_floor_s"]),
    ):
        print(
            f"  {label}: the mlflow client's own CPU time is {floor:.2f} s of seedbed's run, "
            f"so no server could beat mlflow by more than {total / floor:.1f}x here"
        )
    print(
        f"filtered search over {SEARCH_RUNS:,} runs (over HTTP, 100 per page): median "
        f"{statistics.median(searches) * 1000:.0f} ms (target < 100 ms)"
    )


if __name__ == "__main__":
    main()
