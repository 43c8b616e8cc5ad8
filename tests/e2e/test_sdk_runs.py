"""The SDK's runs against a real `seedbed up`: inputs, run context, background metrics,
artifacts, figures and models that the real `mlflow` client loads."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml

import seedbed as sb
from server_process import SeedbedServer

pytestmark = [
    pytest.mark.e2e,
    # The MLflow client warns about its own optional parts when it loads a model.
    pytest.mark.filterwarnings("ignore::FutureWarning:mlflow"),
    pytest.mark.filterwarnings("ignore::UserWarning:mlflow"),
]
FRAME = pd.DataFrame(
    {
        "distance": [100.0, 2500.0, 300.0, 2800.0, 150.0, 2600.0],
        "carrier": ["UA", "AA", "UA", "DL", "AA", "DL"],
    }
)
TARGET = [0, 1, 0, 1, 0, 1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("sdk-runs") / "ws") as running:
        yield running


@pytest.fixture
def ws(server: SeedbedServer) -> Iterator[sb.Client]:
    with sb.connect(url=server.url, token=server.token) as client:
        yield client


def count_requests(ws: sb.Client, path_end: str) -> list[str]:
    """Record the URLs of the client's requests that end with `path_end`."""
    seen: list[str] = []

    def hook(request: httpx.Request) -> None:
        if request.url.path.endswith(path_end):
            seen.append(str(request.url))

    ws._http.event_hooks["request"].append(hook)
    return seen


