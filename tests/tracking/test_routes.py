from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from seedbed.data import datasets
from seedbed.workspace import Workspace


def test_log_a_run_over_the_api(client: TestClient) -> None:
    made = client.post("/api/v1/runs", json={"experiment": "api-exp", "name": "r1"})
    assert made.status_code == 201
    run_id = made.json()["id"]
    assert (
        client.post(f"/api/v1/runs/{run_id}/params", json={"params": {"a": 1}}).status_code == 204
    )
    assert (
        client.post(
            f"/api/v1/runs/{run_id}/metrics", json={"metrics": {"auc": 0.8}, "step": 2}
        ).status_code
        == 204
    )
    assert client.post(f"/api/v1/runs/{run_id}/tags", json={"tags": {"k": "v"}}).status_code == 204
    ended = client.post(f"/api/v1/runs/{run_id}/end", json={"status": "FINISHED"}).json()
    assert ended["status"] == "FINISHED"
    assert ended["params"] == {"a": "1"} and ended["metrics"] == {"auc": 0.8}
    history = client.get(f"/api/v1/runs/{run_id}/metrics/auc").json()
    assert history[0]["step"] == 2
    [experiment] = client.get("/api/v1/experiments").json()
    assert experiment["name"] == "api-exp" and experiment["run_count"] == 1
    assert [r["id"] for r in client.get(f"/api/v1/experiments/{experiment['id']}/runs").json()] == [
        run_id
    ]


