"""MLflow 3 logged models and the MLflow model-registry API, in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from seedbed.registry import models as model_service
from seedbed.registry.model_format import InputColumn, save_sklearn_model
from seedbed.workspace import Workspace

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    message: str = body["message"]
    return message


def new_run(client: TestClient) -> tuple[str, str]:
    experiment_id = ok(client.post(f"{API}/experiments/create", json={"name": "lm"}))[
        "experiment_id"
    ]
    run = ok(client.post(f"{API}/runs/create", json={"experiment_id": experiment_id}))["run"]
    return experiment_id, run["info"]["run_id"]


def new_model(client: TestClient, experiment_id: str, run_id: str, name: str = "model") -> Any:
    body = {
        "experiment_id": experiment_id,
        "name": name,
        "model_type": "sklearn",
        "source_run_id": run_id,
        "params": [{"key": "C", "value": "1.0"}],
        "tags": [{"key": "team", "value": "risk"}],
    }
    return ok(client.post(f"{API}/logged-models", json=body))["model"]


def upload_model(client: TestClient, artifact_uri: str, tmp_path: Path) -> None:
    """Save a tiny sklearn model and PUT its files where the client would."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    folder = save_sklearn_model(model, tmp_path / "m", [InputColumn("x", "double")], {"x": 1.0})
    prefix = artifact_uri.removeprefix("mlflow-artifacts:/")
    for path in folder.iterdir():
        url = f"{ARTIFACTS}/{prefix}/{path.name}"
        ok(client.put(url, content=path.read_bytes()))