def test_run_records_inputs_context_and_environment(
    ws: sb.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ws.datasets.upload(FRAME, "flights-small")
    ws.datasets.upload(FRAME.head(3), "flights-small")
    monkeypatch.setenv("SEEDBED_PROFILE", "gpu-small")
    with ws.start_run(
        experiment="sdk-context",
        name="ctx",
        tags={"team": "risk"},
        inputs=[first, "flights-small"],
    ) as run:
        pass
    assert run.inputs() == [
        {"name": "flights-small", "version": 1},
        {"name": "flights-small", "version": 2},
    ]
    assert ws.run_inputs(run.id) == run.inputs()
    tags = ws.get_run(run.id)["tags"]
    assert tags["team"] == "risk" and tags["mlflow.runName"] == "ctx"
    assert tags["seedbed.resource_profile"] == "gpu-small"
    assert tags["seedbed.python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.source.name"] == sys.argv[0]
    assert tags["mlflow.user"]


def test_environment_file_and_its_hash(ws: sb.Client, tmp_path: Path) -> None:
    with ws.start_run(experiment="sdk-context") as run:
        pass
    path = ws.download_artifact(run.id, "environment/requirements.txt", tmp_path)
    text = path.read_text()
    pins = text.splitlines()
    assert any(line.startswith("httpx==") for line in pins)
    assert f"pandas=={pd.__version__}" in pins
    digest = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    assert ws.get_run(run.id)["tags"]["seedbed.environment_lock"] == digest


def test_unknown_inputs_are_refused_before_any_run_exists(ws: sb.Client) -> None:
    ws.datasets.upload(FRAME, "inputs-checked")
    before = len(ws.runs("sdk-context"))
    for bad in (["inputs-checked", "no-such-dataset"], ["inputs-checked@7"], [("nope", 1)]):
        with pytest.raises(sb.NotFound):
            ws.start_run(experiment="sdk-context", inputs=bad)
    with pytest.raises(sb.Invalid, match="name@"):
        ws.start_run(experiment="sdk-context", inputs=["inputs-checked@latest"])
    assert len(ws.runs("sdk-context")) == before
    assert ws.active_run() is None


def test_git_commit_of_the_scripts_repository(server: SeedbedServer, tmp_path: Path) -> None:
    repo = tmp_path / "project"
    repo.mkdir()
    script = repo / "train.py"
    script.write_text(
        "import seedbed as sb\n"
        "run = sb.connect().start_run(experiment='sdk-git', log_environment=False)\n"
        "run.log_metric('m', 1.0)\n"
        "print(run.id)\n"  # left open: ended (and flushed) when the script exits
    )
    git_env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    for command in (["init", "-q", "-b", "main"], ["add", "train.py"], ["commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(repo), *command], check=True, env=git_env)
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDBED_")}
    env |= {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    with sb.connect(url=server.url, token=server.token) as ws:
        info = ws.get_run(done.stdout.strip())
    tags = info["tags"]
    assert info["status"] == "FINISHED" and info["metrics"] == {"m": 1.0}
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["mlflow.source.name"] == str(script)
    assert "seedbed.environment_lock" not in tags


def test_metrics_are_batched_and_kept_when_the_block_raises(ws: sb.Client) -> None:
    batches = count_requests(ws, "/batch")
    with pytest.raises(RuntimeError, match="diverged"), ws.start_run(experiment="sdk-m") as run:
        for step in range(2500):
            run.log_metrics({"loss": 1 / (step + 1), "acc": step / 2500}, step=step)
        raise RuntimeError("diverged")
    info = ws.get_run(run.id)
    assert info["status"] == "FAILED"
    history = ws.request("GET", f"/api/v1/runs/{run.id}/metrics/loss").json()
    assert [p["step"] for p in history] == list(range(2500))
    assert info["metrics"]["loss"] == pytest.approx(1 / 2500)
    # 5,000 points travelled in a handful of requests, not one each.
    assert 5 <= len(batches) <= 12
    assert ws.active_run() is None


def test_timestamps_are_taken_when_logged(ws: sb.Client) -> None:
    with ws.start_run(experiment="sdk-m") as run:
        logged_at = int(time.time() * 1000)
        run.log_metric("t", 1.0)
        time.sleep(0.3)
        flushed_at = int(time.time() * 1000)
        run.flush()
        [point] = ws.request("GET", f"/api/v1/runs/{run.id}/metrics/t").json()
    assert logged_at <= point["timestamp"] <= logged_at + 100
    assert flushed_at - point["timestamp"] >= 250


def test_metrics_reach_the_server_without_a_flush(ws: sb.Client) -> None:
    with ws.start_run(experiment="sdk-m") as run:
        run.log_metric("live", 3.0, step=1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "live" not in ws.get_run(run.id)["metrics"]:
            time.sleep(0.1)
        assert ws.get_run(run.id)["metrics"] == {"live": 3.0}


def test_a_refused_background_batch_is_raised_at_flush_and_exit(ws: sb.Client) -> None:
    run = ws.start_run(experiment="sdk-m")
    run.log_metric(" padded", 1.0)  # the server refuses keys with outer spaces
    with pytest.raises(sb.Invalid, match="padded"):
        run.flush()
    run.flush()  # raised once, not again
    run.log_metric("fine", 1.0)
    run.end()
    assert ws.get_run(run.id)["status"] == "FINISHED"

    with pytest.raises(sb.Invalid, match="padded"), ws.start_run(experiment="sdk-m") as failing:
        failing.log_metric(" padded", 2.0)
    assert ws.get_run(failing.id)["status"] == "FAILED"

    # When the block raised too, its exception is the one that propagates.
    with pytest.raises(KeyError) as raised, ws.start_run(experiment="sdk-m") as both:
        both.log_metric(" padded", 3.0)
        raise KeyError("from the block")
    assert any("padded" in note for note in raised.value.__notes__)
    assert ws.get_run(both.id)["status"] == "FAILED"


def test_params_and_tags_are_sent_at_once(ws: sb.Client) -> None:
    with ws.start_run(experiment="sdk-m") as run:
        run.log_params({"C": 0.5, "layers": [1, 2]})
        assert ws.get_run(run.id)["params"] == {"C": "0.5", "layers": "[1, 2]"}
        with pytest.raises(sb.Conflict, match="write-once"):
            run.log_param("C", 1.0)
        run.set_tags({"stage": "a"})
        run.set_tag("stage", "b")
        run.log_metrics({"nan": math.nan, "inf": math.inf})
    info = ws.get_run(run.id)
    assert info["tags"]["stage"] == "b"
    assert {"nan", "inf"} <= set(info["metrics"])  # accepted, as MLflow accepts them
    assert info["status"] == "FINISHED"


def test_artifacts_and_figures(ws: sb.Client, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    folder = tmp_path / "report"
    (folder / "deep").mkdir(parents=True)
    (folder / "a.csv").write_text("x\n1\n")
    (folder / "deep" / "b.txt").write_text("b")
    single = tmp_path / "single.bin"
    single.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    figure, axes = plt.subplots()
    axes.plot([0, 1], [0, 1])
    with ws.start_run(experiment="sdk-artifacts", log_environment=False) as run:
        assert run.log_artifact(single, "blobs") == "blobs/single.bin"
        assert run.log_artifacts(folder, "report") == ["report/a.csv", "report/deep/b.txt"]
        run.log_text("héllo", "notes/x.txt")
        run.log_dict({"a": 1}, "config.json")
        run.log_dict({"b": [1, 2]}, "config.yaml")
        run.log_figure(figure, "plots/line.png")
        run.log_figure(figure, "plots/line.svg")
        run.log_figure(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), "plots/curve.html")
        run.log_figure(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), "plots/curve.json")
        with pytest.raises(sb.Invalid, match="matplotlib figure"):
            run.log_figure(figure, "plots/line.html")
        with pytest.raises(sb.Invalid, match="'\\.\\.'"):
            run.log_text("x", "../escape.txt")
        with pytest.raises(sb.Invalid):
            run.log_artifact(tmp_path / "missing.txt")
    plt.close(figure)
    listed = {a["path"]: a["size"] for a in run.artifacts()}
    assert listed["blobs/single.bin"] == single.stat().st_size
    assert set(listed) == {
        "blobs/single.bin",
        "report/a.csv",
        "report/deep/b.txt",
        "notes/x.txt",
        "config.json",
        "config.yaml",
        "plots/line.png",
        "plots/line.svg",
        "plots/curve.html",
        "plots/curve.json",
    }
    assert [a["path"] for a in run.artifacts("report")] == ["report/a.csv", "report/deep/b.txt"]

    def read(path: str) -> bytes:
        return run.download_artifact(path, tmp_path / "down.bin").read_bytes()

    assert read("blobs/single.bin") == single.read_bytes()
    assert read("notes/x.txt").decode() == "héllo"
    assert json.loads(read("config.json")) == {"a": 1}
    assert yaml.safe_load(read("config.yaml")) == {"b": [1, 2]}
    assert read("plots/line.png").startswith(b"\x89PNG")
    assert b"<svg" in read("plots/line.svg")
    assert b"plotly" in read("plots/curve.html")
    assert json.loads(read("plots/curve.json"))["data"][0]["type"] == "scatter"
    with pytest.raises(sb.NotFound):
        run.download_artifact("nothing/here.txt", tmp_path)


def train() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prepare = ColumnTransformer(
        [("num", StandardScaler(), ["distance"]), ("cat", OneHotEncoder(), ["carrier"])]
    )
    return Pipeline([("prep", prepare), ("clf", LogisticRegression())]).fit(FRAME, TARGET)


def test_logged_model_loads_in_mlflow_and_predicts(
    ws: sb.Client, server: SeedbedServer, mlflow: ModuleType
) -> None:
    import mlflow.pyfunc

    model = train()
    with ws.start_run(experiment="sdk-models") as run:
        logged = run.log_model(model, input_example=FRAME, register_as="delay-sdk")
    assert logged["uri"] == f"runs:/{run.id}/model"
    assert logged["registered_version"]["version"] == 1
    paths = {a["path"] for a in run.artifacts("model")}
    assert {"model/MLmodel", "model/model.pkl", "model/input_example.json"} <= paths

    rows = pd.DataFrame({"distance": [120.0, 2700.0], "carrier": ["UA", "DL"]})
    expected = list(model.predict(rows))
    assert expected == [0, 1]
    by_run = mlflow.pyfunc.load_model(f"runs:/{run.id}/model")
    assert list(by_run.predict(rows)) == expected
    assert list(mlflow.pyfunc.load_model("models:/delay-sdk/1").predict(rows)) == expected
    assert list(mlflow.pyfunc.load_model(f"models:/{logged['id']}").predict(rows)) == expected
    client = mlflow.MlflowClient()
    found = client.get_logged_model(logged["id"])
    assert found.source_run_id == run.id and found.name == "model"

    scored = ws.models.predict("delay-sdk", rows, version="1")
    assert [p["prediction"] for p in scored] == expected
    version = ws.request("GET", "/api/v1/models/delay-sdk/versions/1").json()
    assert version["run_id"] == run.id
    # The demo form offers the carriers seen in the example.
    demo = ws.request("GET", "/ui/models/delay-sdk/versions/1/demo").text
    assert 'name="carrier"' in demo and ">DL<" in demo and 'name="distance"' in demo
    with ws.start_run(experiment="sdk-models") as again:
        again.log_model(model, register_as="delay-sdk")  # no example: no schema, still loads
    assert [v["version"] for v in ws.models.versions("delay-sdk")] == [2, 1]
    assert list(mlflow.pyfunc.load_model("models:/delay-sdk/2").predict(rows)) == expected
    ws.models.set_tag("delay-sdk", "team", "ops")
    ws.models.set_tag("delay-sdk", "validated", "yes", version=1)
    ws.models.set_description("delay-sdk", "Late *departures*.")
    ws.models.set_alias("delay-sdk", "champion", 1)
    ws.models.set_alias("delay-sdk", "champion", 2)
    model_info = ws.request("GET", "/api/v1/models/delay-sdk").json()
    assert (
        model_info["tags"] == {"team": "ops"} and model_info["description"] == "Late *departures*."
    )
    assert ws.request("GET", "/api/v1/models/delay-sdk/versions/1").json()["tags"] == {
        "validated": "yes"
    }
    moves = [(h["from_version"], h["to_version"]) for h in ws.models.alias_history("delay-sdk")]
    assert moves == [(1, 2), (None, 1)]
    with pytest.raises(sb.Invalid, match="scikit-learn"), ws.start_run(experiment="x") as bad:
        bad.log_model(object())


def test_sdk_and_mlflow_runs_carry_the_same_context_tags(ws: sb.Client, mlflow: ModuleType) -> None:
    with ws.start_run(experiment="sdk-vs-mlflow", log_environment=False) as ours:
        pass
    mlflow.set_experiment("sdk-vs-mlflow")
    with mlflow.start_run() as theirs:
        pass
    ours_tags = ws.get_run(ours.id)["tags"]
    theirs_tags = ws.get_run(theirs.info.run_id)["tags"]
    shared = ("mlflow.user", "mlflow.source.name", "mlflow.source.type")
    assert {k: ours_tags[k] for k in shared} == {k: theirs_tags[k] for k in shared}
    git_keys = {k for k in theirs_tags if k.startswith("mlflow.source.git")}
    assert git_keys <= set(ours_tags)
    assert all(ours_tags[k] == theirs_tags[k] for k in git_keys)
