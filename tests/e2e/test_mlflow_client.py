"""The real, unmodified MLflow client against a real `seedbed up`: tracking and artifacts."""

from __future__ import annotations

import http.client
import importlib.util
import math
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pandas as pd
import pytest

import seedbed as sb
from server_process import SeedbedServer

pytestmark = [
    pytest.mark.e2e,
    # The MLflow client warns about its own optional parts (type hints, pydantic, tracing).
    pytest.mark.filterwarnings("ignore::FutureWarning:mlflow"),
    pytest.mark.filterwarnings("ignore:.*type hint.*:UserWarning"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("mlflow") / "ws") as running:
        yield running


def test_a_training_script_logs_through_the_mlflow_client(
    mlflow: ModuleType, server: SeedbedServer, tmp_path: Path
) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    experiment = mlflow.set_experiment("mlflow-e2e")
    assert experiment.experiment_id.isdigit() and experiment.name == "mlflow-e2e"
    data_file = tmp_path / "train.csv"
    data_file.write_text("x,y\n1,0\n2,1\n")
    with mlflow.start_run(run_name="tree-depth-3") as run:
        run_id = run.info.run_id
        mlflow.log_param("alpha", 0.1)
        mlflow.log_params({"depth": 3, "model": "tree"})
        for step in range(5):
            mlflow.log_metric("loss", 1 / (step + 1), step=step)
        mlflow.log_metrics({"auc": 0.81, "f1": 0.5}, step=4)
        mlflow.set_tag("stage", "try")
        mlflow.set_tags({"team": "risk"})
        mlflow.log_text("hello from mlflow", "notes/hello.txt")
        mlflow.log_dict({"features": ["x"]}, "config.json")
        mlflow.log_artifact(str(data_file), artifact_path="data")
        frame = pd.DataFrame({"x": [1.0, 2.0], "y": [0.0, 1.0]})
        mlflow.log_input(mlflow.data.from_pandas(frame, name="train"), context="training")

    client = MlflowClient()
    stamp = int(time.time() * 1000)
    client.log_batch(  # more than one request's worth: the client splits it, seedbed takes each
        run_id,
        metrics=[Metric("batch", float(i), stamp, i) for i in range(1500)],
        params=[Param(f"p{i}", str(i)) for i in range(120)],
        tags=[RunTag("source", "log_batch")],
    )

    fetched = client.get_run(run_id)
    assert fetched.info.status == "FINISHED" and fetched.info.end_time is not None
    assert fetched.info.run_name == "tree-depth-3"
    assert fetched.info.experiment_id == experiment.experiment_id
    assert fetched.info.artifact_uri == (
        f"mlflow-artifacts:/{experiment.experiment_id}/{run_id}/artifacts"
    )
    params = fetched.data.params
    assert (params["alpha"], params["depth"], params["model"], params["p119"]) == (
        "0.1",
        "3",
        "tree",
        "119",
    )
    assert fetched.data.metrics["loss"] == pytest.approx(0.2)
    assert fetched.data.metrics["auc"] == pytest.approx(0.81)
    assert fetched.data.metrics["batch"] == 1499.0
    tags = fetched.data.tags
    assert tags["stage"] == "try" and tags["team"] == "risk" and tags["source"] == "log_batch"
    assert tags["mlflow.runName"] == "tree-depth-3" and tags["mlflow.user"]
    assert "mlflow.source.name" in tags
    [dataset_input] = fetched.inputs.dataset_inputs
    assert dataset_input.dataset.name == "train"
    assert {t.key: t.value for t in dataset_input.tags} == {"mlflow.data.context": "training"}

    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, round(m.value, 3)) for m in history] == [
        (0, 1.0),
        (1, 0.5),
        (2, 0.333),
        (3, 0.25),
        (4, 0.2),
    ]

    listed = {f.path: f.is_dir for f in client.list_artifacts(run_id)}
    assert listed == {"config.json": False, "data": True, "notes": True}
    assert [f.path for f in client.list_artifacts(run_id, "notes")] == ["notes/hello.txt"]
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/hello.txt") == "hello from mlflow"
    assert mlflow.artifacts.load_dict(f"{fetched.info.artifact_uri}/config.json") == {
        "features": ["x"]
    }
    copied = client.download_artifacts(run_id, "data", str(tmp_path / "out"))
    assert (Path(copied) / "train.csv").read_text() == "x,y\n1,0\n2,1\n"
    # The files are in seedbed's own store, where its pages and registry look.
    stored = server.workspace / "artifacts" / "runs" / run_id / "artifacts" / "notes" / "hello.txt"
    assert stored.read_text() == "hello from mlflow"

    found = mlflow.search_experiments(filter_string="name = 'mlflow-e2e'")
    assert [e.experiment_id for e in found] == [experiment.experiment_id]

    # Seedbed's SDK sees the same run, params and latest metrics.
    with sb.connect(url=server.url, token=server.token) as ws:
        [seen] = [r for r in ws.runs("mlflow-e2e") if r["id"] == run_id]
    assert seen["name"] == "tree-depth-3" and seen["status"] == "FINISHED"
    assert seen["params"]["depth"] == "3" and seen["metrics"]["auc"] == pytest.approx(0.81)
    assert seen["tags"]["team"] == "risk"


def test_metric_history_pages_past_25000_points(mlflow: ModuleType) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient()
    experiment_id = client.create_experiment("mlflow-e2e-history")
    run_id = client.create_run(experiment_id).info.run_id
    total = 25_000 + 500
    stamp = int(time.time() * 1000)
    client.log_batch(
        run_id, metrics=[Metric("loss", 1.0 / (i + 1), stamp, i) for i in range(total)]
    )
    history = client.get_metric_history(run_id, "loss")  # 25000 per page, following the token
    assert [m.step for m in history] == list(range(total))
    assert history[-1].value == pytest.approx(1.0 / total)