def test_api_errors_are_clear_4xx(client: TestClient) -> None:
    run_id = client.post("/api/v1/runs", json={"experiment": "e"}).json()["id"]
    client.post(f"/api/v1/runs/{run_id}/params", json={"params": {"a": 1}})
    conflict = client.post(f"/api/v1/runs/{run_id}/params", json={"params": {"a": 2}})
    assert conflict.status_code == 409 and "write-once" in conflict.json()["error"]["message"]
    missing = client.get("/api/v1/runs/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
    bad = client.post(f"/api/v1/runs/{run_id}/metrics", json={"metrics": {"auc": "high"}})
    assert bad.status_code == 422 and "metrics.auc" in bad.json()["error"]["message"]
    duplicate = client.post("/api/v1/experiments", json={"name": "e"})
    assert duplicate.status_code == 409


def test_experiment_and_run_pages(demo_client: TestClient) -> None:
    experiments = demo_client.get("/ui/experiments")
    assert experiments.status_code == 200 and "flight-delays" in experiments.text
    [experiment] = demo_client.get("/api/v1/experiments").json()
    page = demo_client.get(f"/ui/experiments/{experiment['id']}")
    assert "business-rule" in page.text and "gradient-boosting" in page.text
    assert "roc_auc" in page.text
    runs = demo_client.get(f"/api/v1/experiments/{experiment['id']}/runs").json()
    model_run = next(r for r in runs if r["name"] == "gradient-boosting")
    run_page = demo_client.get(f"/ui/runs/{model_run['id']}")
    assert "HistGradientBoostingClassifier" in run_page.text
    assert "model/MLmodel" in run_page.text and "flight-delay" in run_page.text


def _new_run(client: TestClient, **body: object) -> str:
    made = client.post("/api/v1/runs", json={"experiment": "sdk-routes", **body})
    assert made.status_code == 201, made.text
    run_id: str = made.json()["id"]
    return run_id


def test_batch_logs_metrics_params_and_tags_all_or_nothing(client: TestClient) -> None:
    run_id = _new_run(client)
    batch = {
        "metrics": [
            {"key": "loss", "value": 0.9, "step": 0, "timestamp": 1000},
            {"key": "loss", "value": 0.4, "step": 1, "timestamp": 2000},
        ],
        "params": [{"key": "C", "value": "1.0"}],
        "tags": [{"key": "team", "value": "risk"}],
    }
    assert client.post(f"/api/v1/runs/{run_id}/batch", json=batch).status_code == 204
    history = client.get(f"/api/v1/runs/{run_id}/metrics/loss").json()
    assert [(p["step"], p["value"], p["timestamp"]) for p in history] == [
        (0, 0.9, 1000),
        (1, 0.4, 2000),
    ]
    # A param conflict refuses the whole batch: the metric point in it is not written.
    clash = {
        "metrics": [{"key": "loss", "value": 0.1, "step": 2}],
        "params": [{"key": "C", "value": "2.0"}],
    }
    refused = client.post(f"/api/v1/runs/{run_id}/batch", json=clash)
    assert refused.status_code == 409
    assert len(client.get(f"/api/v1/runs/{run_id}/metrics/loss").json()) == 2
    run = client.get(f"/api/v1/runs/{run_id}").json()
    assert run["params"] == {"C": "1.0"} and run["tags"]["team"] == "risk"
    assert run["metrics"] == {"loss": 0.4}
    bad_key = client.post(
        f"/api/v1/runs/{run_id}/batch", json={"metrics": [{"key": " x", "value": 1}]}
    )
    assert bad_key.status_code == 400 and "Metric" in bad_key.json()["error"]["message"]
    twice = {"tags": [{"key": "team", "value": "a"}, {"key": "team", "value": "b"}]}
    doubled = client.post(f"/api/v1/runs/{run_id}/batch", json=twice)
    assert doubled.status_code == 400
    assert doubled.json()["error"]["message"] == (
        "Tag 'team' is given twice with different values."
    )
    assert client.post("/api/v1/runs/nope/batch", json={}).status_code == 404


def test_run_inputs_are_checked_before_the_run_is_made(
    client: TestClient, local_workspace: Workspace, tmp_path: Path
) -> None:
    for digest in ("v1", "v2"):  # publishing takes the file over, so write one each time
        frame_path = tmp_path / f"{digest}.parquet"
        pd.DataFrame({"a": [1, 2]}).to_parquet(frame_path)
        datasets.publish_parquet(local_workspace, "toy", frame_path, digest, "upload")
    run_id = _new_run(client, inputs=[{"name": "toy", "version": 1}, {"name": "toy"}])
    assert client.get(f"/api/v1/runs/{run_id}/inputs").json() == [
        {"name": "toy", "version": 1},
        {"name": "toy", "version": 2},
    ]
    for missing in ({"name": "nope"}, {"name": "toy", "version": 9}):
        refused = client.post(
            "/api/v1/runs",
            json={"experiment": "sdk-routes", "inputs": [{"name": "toy"}, missing]},
        )
        assert refused.status_code == 404, refused.text
    [experiment] = client.get("/api/v1/experiments").json()
    assert experiment["run_count"] == 1  # the refused starts left no runs
    # Later inputs: all checked first, so a bad one records none.
    later = client.post(
        f"/api/v1/runs/{run_id}/inputs", json={"inputs": [{"name": "toy"}, {"name": "nope"}]}
    )
    assert later.status_code == 404
    assert len(client.get(f"/api/v1/runs/{run_id}/inputs").json()) == 2


def test_run_artifacts_upload_list_and_download(
    client: TestClient, local_workspace: Workspace
) -> None:
    run_id = _new_run(client)
    put = client.put(f"/api/v1/runs/{run_id}/artifacts/notes/a b.txt", content=b"hello")
    assert put.status_code == 201 and put.json() == {"path": "notes/a b.txt", "size": 5}
    client.put(f"/api/v1/runs/{run_id}/artifacts/top.json", content=b"{}")
    listed = client.get(f"/api/v1/runs/{run_id}/artifacts").json()
    assert listed == [{"path": "notes/a b.txt", "size": 5}, {"path": "top.json", "size": 2}]
    assert client.get(f"/api/v1/runs/{run_id}/artifacts", params={"path": "notes"}).json() == [
        {"path": "notes/a b.txt", "size": 5}
    ]
    got = client.get(f"/api/v1/runs/{run_id}/artifacts/notes/a%20b.txt")
    assert got.status_code == 200 and got.content == b"hello"
    assert client.get(f"/api/v1/runs/{run_id}/artifacts/missing.txt").status_code == 404
    # The same files the MLflow artifact proxy and the run page see.
    assert local_workspace.artifacts.exists(f"runs/{run_id}/artifacts/notes/a b.txt")


@pytest.mark.parametrize(
    "path",
    ["%2e%2e/%2e%2e/escaped.txt", "x%2f..%2fescaped.txt", "%252e%252e/escaped.txt", "x%5cescaped"],
)
def test_run_artifact_paths_cannot_escape(
    client: TestClient, local_workspace: Workspace, path: str
) -> None:
    run_id = _new_run(client)
    response = client.put(f"/api/v1/runs/{run_id}/artifacts/{path}", content=b"x")
    assert response.status_code == 400, response.text
    assert not list(local_workspace.root.parent.rglob("escaped*"))
    assert client.get(f"/api/v1/runs/{run_id}/artifacts/{path}").status_code == 400


def test_logging_a_model_needs_its_files(client: TestClient, local_workspace: Workspace) -> None:
    run_id = _new_run(client)
    missing = client.post(f"/api/v1/runs/{run_id}/models", json={"path": "model"})
    assert missing.status_code == 400 and "MLmodel" in missing.json()["error"]["message"]
    client.put(f"/api/v1/runs/{run_id}/artifacts/model/MLmodel", content=b"flavors: {}\n")
    made = client.post(f"/api/v1/runs/{run_id}/models", json={"path": "model"})
    assert made.status_code == 201, made.text
    model = made.json()
    assert model["status"] == "LOGGED_MODEL_READY" and model["run_id"] == run_id
    assert local_workspace.artifacts.get_bytes(f"models/{model['id']}/artifacts/MLmodel") == (
        b"flavors: {}\n"
    )


def test_move_a_run_through_the_api(client: TestClient) -> None:
    run_id = client.post("/api/v1/runs", json={"experiment": "from-here"}).json()["id"]
    client.post("/api/v1/experiments", json={"name": "to-there"})
    moved = client.post(f"/api/v1/runs/{run_id}/move", json={"experiment": "to-there"})
    assert moved.status_code == 200, moved.text
    there = next(e for e in client.get("/api/v1/experiments").json() if e["name"] == "to-there")
    assert moved.json()["experiment_id"] == there["id"]
    assert [r["id"] for r in client.get(f"/api/v1/experiments/{there['id']}/runs").json()] == [
        run_id
    ]
    missing = client.post(f"/api/v1/runs/{run_id}/move", json={"experiment": "nowhere"})
    assert missing.status_code == 404 and "nowhere" in missing.json()["error"]["message"]
    empty = client.post(f"/api/v1/runs/{run_id}/move", json={"experiment": ""})
    assert empty.status_code == 422