def test_logged_model_lifecycle(client: TestClient, local_workspace: Workspace) -> None:
    experiment_id, run_id = new_run(client)
    model = new_model(client, experiment_id, run_id)
    info = model["info"]
    model_id = info["model_id"]
    assert model_id.startswith("m-") and len(model_id) == 34
    assert info["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/models/{model_id}/artifacts"
    assert info["status"] == "LOGGED_MODEL_PENDING" and info["source_run_id"] == run_id
    assert model["data"]["params"] == [{"key": "C", "value": "1.0"}]

    ok(
        client.post(
            f"{API}/runs/outputs",
            json={"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]},
        )
    )
    # log_model re-sends the run's metrics with the model's id: not stored twice.
    ok(
        client.post(
            f"{API}/runs/log-batch",
            json={
                "run_id": run_id,
                "metrics": [{"key": "auc", "value": 0.9, "timestamp": 1, "step": 0}],
            },
        )
    )
    ok(
        client.post(
            f"{API}/runs/log-batch",
            json={
                "run_id": run_id,
                "metrics": [
                    {"key": "auc", "value": 0.9, "timestamp": 1, "step": 0, "model_id": model_id}
                ],
            },
        )
    )
    history = ok(
        client.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "auc"})
    )
    assert len(history["metrics"]) == 1

    ok(
        client.put(
            f"{ARTIFACTS}/{experiment_id}/models/{model_id}/artifacts/MLmodel",
            content=b"flavors: {}\n",
        )
    )
    assert local_workspace.artifacts.exists(f"models/{model_id}/artifacts/MLmodel")
    listed = ok(
        client.get(ARTIFACTS, params={"path": f"{experiment_id}/models/{model_id}/artifacts"})
    )
    assert [f["path"] for f in listed["files"]] == ["MLmodel"]
    error(
        client.get(f"{ARTIFACTS}/999/models/{model_id}/artifacts/MLmodel"),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )

    ready = ok(
        client.patch(
            f"{API}/logged-models/{model_id}",
            json={"model_id": model_id, "status": "LOGGED_MODEL_READY"},
        )
    )
    assert ready["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    error(
        client.patch(f"{API}/logged-models/{model_id}", json={"status": "BOGUS"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )

    ok(
        client.patch(
            f"{API}/logged-models/{model_id}/tags",
            json={"tags": [{"key": "stage", "value": "try"}]},
        )
    )
    tags = ok(client.get(f"{API}/logged-models/{model_id}"))["model"]["info"]["tags"]
    assert {t["key"]: t["value"] for t in tags} == {"team": "risk", "stage": "try"}
    ok(client.delete(f"{API}/logged-models/{model_id}/tags/stage"))
    error(
        client.delete(f"{API}/logged-models/{model_id}/tags/stage"), 404, "RESOURCE_DOES_NOT_EXIST"
    )

    ok(client.delete(f"{API}/logged-models/{model_id}"))
    error(client.get(f"{API}/logged-models/{model_id}"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert not local_workspace.artifacts.exists(f"models/{model_id}/artifacts/MLmodel")
    error(client.get(f"{API}/logged-models/not-an-id"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_search_logged_models(client: TestClient) -> None:
    experiment_id, run_id = new_run(client)
    first = new_model(client, experiment_id, run_id, "model")["info"]["model_id"]
    second = new_model(client, experiment_id, run_id, "other")["info"]["model_id"]

    def search(**body: Any) -> list[str]:
        found = ok(
            client.post(
                f"{API}/logged-models/search", json={"experiment_ids": [experiment_id], **body}
            )
        )
        return [m["info"]["model_id"] for m in found["models"]]

    assert search() == [second, first]
    assert search(filter="name = 'model'") == [first]
    assert search(filter=f"name != 'model' AND source_run_id = '{run_id}'") == [second]
    assert search(filter="tags.team = 'risk' and params.C = '1.0'") == [second, first]
    assert search(filter="name = 'nope'") == []
    page = ok(
        client.post(
            f"{API}/logged-models/search",
            json={"experiment_ids": [experiment_id], "max_results": 1},
        )
    )
    assert len(page["models"]) == 1 and page["next_page_token"]
    rest = ok(
        client.post(
            f"{API}/logged-models/search",
            json={
                "experiment_ids": [experiment_id],
                "max_results": 1,
                "page_token": page["next_page_token"],
            },
        )
    )
    assert [m["info"]["model_id"] for m in rest["models"]] == [first]
    error(
        client.post(f"{API}/logged-models/search", json={"max_results": 51}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    error(
        client.post(f"{API}/logged-models/search", json={"filter": "metrics.auc > 1"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_registry_over_logged_and_run_models(
    client: TestClient, local_workspace: Workspace, tmp_path: Path
) -> None:
    experiment_id, run_id = new_run(client)
    info = new_model(client, experiment_id, run_id)["info"]
    model_id = info["model_id"]
    upload_model(client, info["artifact_uri"], tmp_path / "a")
    upload_model(
        client, f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts/clf", tmp_path / "b"
    )

    created = ok(
        client.post(f"{API}/registered-models/create", json={"name": "churn", "description": "d"})
    )
    assert created["registered_model"]["name"] == "churn"
    error(
        client.post(f"{API}/registered-models/create", json={"name": "churn"}),
        400,
        "RESOURCE_ALREADY_EXISTS",
    )

    one = ok(
        client.post(
            f"{API}/model-versions/create",
            json={"name": "churn", "source": f"models:/{model_id}", "model_id": model_id},
        )
    )["model_version"]
    assert (one["version"], one["source"], one["run_id"], one["model_id"]) == (
        "1",
        f"models:/{model_id}",
        run_id,
        model_id,
    )
    two = ok(
        client.post(
            f"{API}/model-versions/create",
            json={"name": "churn", "source": f"runs:/{run_id}/clf", "run_id": run_id},
        )
    )["model_version"]
    assert (
        two["version"] == "2"
        and two["source"] == f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts/clf"
    )
    three = ok(
        client.post(
            f"{API}/model-versions/create",
            json={
                "name": "churn",
                "source": f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts/clf",
            },
        )
    )["model_version"]
    assert three["version"] == "3" and three["run_id"] == run_id
    error(
        client.post(
            f"{API}/model-versions/create", json={"name": "churn", "source": "s3://bucket/m"}
        ),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    error(
        client.post(
            f"{API}/model-versions/create",
            json={"name": "churn", "source": f"runs:/{run_id}/nothing"},
        ),
        400,
        "INVALID_PARAMETER_VALUE",
    )

    # Seedbed's registry sees the same versions, with sources its loader reads.
    assert (
        model_service.get_version(local_workspace, "churn", 1).source
        == f"models/{model_id}/artifacts"
    )
    assert (
        model_service.get_version(local_workspace, "churn", 2).source
        == f"runs/{run_id}/artifacts/clf"
    )

    uri = ok(
        client.get(
            f"{API}/model-versions/get-download-uri", params={"name": "churn", "version": "1"}
        )
    )
    assert uri == {"artifact_uri": f"mlflow-artifacts:/{experiment_id}/models/{model_id}/artifacts"}

    ok(
        client.post(
            f"{API}/registered-models/alias",
            json={"name": "churn", "alias": "champion", "version": "2"},
        )
    )
    by_alias = ok(
        client.get(f"{API}/registered-models/alias", params={"name": "churn", "alias": "champion"})
    )
    assert by_alias["model_version"]["version"] == "2" and by_alias["model_version"]["aliases"] == [
        "champion"
    ]
    got = ok(client.get(f"{API}/registered-models/get", params={"name": "churn"}))[
        "registered_model"
    ]
    assert got["aliases"] == [{"alias": "champion", "version": "2"}]
    assert [v["version"] for v in got["latest_versions"]] == ["3"]
    latest = ok(client.post(f"{API}/registered-models/get-latest-versions", json={"name": "churn"}))
    assert [v["version"] for v in latest["model_versions"]] == ["3"]

    found = ok(
        client.get(
            f"{API}/model-versions/search", params={"filter": "name='churn'", "max_results": 2}
        )
    )
    assert [v["version"] for v in found["model_versions"]] == ["3", "2"] and found[
        "next_page_token"
    ]
    by_run = ok(
        client.get(f"{API}/model-versions/search", params={"filter": f"run_id = '{run_id}'"})
    )
    assert len(by_run["model_versions"]) == 3
    ok(client.post(f"{API}/registered-models/create", json={"name": "other"}))
    prompts_left_out = "name LIKE 'ch%' AND tag.`mlflow.prompt.is_prompt` != 'true'"
    names = ok(client.get(f"{API}/registered-models/search", params={"filter": prompts_left_out}))
    assert [m["name"] for m in names["registered_models"]] == ["churn"]
    everything = ok(client.get(f"{API}/registered-models/search"))
    assert [m["name"] for m in everything["registered_models"]] == ["churn", "other"]

    ok(
        client.patch(
            f"{API}/model-versions/update",
            json={"name": "churn", "version": "1", "description": "first"},
        )
    )
    assert (
        ok(client.get(f"{API}/model-versions/get", params={"name": "churn", "version": "1"}))[
            "model_version"
        ]["description"]
        == "first"
    )
    ok(
        client.patch(
            f"{API}/registered-models/update", json={"name": "churn", "description": "new"}
        )
    )

    renamed = ok(
        client.post(f"{API}/registered-models/rename", json={"name": "churn", "new_name": "churn2"})
    )
    assert renamed["registered_model"]["aliases"] == [{"alias": "champion", "version": "2"}]
    assert renamed["registered_model"]["description"] == "new"
    error(
        client.get(f"{API}/registered-models/get", params={"name": "churn"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    error(
        client.post(
            f"{API}/registered-models/rename", json={"name": "churn2", "new_name": "other"}
        ),
        400,
        "RESOURCE_ALREADY_EXISTS",
    )

    ok(
        client.request(
            "DELETE", f"{API}/model-versions/delete", json={"name": "churn2", "version": "2"}
        )
    )
    error(
        client.get(
            f"{API}/registered-models/alias", params={"name": "churn2", "alias": "champion"}
        ),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    ok(
        client.post(
            f"{API}/registered-models/alias",
            json={"name": "churn2", "alias": "champion", "version": "1"},
        )
    )
    ok(
        client.request(
            "DELETE", f"{API}/registered-models/alias", json={"name": "churn2", "alias": "champion"}
        )
    )
    ok(client.request("DELETE", f"{API}/registered-models/delete", json={"name": "churn2"}))
    error(
        client.get(f"{API}/model-versions/get", params={"name": "churn2", "version": "1"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    # The logged model and its files outlive the registered model.
    assert local_workspace.artifacts.exists(f"models/{model_id}/artifacts/MLmodel")


@pytest.mark.filterwarnings("ignore:.*type hint.*:UserWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning:mlflow")
def test_seedbed_demo_model_loads_with_mlflow_pyfunc(
    demo_workspace: Workspace, tmp_path: Path
) -> None:
    import mlflow.pyfunc

    from seedbed import demo

    version = model_service.resolve(demo_workspace, demo.MODEL_NAME, "champion")
    local = demo_workspace.artifacts.download_dir(version.source, tmp_path / "m")
    loaded = mlflow.pyfunc.load_model(str(local))
    from seedbed.registry import model_format

    example = model_format.read_input_example(local)
    import pandas as pd

    assert len(loaded.predict(pd.DataFrame([example]))) == 1
