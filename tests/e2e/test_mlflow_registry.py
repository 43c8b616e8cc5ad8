"""The real MLflow client logs, registers and loads a model through a real `seedbed up`."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import httpx
import pandas as pd
import pytest

from server_process import SeedbedServer

pytestmark = [
    pytest.mark.e2e,
    # The MLflow client warns about its own optional parts (type hints, pydantic, tracing,
    # environment inference, the pip version it pins).
    pytest.mark.filterwarnings("ignore::FutureWarning:mlflow"),
    pytest.mark.filterwarnings("ignore:.*type hint.*:UserWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:mlflow"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("mlflow-registry") / "ws") as running:
        yield running


def test_log_register_alias_and_load(mlflow: ModuleType, server: SeedbedServer) -> None:
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"x1": [0.0, 1.0, 2.0, 3.0], "x2": [1.0, 0.0, 1.0, 0.0]})
    target = [0, 0, 1, 1]
    model = LogisticRegression().fit(frame, target)

    mlflow.set_experiment("mlflow-e2e-registry")
    with mlflow.start_run() as run:
        mlflow.log_metric("accuracy", 1.0)
        info = mlflow.sklearn.log_model(model, name="model", input_example=frame.head(2))
    run_id = run.info.run_id
    assert info.model_id.startswith("m-")
    client = MlflowClient()
    logged = client.get_logged_model(info.model_id)
    assert logged.status.to_proto() == 2  # LOGGED_MODEL_READY
    assert logged.source_run_id == run_id
    # log_model copies the run's metrics to the model; the run's history is not doubled.
    assert len(client.get_metric_history(run_id, "accuracy")) == 1
    stored = server.workspace / "artifacts" / "models" / info.model_id / "artifacts" / "MLmodel"
    assert stored.is_file()

    version = mlflow.register_model(f"runs:/{run_id}/model", "churn-mlflow")
    assert version.version == "1" and version.run_id == run_id
    again = mlflow.register_model(f"models:/{info.model_id}", "churn-mlflow")
    assert again.version == "2"
    client.set_registered_model_alias("churn-mlflow", "champion", "1")
    assert client.get_model_version_by_alias("churn-mlflow", "champion").version == "1"

    rows = pd.DataFrame({"x1": [0.0, 3.0], "x2": [1.0, 0.0]})
    loaded = mlflow.pyfunc.load_model("models:/churn-mlflow@champion")
    assert list(loaded.predict(rows)) == [0, 1]
    by_number = mlflow.pyfunc.load_model("models:/churn-mlflow/2")
    assert list(by_number.predict(rows)) == [0, 1]
    assert list(mlflow.sklearn.load_model(f"models:/{info.model_id}").predict(rows)) == [0, 1]

    found = client.search_model_versions("name = 'churn-mlflow'")
    assert sorted(v.version for v in found) == ["1", "2"]
    assert [m.name for m in client.search_registered_models("name LIKE 'churn%'")] == [
        "churn-mlflow"
    ]

    # Tags set through MLflow are stored: read back, searched, shown by seedbed's API.
    client.set_registered_model_tag("churn-mlflow", "team", "risk")
    client.set_model_version_tag("churn-mlflow", "1", "validated", "true")
    assert client.get_registered_model("churn-mlflow").tags == {"team": "risk"}
    assert client.get_model_version("churn-mlflow", "1").tags == {"validated": "true"}
    assert [m.name for m in client.search_registered_models("tags.team = 'risk'")] == [
        "churn-mlflow"
    ]
    assert client.search_registered_models("tags.team = 'ops'") == []
    tagged = client.search_model_versions("name = 'churn-mlflow' and tags.validated = 'true'")
    assert [v.version for v in tagged] == ["1"]
    client.delete_model_version_tag("churn-mlflow", "1", "validated")
    assert client.get_model_version("churn-mlflow", "1").tags == {}

    # Seedbed's own API sees the MLflow-registered versions and scores with them.
    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
        seen = http.get("/api/v1/models/churn-mlflow").json()
        assert seen["latest_version"] == 2 and seen["aliases"] == {"champion": 1}
        assert seen["tags"] == {"team": "risk"}
        versions = http.get("/api/v1/models/churn-mlflow/versions").json()
        assert [v["version"] for v in versions] == [2, 1]
        scored = http.post(
            "/api/v1/models/churn-mlflow/versions/champion/predict",
            json={"inputs": [{"x1": 0.0, "x2": 1.0}, {"x1": 3.0, "x2": 0.0}]},
        )
    assert scored.status_code == 200, scored.text
    assert [p["prediction"] for p in scored.json()["predictions"]] == [0, 1]

    client.delete_registered_model_alias("churn-mlflow", "champion")
    client.rename_registered_model("churn-mlflow", "churn-renamed")
    assert client.get_registered_model("churn-renamed").latest_versions[0].version == "2"
    client.delete_model_version("churn-renamed", "2")
    client.delete_registered_model("churn-renamed")
    assert client.search_registered_models() == []


def test_a_model_trained_on_pii_keeps_its_flag(mlflow: ModuleType, server: SeedbedServer) -> None:
    """No version records a clean run while serving the model of a run that read personal
    data: not through seedbed's SDK (a path out of the run), nor the MLflow client (a run_id
    beside another run's source)."""
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from sklearn.linear_model import LogisticRegression

    import seedbed as sb

    frame = pd.DataFrame({"x1": [0.0, 1.0, 2.0, 3.0], "x2": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(frame, [0, 0, 1, 1])
    people = pd.DataFrame({"id": range(30), "email": [f"user{i}@example.org" for i in range(30)]})
    flag = ["people v1: email (email)"]
    client = MlflowClient()
    with sb.connect(server.url, server.token) as ws:
        ws.datasets.upload(people, name="people")
        with ws.start_run("pii-lineage", inputs=["people"], log_environment=False) as trained:
            trained.log_model(model, input_example=frame.head(2))
        with ws.start_run("pii-lineage", log_environment=False) as clean:
            pass
        with pytest.raises(sb.Invalid, match="relative path"):
            ws.models.register("leaky", clean.id, f"../../{trained.id}/artifacts/model")
        with pytest.raises(sb.Invalid, match="relative path"):
            ws.models.register("leaky", clean.id, f"%2e%2e/%2e%2e/{trained.id}/artifacts/model")
        assert ws.models.register("leaky", trained.id)["trained_on_pii"] == flag

        # The MLflow client: another run's source beside a clean run_id is refused.
        with pytest.raises(MlflowException, match="does not match") as refused:
            client.create_model_version("leaky", f"runs:/{trained.id}/model", run_id=clean.id)
        assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
        made = client.create_model_version("leaky", f"runs:/{trained.id}/model")
        assert made.run_id == trained.id

        # An MLflow 3 logged model belongs to the run that logged it.
        mlflow.set_experiment("pii-lineage")
        with mlflow.start_run() as run:
            ws.request(
                "POST",
                f"/api/v1/runs/{run.info.run_id}/inputs",
                json={"inputs": [{"name": "people"}]},
            )
            info = mlflow.sklearn.log_model(model, name="model", input_example=frame.head(2))
        with pytest.raises(MlflowException, match="does not match"):
            client.create_model_version("leaky", f"models:/{info.model_id}", run_id=clean.id)
        registered = mlflow.register_model(f"models:/{info.model_id}", "leaky")
        assert registered.run_id == run.info.run_id
        versions = ws.models.versions("leaky")
    assert [v["run_id"] for v in versions] == [run.info.run_id, trained.id, trained.id]
    assert all(v["trained_on_pii"] == flag for v in versions)
    client.delete_registered_model("leaky")  # the other test expects an empty registry
