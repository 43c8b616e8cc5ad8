"""Many writers logging to one run at once through a real server: nothing is lost or refused."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from server_process import SeedbedServer

pytestmark = pytest.mark.e2e

WRITERS = 8
BATCHES = 15
POINTS = 50


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("concurrent") / "ws") as running:
        yield running


def _http(server: SeedbedServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=60
    )


def test_concurrent_log_batch_calls_to_one_run_all_land(server: SeedbedServer) -> None:
    with _http(server) as http:
        experiment = http.post(
            "/api/2.0/mlflow/experiments/create", json={"name": "concurrent"}
        ).json()["experiment_id"]
        run_id = http.post(
            "/api/2.0/mlflow/runs/create", json={"experiment_id": experiment}
        ).json()["run"]["info"]["run_id"]

    def writer(number: int) -> list[int]:
        statuses = []
        with _http(server) as http:
            for batch in range(BATCHES):
                first = (number * BATCHES + batch) * POINTS
                body = {
                    "run_id": run_id,
                    "metrics": [
                        {"key": "loss", "value": step / 1000, "timestamp": 1, "step": step}
                        for step in range(first, first + POINTS)
                    ]
                    + [{"key": f"w{number}", "value": batch, "timestamp": 1, "step": batch}],
                    # Every writer sends the same shared param (same value: allowed) and its own.
                    "params": [
                        {"key": "shared", "value": "same"},
                        {"key": f"p{number}_{batch}", "value": str(batch)},
                    ],
                    "tags": [{"key": f"t{number}", "value": str(batch)}],
                }
                response = http.post("/api/2.0/mlflow/runs/log-batch", json=body)
                statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(WRITERS) as pool:
        answers = [status for statuses in pool.map(writer, range(WRITERS)) for status in statuses]
    assert answers == [200] * (WRITERS * BATCHES)

    with _http(server) as http:
        history = http.get(
            "/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}
        ).json()["metrics"]
        run = http.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id}).json()["run"]
    assert sorted(point["step"] for point in history) == list(range(WRITERS * BATCHES * POINTS))
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert len(params) == 1 + WRITERS * BATCHES and params["shared"] == "same"
    latest = {m["key"]: m for m in run["data"]["metrics"]}
    # The latest value of each writer's own metric is its last batch; of "loss", the top step.
    assert all(latest[f"w{n}"]["value"] == BATCHES - 1 for n in range(WRITERS))
    assert latest["loss"]["step"] == WRITERS * BATCHES * POINTS - 1
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert all(tags[f"t{n}"] == str(BATCHES - 1) for n in range(WRITERS))


def test_concurrent_runs_and_sdk_metrics_from_many_threads(server: SeedbedServer) -> None:
    def create_and_log(number: int) -> str:
        with _http(server) as http:
            made = http.post("/api/v1/runs", json={"experiment": "many", "name": f"r{number}"})
            made.raise_for_status()
            run_id: str = made.json()["id"]
            for step in range(20):
                http.post(
                    f"/api/v1/runs/{run_id}/metrics", json={"metrics": {"m": step}, "step": step}
                ).raise_for_status()
            http.post(f"/api/v1/runs/{run_id}/end", json={"status": "FINISHED"}).raise_for_status()
        return run_id

    with ThreadPoolExecutor(WRITERS) as pool:
        ids = list(pool.map(create_and_log, range(WRITERS * 2)))
    with _http(server) as http:
        for run_id in ids:
            assert len(http.get(f"/api/v1/runs/{run_id}/metrics/m").json()) == 20
            assert http.get(f"/api/v1/runs/{run_id}").json()["status"] == "FINISHED"
