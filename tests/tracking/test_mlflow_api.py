"""MLflow's tracking and artifact REST API, in-process: shapes, errors, limits and path safety."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import api_client
from seedbed.auth import tokens, users
from seedbed.settings import load_settings
from seedbed.tracking import runs as run_service
from seedbed.tracking.search import encode_page_token
from seedbed.workspace import Workspace

JSON_HEADERS = {"content-type": "application/json"}
API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
RUN_INFO_KEYS = {
    "run_id",
    "run_uuid",
    "run_name",
    "experiment_id",
    "user_id",
    "status",
    "start_time",
    "artifact_uri",
    "lifecycle_stage",
}


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "message"} and body["error_code"] == code, body
    message: str = body["message"]
    return message


def new_experiment(client: TestClient, name: str = "churn", **extra: Any) -> str:
    experiment_id: str = ok(client.post(f"{API}/experiments/create", json={"name": name, **extra}))[
        "experiment_id"
    ]
    return experiment_id


def new_run(client: TestClient, experiment_id: str, **extra: Any) -> dict[str, Any]:
    body = {"experiment_id": experiment_id, "start_time": 1_700_000_000_000, **extra}
    run: dict[str, Any] = ok(client.post(f"{API}/runs/create", json=body))["run"]
    return run


def get_run(client: TestClient, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = ok(client.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]
    return run


def pairs(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: item["value"] for item in items}


def test_experiment_lifecycle_in_mlflow_shapes(client: TestClient) -> None:
    experiment_id = new_experiment(client, tags=[{"key": "team", "value": "risk"}])
    assert isinstance(experiment_id, str) and experiment_id.isdigit()
    experiment = ok(client.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}))[
        "experiment"
    ]
    assert experiment["name"] == "churn" and experiment["experiment_id"] == experiment_id
    assert experiment["artifact_location"] == f"mlflow-artifacts:/{experiment_id}"
    assert experiment["lifecycle_stage"] == "active"
    assert experiment["tags"] == [{"key": "team", "value": "risk"}]
    assert isinstance(experiment["creation_time"], int)
    by_name = ok(client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "churn"}))
    assert by_name["experiment"]["experiment_id"] == experiment_id

    taken = client.post(f"{API}/experiments/create", json={"name": "churn"})
    assert "churn" in error(taken, 400, "RESOURCE_ALREADY_EXISTS")
    missing = client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "nope"})
    error(missing, 404, "RESOURCE_DOES_NOT_EXIST")

    ok(
        client.post(
            f"{API}/experiments/update",
            json={"experiment_id": experiment_id, "new_name": "churn-2"},
        )
    )
    tag = {"experiment_id": experiment_id, "key": "mlflow.note.content", "value": "why"}
    ok(client.post(f"{API}/experiments/set-experiment-tag", json=tag))
    renamed = ok(client.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}))
    assert renamed["experiment"]["name"] == "churn-2"
    assert pairs(renamed["experiment"]["tags"]) == {"team": "risk", "mlflow.note.content": "why"}

    ok(client.post(f"{API}/experiments/delete", json={"experiment_id": experiment_id}))
    # A deleted experiment still answers by name (the MLflow client then refuses to use it).
    deleted = ok(
        client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "churn-2"})
    )["experiment"]
    assert deleted["lifecycle_stage"] == "deleted"
    again = client.post(f"{API}/experiments/delete", json={"experiment_id": experiment_id})
    error(again, 400, "INVALID_PARAMETER_VALUE")
    refused = client.post(f"{API}/runs/create", json={"experiment_id": experiment_id})
    assert "restore" in error(refused, 400, "INVALID_PARAMETER_VALUE")
    ok(client.post(f"{API}/experiments/restore", json={"experiment_id": experiment_id}))
    restored = ok(client.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}))
    assert restored["experiment"]["lifecycle_stage"] == "active"


def test_search_experiments_filters_orders_and_pages(client: TestClient) -> None:
    for name, team in (("alpha", "risk"), ("beta", "growth"), ("gamma", "risk")):
        new_experiment(client, name, tags=[{"key": "team", "value": team}])
    ok(
        client.post(
            f"{API}/experiments/delete", json={"experiment_id": new_experiment(client, "old")}
        )
    )

    def names(**body: Any) -> list[str]:
        found = ok(client.post(f"{API}/experiments/search", json=body))
        return [e["name"] for e in found.get("experiments", [])]

    assert names(order_by=["name ASC"]) == ["alpha", "beta", "gamma"]
    assert names(filter="tags.team = 'risk'", order_by=["name DESC"]) == ["gamma", "alpha"]
    assert names(filter="name LIKE '%a' AND tags.`team` != 'growth'") == ["gamma", "alpha"]
    assert names(view_type="DELETED_ONLY") == ["old"]
    assert sorted(names(view_type="ALL")) == ["alpha", "beta", "gamma", "old"]
    get = ok(
        client.get(
            f"{API}/experiments/search", params={"filter": "name = 'beta'", "order_by": ["name"]}
        )
    )
    assert [e["name"] for e in get["experiments"]] == ["beta"]

    seen, token = [], None
    while True:
        page = ok(
            client.post(
                f"{API}/experiments/search",
                json={"max_results": 2, "order_by": ["name"], "page_token": token},
            )
        )
        seen += [e["name"] for e in page["experiments"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == ["alpha", "beta", "gamma"]

    bad = client.post(f"{API}/experiments/search", json={"filter": "name ~ 'x'"})
    assert "filter" in error(bad, 400, "INVALID_PARAMETER_VALUE").lower()
    bad_token = client.post(f"{API}/experiments/search", json={"page_token": "garbage"})
    error(bad_token, 400, "INVALID_PARAMETER_VALUE")


def test_default_experiment_zero_is_made_on_first_use(client: TestClient) -> None:
    default = ok(
        client.get(f"{API}/experiments/get-by-name", params={"experiment_name": "Default"})
    )["experiment"]
    assert default["experiment_id"] == "0" and default["name"] == "Default"
    run = new_run(client, "0")
    assert run["info"]["experiment_id"] == "0"
    assert run["info"]["artifact_uri"] == f"mlflow-artifacts:/0/{run['info']['run_id']}/artifacts"
    # Seedbed's own experiments keep counting from 1.
    assert int(new_experiment(client, "next")) >= 1


def test_run_lifecycle_in_mlflow_shapes(client: TestClient, local_workspace: Workspace) -> None:
    experiment_id = new_experiment(client)
    tags = [{"key": "mlflow.user", "value": "ada"}, {"key": "mlflow.source.type", "value": "LOCAL"}]
    run = new_run(client, experiment_id, run_name="first", tags=tags)
    info = run["info"]
    run_id = info["run_id"]
    assert set(info) == RUN_INFO_KEYS  # no end_time while running
    assert info["run_uuid"] == run_id and info["experiment_id"] == experiment_id
    assert (info["run_name"], info["user_id"], info["status"]) == ("first", "ada", "RUNNING")
    assert info["start_time"] == 1_700_000_000_000 and info["lifecycle_stage"] == "active"
    assert info["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    assert pairs(run["data"]["tags"])["mlflow.runName"] == "first"
    assert run["data"]["metrics"] == [] and run["data"]["params"] == [] and run["inputs"] == {}

    ref = {"run_id": run_id, "run_uuid": run_id}
    ok(client.post(f"{API}/runs/log-parameter", json={**ref, "key": "alpha", "value": "0.1"}))
    for step, value in enumerate([0.5, 0.7]):
        metric = {**ref, "key": "auc", "value": value, "timestamp": 1000 + step, "step": step}
        ok(client.post(f"{API}/runs/log-metric", json=metric))
    ok(client.post(f"{API}/runs/set-tag", json={**ref, "key": "stage", "value": "try"}))
    ok(client.post(f"{API}/runs/set-tag", json={**ref, "key": "gone", "value": "x"}))
    ok(client.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "gone"}))
    missing_tag = client.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "gone"})
    error(missing_tag, 404, "RESOURCE_DOES_NOT_EXIST")

    data = get_run(client, run_id)["data"]
    assert pairs(data["params"]) == {"alpha": "0.1"}
    assert data["metrics"] == [{"key": "auc", "value": 0.7, "timestamp": 1001, "step": 1}]
    assert {"stage": "try", "mlflow.user": "ada"}.items() <= pairs(data["tags"]).items()
    assert "gone" not in pairs(data["tags"])

    ended = ok(
        client.post(
            f"{API}/runs/update", json={**ref, "status": "FINISHED", "end_time": 1_700_000_500_000}
        )
    )
    assert ended["run_info"]["status"] == "FINISHED"
    assert ended["run_info"]["end_time"] == 1_700_000_500_000
    # The name and the mlflow.runName tag stay one: renaming either changes both.
    ok(client.post(f"{API}/runs/update", json={**ref, "run_name": "renamed"}))
    assert pairs(get_run(client, run_id)["data"]["tags"])["mlflow.runName"] == "renamed"
    ok(client.post(f"{API}/runs/set-tag", json={**ref, "key": "mlflow.runName", "value": "tagged"}))
    assert get_run(client, run_id)["info"]["run_name"] == "tagged"

    # Seedbed's own API and services see the same run.
    same = ok(client.get(f"/api/v1/runs/{run_id}"))
    assert same["params"] == {"alpha": "0.1"} and same["metrics"] == {"auc": 0.7}
    assert same["name"] == "tagged" and same["status"] == "FINISHED"
    assert [p.value for p in run_service.metric_history(local_workspace, run_id, "auc")] == [
        0.5,
        0.7,
    ]

    ok(client.post(f"{API}/runs/delete", json={"run_id": run_id}))
    assert get_run(client, run_id)["info"]["lifecycle_stage"] == "deleted"
    refused = client.post(f"{API}/runs/set-tag", json={**ref, "key": "k", "value": "v"})
    assert "deleted" in error(refused, 400, "INVALID_PARAMETER_VALUE")
    ok(client.post(f"{API}/runs/restore", json={"run_id": run_id}))
    assert get_run(client, run_id)["info"]["lifecycle_stage"] == "active"


def test_ajax_api_serves_the_same_routes(client: TestClient) -> None:
    experiment_id = new_experiment(client)
    run_id = new_run(client, experiment_id)["info"]["run_id"]
    got = ok(client.get("/ajax-api/2.0/mlflow/runs/get", params={"run_id": run_id}))
    assert got["run"]["info"]["run_id"] == run_id
    missing = client.get("/ajax-api/2.0/mlflow/runs/get", params={"run_id": "nope"})
    error(missing, 404, "RESOURCE_DOES_NOT_EXIST")


def test_unnamed_run_gets_a_name_that_its_tag_mirrors(client: TestClient) -> None:
    run = new_run(client, new_experiment(client))
    assert run["info"]["run_name"]
    assert pairs(run["data"]["tags"])["mlflow.runName"] == run["info"]["run_name"]
    clash = {"run_name": "a", "tags": [{"key": "mlflow.runName", "value": "b"}]}
    error(
        client.post(f"{API}/runs/create", json={"experiment_id": "0", **clash}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_params_are_write_once_and_limited(client: TestClient) -> None:
    run_id = new_run(client, new_experiment(client))["info"]["run_id"]
    param = {"run_id": run_id, "key": "depth", "value": "3"}
    ok(client.post(f"{API}/runs/log-parameter", json=param))
    ok(client.post(f"{API}/runs/log-parameter", json=param))  # the same value again is fine
    changed = client.post(f"{API}/runs/log-parameter", json={**param, "value": "4"})
    assert "write-once" in error(changed, 400, "INVALID_PARAMETER_VALUE")
    batch = {"run_id": run_id, "params": [{"key": "depth", "value": "5"}]}
    error(client.post(f"{API}/runs/log-batch", json=batch), 400, "INVALID_PARAMETER_VALUE")

    longest = {"run_id": run_id, "key": "long", "value": "x" * 6000}
    ok(client.post(f"{API}/runs/log-parameter", json=longest))
    too_long = client.post(
        f"{API}/runs/log-parameter", json={**longest, "key": "longer", "value": "x" * 6001}
    )
    assert "6000" in error(too_long, 400, "INVALID_PARAMETER_VALUE")
    assert pairs(get_run(client, run_id)["data"]["params"])["depth"] == "3"


@pytest.fixture
def any_backend_client(workspace: Workspace) -> Iterator[TestClient]:
    """The app over SQLite, then over PostgreSQL."""
    with api_client(workspace) as http:
        yield http


def test_nan_and_infinite_metrics_are_kept(
    any_backend_client: TestClient, workspace: Workspace
) -> None:
    client = any_backend_client
    run_id = new_run(client, new_experiment(client))["info"]["run_id"]
    ref = {"run_id": run_id, "timestamp": 5}
    # The MLflow client writes non-finite doubles as protobuf's JSON strings.
    ok(client.post(f"{API}/runs/log-metric", json={**ref, "key": "nan", "value": "NaN"}))
    ok(client.post(f"{API}/runs/log-metric", json={**ref, "key": "up", "value": "Infinity"}))
    batch = [
        {"key": "down", "value": "-Infinity", "timestamp": 5, "step": 0},
        {"key": "nan", "value": 1.5, "timestamp": 4, "step": 0},
    ]
    ok(client.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": batch}))
    latest = pairs(get_run(client, run_id)["data"]["metrics"])
    assert latest == {"nan": "NaN", "up": "Infinity", "down": "-Infinity"}
    history = ok(
        client.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "nan"})
    )["metrics"]
    assert [m["value"] for m in history] == [1.5, "NaN"]
    # Seedbed's own run API answers too (it never turns a NaN into a 500).
    response = client.get(f"/api/v1/runs/{run_id}")
    assert response.status_code == 200, response.text
    values = run_service.get_run(workspace, run_id).metrics
    assert math.isnan(values["nan"]) and values["up"] == math.inf and values["down"] == -math.inf


def test_log_batch_limits_and_atomicity(client: TestClient) -> None:
    run_id = new_run(client, new_experiment(client))["info"]["run_id"]

    def batch(metrics: int = 0, params: int = 0, tags: int = 0) -> httpx.Response:
        return client.post(
            f"{API}/runs/log-batch",
            json={
                "run_id": run_id,
                "metrics": [
                    {"key": "m", "value": i, "timestamp": i, "step": i} for i in range(metrics)
                ],
                "params": [{"key": f"p{i}", "value": "v"} for i in range(params)],
                "tags": [{"key": f"t{i}", "value": "v"} for i in range(tags)],
            },
        )

    ok(batch(metrics=1000))
    ok(batch(params=100, tags=100))
    assert "1000 metrics" in error(batch(metrics=1001), 400, "INVALID_PARAMETER_VALUE")
    assert "100 params" in error(batch(params=101), 400, "INVALID_PARAMETER_VALUE")
    assert "100 tags" in error(batch(tags=101), 400, "INVALID_PARAMETER_VALUE")
    mixed = {
        "run_id": run_id,
        "metrics": [{"key": "late", "value": 1, "timestamp": 1}],
        "params": [{"key": "p0", "value": "changed"}],
    }
    error(client.post(f"{API}/runs/log-batch", json=mixed), 400, "INVALID_PARAMETER_VALUE")
    assert "late" not in pairs(get_run(client, run_id)["data"]["metrics"])  # nothing half-written
    twice = {"run_id": run_id, "params": [{"key": "x", "value": "1"}, {"key": "x", "value": "2"}]}
    error(client.post(f"{API}/runs/log-batch", json=twice), 400, "INVALID_PARAMETER_VALUE")
    # Broken JSON and wrong types are the client's mistake too: 400 naming the field.
    broken = client.post(
        f"{API}/runs/log-batch", content=b'{"run_id": "x", "metrics": [', headers=JSON_HEADERS
    )
    error(broken, 400, "INVALID_PARAMETER_VALUE")
    wrong = {"run_id": run_id, "metrics": [{"key": "m", "value": "high", "timestamp": 1}]}
    assert "metrics.0.value" in error(
        client.post(f"{API}/runs/log-batch", json=wrong), 400, "INVALID_PARAMETER_VALUE"
    )


def test_metric_history_pages_like_mlflow(client: TestClient, local_workspace: Workspace) -> None:
    run_id = new_run(client, new_experiment(client))["info"]["run_id"]
    total = 25_000 + 37
    points = [run_service.LoggedMetric("loss", 1 / (i + 1), i, 1000 + i) for i in range(total)]
    run_service.log_batch(local_workspace, run_id, metrics=points)

    pages, token = [], None
    while True:
        params = {"run_id": run_id, "metric_key": "loss", "max_results": 25_000}
        if token:
            params["page_token"] = token
        page = ok(client.get(f"{API}/metrics/get-history", params=params))
        pages.append(page["metrics"])
        token = page.get("next_page_token")
        if not token:
            break
    assert [len(page) for page in pages] == [25_000, 37]
    steps = [m["step"] for page in pages for m in page]
    assert steps == list(range(total))
    assert pages[0][0] == {"key": "loss", "value": 1.0, "timestamp": 1000, "step": 0}
    everything = ok(
        client.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"})
    )
    assert len(everything["metrics"]) == total and "next_page_token" not in everything
    zero = client.get(
        f"{API}/metrics/get-history",
        params={"run_id": run_id, "metric_key": "loss", "max_results": 0},
    )
    error(zero, 400, "INVALID_PARAMETER_VALUE")


def test_numbers_past_64_bits_are_refused_or_read_as_unlimited(client: TestClient) -> None:
    """Huge integers end in a 400 (or mean "no limit"), never in a database overflow (500)."""
    huge = 10**23
    experiment_id = new_experiment(client)
    run_id = new_run(client, experiment_id)["info"]["run_id"]
    bad = [
        client.post(
            f"{API}/runs/create", json={"experiment_id": experiment_id, "start_time": huge}
        ),
        client.post(f"{API}/runs/update", json={"run_id": run_id, "end_time": huge}),
        client.post(
            f"{API}/runs/log-batch",
            json={"run_id": run_id, "metrics": [{"key": "a", "value": 1, "step": huge}]},
        ),
        client.post(
            f"{API}/runs/log-metric",
            json={"run_id": run_id, "key": "a", "value": 1, "timestamp": -huge},
        ),
        client.get(f"{API}/model-versions/get", params={"name": "m", "version": str(huge)}),
        client.get(f"{API}/model-versions/get", params={"name": "m", "version": "²"}),
        client.get(f"{API}/experiments/get", params={"experiment_id": "²"}),
        client.post(
            f"{API}/runs/search",
            json={"experiment_ids": [experiment_id], "page_token": encode_page_token(huge)},
        ),
    ]
    for response in bad:
        error(response, 400, "INVALID_PARAMETER_VALUE")
    ok(client.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "a", "value": 1}))
    history = client.get(
        f"{API}/metrics/get-history",
        params={"run_id": run_id, "metric_key": "a", "max_results": huge},
    )
    assert [m["value"] for m in ok(history)["metrics"]] == [1.0]
    late = ok(
        client.post(
            f"{API}/runs/search",
            json={"experiment_ids": [experiment_id], "filter": f"attributes.start_time > {huge}"},
        )
    )
    assert late.get("runs", []) == []


def test_errors_are_mlflow_shaped(client: TestClient, local_workspace: Workspace) -> None:
    anonymous = TestClient(client.app, base_url="http://127.0.0.1")
    for path in (
        f"{API}/experiments/search",
        "/ajax-api/2.0/mlflow/experiments/search",
        f"{ARTIFACTS}?path=x",
    ):
        error(anonymous.get(path), 401, "UNAUTHENTICATED")
    assert anonymous.get("/version").text == "3.1.0"  # public, as on an MLflow server

    error(
        client.get(f"{API}/runs/get", params={"run_id": "f" * 32}), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    error(client.get(f"{API}/no/such/endpoint"), 404, "ENDPOINT_NOT_FOUND")
    message = error(
        client.post(f"{API}/runs/log-metric", json={"run_id": "x"}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert "key" in message
    error(
        client.post(f"{API}/runs/log-metric", json={"run_id": "x", "key": "k", "value": "high"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    error(
        client.get(f"{API}/experiments/get", params={"experiment_id": "abc"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    error(
        client.post(f"{API}/runs/update", json={"run_id": "x", "status": "DONE"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    error(client.post(f"{API}/runs/create", json={}), 400, "INVALID_PARAMETER_VALUE")
    not_json = client.post(
        f"{API}/runs/create", content=b"{oops", headers={"content-type": "application/json"}
    )
    error(not_json, 400, "INVALID_PARAMETER_VALUE")

    experiment_id = new_experiment(client)
    viewer = users.create_user(local_workspace, "val", role="viewer")
    token = tokens.create_token(local_workspace, viewer, "t")
    reader = TestClient(
        client.app, base_url="http://127.0.0.1", headers={"Authorization": f"Bearer {token}"}
    )
    ok(reader.get(f"{API}/experiments/get", params={"experiment_id": experiment_id}))
    denied = reader.post(f"{API}/runs/create", json={"experiment_id": experiment_id})
    assert "viewer" in error(denied, 403, "PERMISSION_DENIED")
    error(reader.put(f"{ARTIFACTS}/x.txt", content=b"x"), 403, "PERMISSION_DENIED")
    # Seedbed's own API keeps its own error shape.
    assert client.get("/api/v1/runs/nope").json()["error"]["code"] == "not_found"


def test_log_inputs_records_datasets(client: TestClient) -> None:
    run_id = new_run(client, new_experiment(client))["info"]["run_id"]
    dataset = {
        "name": "flights",
        "digest": "abc123",
        "source_type": "local",
        "source": '{"uri": "/data/flights.parquet"}',
        "schema": '{"mlflow_colspec": []}',
        "profile": '{"num_rows": 10}',
    }
    body = {
        "run_id": run_id,
        "datasets": [
            {"tags": [{"key": "mlflow.data.context", "value": "train"}], "dataset": dataset}
        ],
        "models": [{"model_id": "m-1"}],
    }
    ok(client.post(f"{API}/runs/log-inputs", json=body))
    ok(client.post(f"{API}/runs/log-inputs", json=body))  # the same dataset again: kept once
    inputs = get_run(client, run_id)["inputs"]["dataset_inputs"]
    assert inputs == [
        {"tags": [{"key": "mlflow.data.context", "value": "train"}], "dataset": dataset}
    ]


def test_artifacts_round_trip_into_the_run_store(
    client: TestClient, local_workspace: Workspace
) -> None:
    experiment_id = new_experiment(client)
    run_id = new_run(client, experiment_id)["info"]["run_id"]
    root = f"{experiment_id}/{run_id}/artifacts"
    ok(client.put(f"{ARTIFACTS}/{root}/plots/loss.txt", content=b"0.5\n0.3\n"))
    ok(client.put(f"{ARTIFACTS}/{root}/model.pkl", content=b"\x00" * 10))
    # Seedbed's own store (its pages, SDK and registry) sees the same file.
    key = f"runs/{run_id}/artifacts/plots/loss.txt"
    assert local_workspace.artifacts.get_bytes(key) == b"0.5\n0.3\n"

    listed = ok(client.get(ARTIFACTS, params={"path": root}))["files"]
    assert listed == [
        {"path": "model.pkl", "is_dir": False, "file_size": 10},
        {"path": "plots", "is_dir": True},
    ]
    inner = ok(client.get(ARTIFACTS, params={"path": f"{root}/plots"}))["files"]
    assert inner == [{"path": "loss.txt", "is_dir": False, "file_size": 8}]
    assert ok(client.get(ARTIFACTS, params={"path": f"{root}/model.pkl"})) == {"files": []}

    download = client.get(f"{ARTIFACTS}/{root}/plots/loss.txt")
    assert download.status_code == 200 and download.content == b"0.5\n0.3\n"
    assert download.headers["content-type"] == "application/octet-stream"
    error(client.get(f"{ARTIFACTS}/{root}/nope.txt"), 404, "RESOURCE_DOES_NOT_EXIST")

    ok(client.delete(f"{ARTIFACTS}/{root}/plots"))
    assert not local_workspace.artifacts.exists(key)

    other = new_experiment(client, "other")
    wrong = client.put(f"{ARTIFACTS}/{other}/{run_id}/artifacts/x.txt", content=b"x")
    error(wrong, 404, "RESOURCE_DOES_NOT_EXIST")
    # Paths that are no run's (logged models, say) live under their own prefix.
    ok(client.put(f"{ARTIFACTS}/{experiment_id}/models/m-1/artifacts/MLmodel", content=b"m"))
    assert local_workspace.artifacts.exists(
        f"mlflow-artifacts/{experiment_id}/models/m-1/artifacts/MLmodel"
    )


TRAVERSALS = [
    ("put", "%2e%2e/%2e%2e/escaped.txt"),
    ("put", "0/%2E%2E/escaped.txt"),
    ("put", "x%2f..%2fescaped.txt"),
    ("put", "x%5c..%5cescaped.txt"),
    ("put", "%252e%252e/%252e%252e/escaped.txt"),
    ("get", "%2e%2e/%2e%2e/settings.toml"),
    ("get", "/etc/passwd"),
    ("delete", "%2e%2e/%2e%2e"),
    ("get", "C:/Windows/win.ini"),
]


@pytest.mark.parametrize(("method", "path"), TRAVERSALS)
def test_artifact_paths_cannot_escape(
    client: TestClient, local_workspace: Workspace, method: str, path: str
) -> None:
    response = client.request(method.upper(), f"{ARTIFACTS}/{path}", content=b"x")
    error(response, 400, "INVALID_PARAMETER_VALUE")
    assert not list(local_workspace.root.parent.rglob("escaped.txt"))
    assert (local_workspace.root / "seedbed.toml").exists()


@pytest.mark.parametrize(
    "path", ["../..", "/etc", "a/../../b", "a\\..\\b", "%2e%2e", "%252e%252e/x", "a#b"]
)
def test_artifact_listing_cannot_escape(client: TestClient, path: str) -> None:
    error(client.get(ARTIFACTS, params={"path": path}), 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.skipif(
    importlib.util.find_spec("seedbed.tracking.search") is None,
    reason="seedbed.tracking.search (search_runs) is not written yet",
)
def test_search_runs_filters_and_pages(client: TestClient) -> None:
    experiment_id = new_experiment(client)
    other_id = new_experiment(client, "other")
    for index, (model, auc) in enumerate([("tree", 0.7), ("linear", 0.6), ("tree", 0.9)]):
        run_id = new_run(client, experiment_id if index < 2 else other_id, run_name=f"r{index}")[
            "info"
        ]["run_id"]
        ok(
            client.post(
                f"{API}/runs/log-batch",
                json={
                    "run_id": run_id,
                    "params": [{"key": "model", "value": model}],
                    "metrics": [{"key": "auc", "value": auc, "timestamp": 1, "step": 0}],
                },
            )
        )

    def search(**body: Any) -> dict[str, Any]:
        found: dict[str, Any] = ok(
            client.post(
                f"{API}/runs/search", json={"experiment_ids": [experiment_id, other_id], **body}
            )
        )
        return found

    def names(**body: Any) -> list[str]:
        return sorted(r["info"]["run_name"] for r in search(**body).get("runs", []))

    assert names() == ["r0", "r1", "r2"]
    assert names(filter="params.model = 'tree' and metrics.auc > 0.8") == ["r2"]
    assert names(filter="metrics.auc < 0.65 OR attributes.run_name = 'r2'") == ["r1", "r2"]
    found = search(filter="params.model = 'linear'")["runs"][0]
    assert found["info"]["experiment_id"] == experiment_id
    assert found["data"]["metrics"] == [{"key": "auc", "value": 0.6, "timestamp": 1, "step": 0}]
    first = search(max_results=2, order_by=["metrics.auc DESC"])
    assert [r["info"]["run_name"] for r in first["runs"]] == ["r2", "r0"]
    rest = search(max_results=2, order_by=["metrics.auc DESC"], page_token=first["next_page_token"])
    assert [r["info"]["run_name"] for r in rest["runs"]] == ["r1"]
    assert "next_page_token" not in rest
    bad = client.post(
        f"{API}/runs/search", json={"experiment_ids": [experiment_id], "filter": "metrics.auc >"}
    )
    error(bad, 400, "INVALID_PARAMETER_VALUE")


def test_artifact_uploads_respect_the_size_limit_and_folders(tmp_path: Path) -> None:
    settings = load_settings(workspace=tmp_path / "ws", port=0, upload_max_bytes=10)
    with Workspace.open(settings) as workspace, api_client(workspace) as client:
        run_id = new_run(client, "0")["info"]["run_id"]
        root = f"{ARTIFACTS}/0/{run_id}/artifacts"
        ok(client.put(f"{root}/small.bin", content=b"x" * 10))
        big = client.put(f"{root}/big.bin", content=b"x" * 11)
        assert big.status_code == 413 and big.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert not workspace.artifacts.exists(f"runs/{run_id}/artifacts/big.bin")
        ok(client.put(f"{root}/folder/inner.txt", content=b"x"))
        error(client.put(f"{root}/folder", content=b"x"), 400, "INVALID_PARAMETER_VALUE")
        assert ok(client.get(ARTIFACTS)) == {"files": []}  # nothing outside runs yet
        leftovers = [p.name for p in (workspace.root / "artifacts").rglob("*") if ".tmp-" in p.name]
        assert leftovers == []
