"""One combination at a time against a real server: a baseline and two models evaluated
in-process through the SDK, one as the job script in a subprocess, and a failing one; each
child run is read back through the SDK as the report would read it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import seedbed as sb
from seedbed.errors import Invalid
from seedbed.evaluation import job, runner
from seedbed.evaluation.spec import EvaluationSpec, parse_spec
from server_process import SeedbedServer

pytestmark = pytest.mark.e2e


def flights(rows: int = 3000, seed: int = 5) -> pd.DataFrame:
    """Synthetic departures: evenings and cold days are delayed more often."""
    rng = np.random.default_rng(seed)
    hour = rng.integers(5, 23, rows)
    temp = rng.normal(10, 8, rows)
    carrier = rng.choice(["AA", "B6", "DL", "UA"], rows)
    chance = 1 / (1 + np.exp(-(-2 + 0.25 * (hour - 12) - 0.08 * temp + (carrier == "B6"))))
    frame = pd.DataFrame(
        {
            "scheduled_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(rows), "h"),
            "hour": hour,
            "distance": rng.gamma(3, 300, rows),
            "carrier": carrier,
            "temp": np.where(rng.random(rows) < 0.05, np.nan, temp),
            "delayed": (rng.random(rows) < chance).astype(int),
        }
    )
    return frame


SPEC: dict[str, Any] = {
    "name": "delays",
    "dataset": "flights",
    "target": "delayed",
    "split": {"kind": "random", "test_size": 0.25},
    "cv_folds": 3,
    "feature_sets": {
        "schedule": ["hour", "distance", "carrier"],
        "weather": ["hour", "carrier", "temp", {"name": "cold", "sql": "temp < 0"}],
    },
    "algorithms": [
        {"estimator": "LogisticRegression", "params": {"C": 1.0}},
        {"estimator": "HistGradientBoostingClassifier", "params": {"max_iter": 30}},
    ],
    "baselines": [{"kind": "majority"}, {"kind": "rule", "name": "evening", "sql": "hour >= 17"}],
    "metrics": ["roc_auc", "accuracy", "f1", "brier", "log_loss", "cost"],
    "cost_matrix": {"false_positive": 1, "false_negative": 5},
    "slices": ["carrier"],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("evaluation-e2e") / "ws") as running:
        ws = sb.connect(running.url, running.token)
        ws.datasets.upload(flights(), name="flights")
        ws.close()
        yield running


@pytest.fixture(scope="module")
def ws(server: SeedbedServer) -> Iterator[sb.Client]:
    with sb.connect(server.url, server.token) as client:
        yield client


@pytest.fixture(scope="module")
def spec() -> EvaluationSpec:
    return parse_spec(SPEC)


@pytest.fixture(scope="module")
def parent(ws: sb.Client) -> str:
    with ws.start_run("delays", name="sweep", log_environment=False) as run:
        return str(run.id)


def artifact(ws: sb.Client, run_id: str, path: str, tmp_path: Path) -> Any:
    return json.loads(ws.download_artifact(run_id, path, tmp_path / "a.json").read_text())


def test_rule_baseline_run(
    ws: sb.Client, spec: EvaluationSpec, parent: str, tmp_path: Path
) -> None:
    combination = spec.combinations()[1]
    run_id = runner.run_combination(ws, spec, combination, parent)
    run = ws.get_run(run_id)
    tags, metrics, params = _tags(run), run["metrics"], _params(run)
    assert run["status"] == "FINISHED"
    assert tags["mlflow.parentRunId"] == parent and tags["seedbed.evaluation"] == parent
    assert tags["seedbed.kind"] == "baseline" and tags["seedbed.algorithm"] == "evening"
    assert tags["seedbed.combination"] == "1" and "seedbed.leakage" not in tags
    assert params["sql"] == "hour >= 17" and params["feature_set"] == ""
    for name in ("roc_auc", "accuracy", "f1", "brier", "log_loss", "cost"):
        assert f"test_{name}" in metrics and f"cv_{name}_mean" in metrics
    assert 0.5 < metrics["test_roc_auc"] < 0.9
    paths = {a["path"] for a in ws.list_artifacts(run_id)}
    assert not any(p.startswith("model/") for p in paths)
    slices = artifact(ws, run_id, "evaluation/slices.json", tmp_path)
    assert set(slices["carrier"]) == {"AA", "B6", "DL", "UA"}
    assert sum(v["rows"] for v in slices["carrier"].values()) == 750
    importance = artifact(ws, run_id, "evaluation/importance.json", tmp_path)
    assert importance["features"][0]["feature"] == "hour"  # the rule reads only the hour


def test_models_share_folds_and_log_everything(
    ws: sb.Client, spec: EvaluationSpec, parent: str, tmp_path: Path
) -> None:
    combos = spec.combinations()
    first = runner.run_combination(ws, spec, combos[2], parent)  # schedule x LogisticRegression
    second = runner.run_combination(ws, spec, combos[5], parent)  # weather x HistGradientBoosting
    runs = [ws.get_run(first), ws.get_run(second)]
    assert [_tags(r)["seedbed.algorithm"] for r in runs] == [
        "LogisticRegression",
        "HistGradientBoostingClassifier",
    ]
    assert _params(runs[1])["features"] == "hour,carrier,temp,cold"
    assert _params(runs[1])["max_iter"] == "30" and _params(runs[0])["C"] == "1.0"
    for run in runs:
        assert run["status"] == "FINISHED"
        metrics = run["metrics"]
        assert metrics["test_roc_auc"] > 0.6
        assert metrics["fit_seconds"] > 0 and metrics["model_bytes"] > 1000
        assert 0 < metrics["latency_ms_per_row"] < 5
        series = ws.request("GET", f"/api/v1/runs/{run['id']}/metrics/cv_roc_auc").json()
        assert [p["step"] for p in _points(series)] == [0, 1, 2]
    paths = {a["path"] for a in ws.list_artifacts(second)}
    assert {"model/MLmodel", "evaluation/curves.json", "evaluation/leakage.json"} <= paths
    curves = artifact(ws, second, "evaluation/curves.json", tmp_path)
    assert {"roc", "pr", "calibration", "confusion"} <= set(curves)
    assert sum(curves["calibration"]["count"]) == 750
    model = ws.load_model(f"runs:/{second}/model")
    assert list(model.feature_names_in_) == ["hour", "carrier", "temp", "cold"]


def test_job_script_in_a_subprocess(server: SeedbedServer, spec: EvaluationSpec, parent: str,
                                    ws: sb.Client, tmp_path: Path) -> None:  # fmt: skip
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(SPEC))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDBED_")}
    env |= {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    done = subprocess.run(
        [sys.executable, "-P", job.__file__, str(spec_file), "0", parent],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    run = ws.get_run(run_id)
    assert _tags(run)["seedbed.algorithm"] == "majority" and run["status"] == "FINISHED"
    assert run["metrics"]["test_roc_auc"] == 0.5  # the same priors for every row
    assert run["metrics"]["cv_roc_auc_std"] == 0.0

    bad = subprocess.run(
        [sys.executable, "-P", job.__file__, str(spec_file), "99", parent],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "there is no 99" in bad.stderr


def test_a_stopped_job_ends_its_run_killed(
    server: SeedbedServer, ws: sb.Client, parent: str, tmp_path: Path
) -> None:
    slow = {**SPEC, "name": "slow", "baselines": [], "cv_folds": 5}
    slow["algorithms"] = [{"estimator": "RandomForestClassifier", "params": {"n_estimators": 3000}}]
    spec_file = tmp_path / "slow.json"
    spec_file.write_text(json.dumps(slow))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDBED_")}
    env |= {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    process = subprocess.Popen(
        [sys.executable, "-P", job.__file__, str(spec_file), "0", parent],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = ws.runs("slow") if "slow" in set(ws.experiments()["name"]) else []
        if runs and "feature_set" in _params(ws.get_run(runs[0]["id"])):
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "stopped by signal" in err
    assert [r["status"] for r in ws.runs("slow")] == ["KILLED"]


def test_failure_marks_the_run_failed(ws: sb.Client, parent: str) -> None:
    broken = parse_spec({**SPEC, "algorithms": [{"estimator": "LogisticRegresion"}]})
    with pytest.raises(Invalid, match="Did you mean LogisticRegression"):
        runner.run_combination(ws, broken, broken.combinations()[2], parent)
    failed = [r for r in ws.runs("delays") if r["status"] == "FAILED"]
    assert len(failed) == 1
    assert "Unknown estimator" in _tags(failed[0])["seedbed.error"]


def test_registered_model_baseline(ws: sb.Client, parent: str) -> None:
    from sklearn.linear_model import LogisticRegression

    rows = flights()
    with ws.start_run("models", log_environment=False) as run:
        model = LogisticRegression().fit(rows[["hour", "distance"]], rows["delayed"])
        run.log_model(model, input_example=rows[["hour", "distance"]].head(3))
    ws.models.register("delay-lr", run.id)
    evaluation = parse_spec({**SPEC, "baselines": [{"kind": "model", "model": "delay-lr@1"}]})
    run_id = runner.run_combination(ws, evaluation, evaluation.combinations()[0], parent)
    found = ws.get_run(run_id)
    assert _tags(found)["seedbed.algorithm"] == "delay-lr@1"
    assert _params(found)["features"] == "hour,distance" and _params(found)["model"] == "delay-lr@1"
    assert found["metrics"]["test_roc_auc"] > 0.55
    ws.datasets.upload(rows.drop(columns=["distance"]), name="no-distance")
    other = parse_spec(
        {**SPEC, "dataset": "no-distance", "baselines": [{"kind": "model", "model": "delay-lr@1"}]}
    )
    with pytest.raises(Invalid, match=r"The data lacks features \['distance'\]. Its columns are"):
        runner.run_combination(ws, other, other.combinations()[0], parent)


def test_regression_and_clustering(ws: sb.Client, parent: str, tmp_path: Path) -> None:
    regression = parse_spec(
        {
            "name": "distance", "dataset": "flights", "target": "distance", "task": "regression",
            "cv_folds": 2, "feature_sets": {"s": ["hour", "carrier"]},
            "algorithms": [{"estimator": "Ridge"}], "baselines": [{"kind": "mean"}],
        }
    )  # fmt: skip
    for combination in regression.combinations():
        found = ws.get_run(runner.run_combination(ws, regression, combination, parent))
        assert {"test_mae", "test_rmse", "test_mape", "test_r2", "cv_r2_std"} <= set(
            found["metrics"]
        )
    curves = artifact(ws, found["id"], "evaluation/curves.json", tmp_path)
    assert sum(curves["residuals"]["counts"]) == 600  # the default test_size, 0.2
    clustering = parse_spec(
        {
            "name": "groups", "dataset": "flights", "target": "carrier", "task": "clustering",
            "cv_folds": 2, "feature_sets": {"s": ["hour", "temp"]},
            "metrics": ["silhouette", "davies_bouldin", "adjusted_rand"],
            "algorithms": [{"estimator": "KMeans", "params": {"n_clusters": 3, "n_init": 2}}],
        }
    )  # fmt: skip
    run_id = runner.run_combination(ws, clustering, clustering.combinations()[0], parent)
    metrics = ws.get_run(run_id)["metrics"]
    assert 0 < metrics["test_silhouette"] < 1 and "test_adjusted_rand" in metrics
    clusters = artifact(ws, run_id, "evaluation/clusters.json", tmp_path)
    assert sum(clusters["sizes"].values()) == 600 and set(clusters["profiles"]["0"]) == {
        "hour",
        "temp",
    }


def test_feature_store_training_set_and_anomalies(ws: sb.Client, parent: str) -> None:
    from seedbed.features import Entity, Feature, FeatureView, Source

    days = pd.DataFrame(
        {
            "carrier": ["AA", "B6", "DL", "UA"] * 2,
            "at": pd.to_datetime(["2023-12-01"] * 4 + ["2024-02-01"] * 4),
            "on_time": [0.8, 0.6, 0.85, 0.75, 0.7, 0.5, 0.9, 0.8],
        }
    )
    ws.datasets.upload(days, name="carrier-days")
    carrier = Entity("carrier", join_keys=["carrier"])
    view = FeatureView(
        "carrier_stats",
        entities=[carrier],
        source=Source(dataset="carrier-days", timestamp="at"),
        ttl="365d",
        features=[Feature("on_time", name="carrier_on_time")],
    )
    ws.features.apply([carrier, view])
    evaluation = parse_spec(
        {
            **SPEC,
            "dataset": None,
            "training_set": {
                "entity_rows": "flights",
                "features": ["carrier_stats"],
                "timestamp": "scheduled_at",
            },
            "feature_sets": {"store": ["hour", "carrier_on_time"]},
            "split": {"kind": "time", "column": "scheduled_at"},
            "baselines": [],
        }
    )
    run_id = runner.run_combination(ws, evaluation, evaluation.combinations()[0], parent)
    found = ws.get_run(run_id)
    assert found["status"] == "FINISHED" and found["metrics"]["test_roc_auc"] > 0.6
    assert ws.run_inputs(run_id)[0]["name"] == "flights"
    anomalies = parse_spec(
        {
            "name": "odd", "dataset": "flights", "task": "anomaly_detection", "cv_folds": 2,
            "feature_sets": {"s": ["hour", "distance"]},
            "algorithms": [{"estimator": "IsolationForest", "params": {"n_estimators": 20}}],
        }
    )  # fmt: skip
    run_id = runner.run_combination(ws, anomalies, anomalies.combinations()[0], parent)
    assert "test_silhouette" in ws.get_run(run_id)["metrics"]


def _tags(run: dict[str, Any]) -> dict[str, str]:
    tags = run["tags"]
    return tags if isinstance(tags, dict) else {t["key"]: t["value"] for t in tags}


def _params(run: dict[str, Any]) -> dict[str, str]:
    params = run["params"]
    return params if isinstance(params, dict) else {p["key"]: p["value"] for p in params}


def _points(series: Any) -> list[dict[str, Any]]:
    return series["metrics"] if isinstance(series, dict) else series
