from __future__ import annotations

from fastapi.testclient import TestClient


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