def test_search_runs_with_filters_order_and_pages(mlflow: ModuleType) -> None:
    pytest.importorskip("seedbed.tracking.search", reason="search_runs is not written yet")
    from mlflow import MlflowClient

    experiment = mlflow.set_experiment("mlflow-e2e-search")
    for name, model, auc in (("a", "tree", 0.7), ("b", "linear", 0.6), ("c", "tree", 0.9)):
        with mlflow.start_run(run_name=name):
            mlflow.log_param("model", model)
            mlflow.log_metric("auc", auc)
    ids = [experiment.experiment_id]

    frame = mlflow.search_runs(ids, filter_string="params.model = 'tree' and metrics.auc > 0.8")
    assert list(frame["tags.mlflow.runName"]) == ["c"]
    either = mlflow.search_runs(
        ids, filter_string="metrics.auc < 0.65 OR attributes.run_name = 'c'"
    )
    assert sorted(either["tags.mlflow.runName"]) == ["b", "c"]
    ordered = mlflow.search_runs(ids, order_by=["metrics.auc DESC"])
    assert list(ordered["tags.mlflow.runName"]) == ["c", "a", "b"]

    client = MlflowClient()
    first = client.search_runs(ids, max_results=2, order_by=["metrics.auc DESC"])
    assert [r.info.run_name for r in first] == ["c", "a"] and first.token
    rest = client.search_runs(
        ids, max_results=2, order_by=["metrics.auc DESC"], page_token=first.token
    )
    assert [r.info.run_name for r in rest] == ["b"] and not rest.token
    assert rest[0].data.metrics == {"auc": 0.6}


def test_delete_restore_and_rename(mlflow: ModuleType) -> None:
    from mlflow import MlflowClient
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    experiment_id = client.create_experiment("mlflow-e2e-doomed", tags={"team": "risk"})
    assert client.get_experiment(experiment_id).tags == {"team": "risk"}
    run_id = client.create_run(experiment_id, run_name="doomed").info.run_id

    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    if importlib.util.find_spec("seedbed.tracking.search") is not None:
        assert client.search_runs([experiment_id]) == []
        deleted = client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
        assert [r.info.run_id for r in deleted] == [run_id]
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"

    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"  # its runs go with it
    with pytest.raises(MlflowException, match="deleted"):
        mlflow.set_experiment("mlflow-e2e-doomed")
    names = [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)]
    assert "mlflow-e2e-doomed" in names
    client.restore_experiment(experiment_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"

    client.rename_experiment(experiment_id, "mlflow-e2e-renamed")
    assert client.get_experiment_by_name("mlflow-e2e-renamed").experiment_id == experiment_id
    assert client.get_experiment_by_name("mlflow-e2e-doomed") is None
    client.set_experiment_tag(experiment_id, "owner", "ada")
    assert client.get_experiment(experiment_id).tags["owner"] == "ada"


def test_client_errors_and_special_values(mlflow: ModuleType, server: SeedbedServer) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    default = client.get_experiment_by_name("Default")
    assert default is not None and default.experiment_id == "0"
    run_id = client.create_run("0").info.run_id

    client.log_param(run_id, "depth", 3)
    client.log_param(run_id, "depth", 3)  # the same value again is fine
    with pytest.raises(MlflowException) as changed:
        client.log_param(run_id, "depth", 4)
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as missing:
        client.get_run("f" * 32)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client.log_metric(run_id, "nan", math.nan)
    client.log_metric(run_id, "big", math.inf)
    metrics = client.get_run(run_id).data.metrics
    assert math.isnan(metrics["nan"]) and metrics["big"] == math.inf
    assert math.isnan(client.get_metric_history(run_id, "nan")[0].value)
    client.set_terminated(run_id, "KILLED")
    assert client.get_run(run_id).info.status == "KILLED"

    stranger = MlflowClient(tracking_uri=server.url)
    mlflow.environment_variables.MLFLOW_TRACKING_TOKEN.set("sb_not-a-real-token")
    try:
        with pytest.raises(MlflowException) as refused:
            stranger.get_run(run_id)
    finally:
        mlflow.environment_variables.MLFLOW_TRACKING_TOKEN.set(server.token)
    assert refused.value.error_code == "UNAUTHENTICATED"


def test_logged_figure(mlflow: ModuleType) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed; log_figure needs it")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from mlflow import MlflowClient

    figure, axes = pyplot.subplots()
    axes.plot([0, 1, 2], [1.0, 0.5, 0.3])
    mlflow.set_experiment("mlflow-e2e-figures")
    with mlflow.start_run() as run:
        mlflow.log_figure(figure, "plots/loss.png")
    pyplot.close(figure)
    [png] = MlflowClient().list_artifacts(run.info.run_id, "plots")
    assert png.path == "plots/loss.png" and png.file_size and png.file_size > 1000


def test_raw_traversal_is_refused_by_the_real_server(server: SeedbedServer) -> None:
    """Literal '..' segments, which HTTP client libraries would normalise away before sending."""
    address = urlsplit(server.url)
    for method, path in (
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/../../../escaped.txt"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts/../../seedbed.toml"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts?path=../.."),
    ):
        connection = http.client.HTTPConnection(address.hostname or "", address.port)
        connection.request(
            method, path, body=b"x", headers={"Authorization": f"Bearer {server.token}"}
        )
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 400, (method, path, body)
        assert b"INVALID_PARAMETER_VALUE" in body
    assert not list(server.workspace.parent.rglob("escaped.txt"))
