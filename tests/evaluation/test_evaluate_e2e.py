"""`seedbed evaluate SPEC.yaml --wait --json` end to end against a real server: a synthetic
dataset, one rule baseline and two cheap models over 3 folds, each combination a real job
logging a child run; the leaderboard and its paired differences, registering a row's
model, and an evaluation whose combination fails exiting non-zero with the job's error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import seedbed as sb
from seedbed.client_evaluation import evaluations
from seedbed.errors import Invalid
from server_process import SeedbedServer
from server_process import run_cli as run

pytestmark = pytest.mark.e2e

SPEC = """
name: delays
dataset: flights
target: delayed
task: classification
cv_folds: 3
feature_sets:
  base: [x1, x2, carrier, hour]
algorithms:
  - estimator: LogisticRegression
  - estimator: DecisionTreeClassifier
    params: {max_depth: 3}
baselines:
  - {kind: rule, name: evening, sql: "hour >= 17"}
metrics: [roc_auc, accuracy]
slices: [carrier]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("evaluation-e2e") / "ws") as running:
        rng = np.random.default_rng(7)
        n = 2000
        x1, x2 = rng.normal(size=n), rng.normal(size=n)
        hour = rng.integers(5, 23, size=n)
        frame = pd.DataFrame(
            {
                "x1": x1,
                "x2": x2,
                "carrier": rng.choice(["UA", "AA", "DL"], size=n),
                "hour": hour,
                "delayed": (x1 + 0.5 * (hour >= 17) + rng.normal(scale=0.7, size=n) > 0.6).astype(
                    int
                ),
            }
        )
        with sb.connect(running.url, running.token) as ws:
            ws.datasets.upload(frame, name="flights")
        yield running


def _env(server: SeedbedServer) -> dict[str, str]:
    return {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}


def test_evaluate_waits_and_prints_the_leaderboard(server: SeedbedServer, tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC, encoding="utf-8")
    done = run("evaluate", str(path), "--wait", "--json", env=_env(server))
    assert done.returncode == 0, done.stdout + done.stderr
    body = json.loads(done.stdout)
    evaluation, report = body["evaluation"], body["report"]
    assert evaluation["status"] == "succeeded", report["unfinished"]
    assert evaluation["counts"]["succeeded"] == 3 and not report["unfinished"]
    rows = report["leaderboard"]
    assert {row["label"] for row in rows} == {
        "baseline: evening",
        "base x LogisticRegression",
        "base x DecisionTreeClassifier (max_depth=3)",
    }
    assert [row["rank"] for row in rows] == [1, 2, 3]
    baseline = report["best_baseline"]
    assert baseline["label"] == "baseline: evening" and baseline["diff"] is None
    for row in rows:
        assert row["test"] is not None and row["cv_mean"] is not None
        if row["kind"] == "model":
            assert row["diff"]["folds"] == 3 and row["diff"]["se"] is not None
            assert row["diff"]["better"] is True  # x1 explains far more than the hour rule
            assert row["fit_seconds"] is not None and row["model_bytes"]
    assert report["best_model"]["kind"] == "model"
    (carrier,) = report["slices"]
    assert carrier["column"] == "carrier" and set(carrier["segments"]) == {"UA", "AA", "DL"}

    # register the best model from its row, with an alias
    with sb.connect(server.url, server.token) as ws:
        (found,) = [e for e in evaluations(ws) if e.id == evaluation["id"]]
        board = found.leaderboard()
        assert board["label"].iloc[0] == report["best_model"]["label"]
        version = found.register(report["best_model"]["run_id"], "delay-model", alias="challenger")
        assert version["version"] == 1 and "challenger" in version["aliases"]
        assert ws.models.versions("delay-model")[0]["run_id"] == report["best_model"]["run_id"]
        with pytest.raises(Invalid, match="baseline"):
            found.register(baseline["run_id"], "delay-model")


def test_a_failed_combination_fails_the_evaluation_with_its_error(
    server: SeedbedServer, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        SPEC.replace("LogisticRegression", "NoSuchEstimator").replace("name: delays", "name: bad"),
        encoding="utf-8",
    )
    done = run("evaluate", str(path), "--wait", "--json", env=_env(server))
    assert done.returncode == 1, done.stdout + done.stderr
    body = json.loads(done.stdout)
    assert body["evaluation"]["status"] == "failed"
    (failed,) = body["report"]["unfinished"]
    assert failed["label"] == "base x NoSuchEstimator" and failed["status"] == "failed"
    assert "NoSuchEstimator" in failed["message"] and failed["job_id"]
    assert len(body["report"]["leaderboard"]) >= 2  # the others still report


def test_the_sdk_checks_a_spec_before_sending_it(server: SeedbedServer) -> None:
    with (
        sb.connect(server.url, server.token) as ws,
        pytest.raises(Invalid, match="needs `target`"),
    ):
        ws.evaluate(
            {
                "dataset": "flights",
                "feature_sets": {"a": ["x1"]},
                "algorithms": [{"estimator": "LogisticRegression"}],
            },
            wait=False,
        )


def test_evaluate_prints_a_leaderboard_table_for_people(
    server: SeedbedServer, tmp_path: Path
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.replace("name: delays", "name: tables"), encoding="utf-8")
    done = run("evaluate", str(path), "--profile", "small", "--wait", env=_env(server))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "started: 3 jobs" in done.stdout and "/ui/evaluations/" in done.stdout
    assert "Leaderboard (roc_auc)" in done.stdout
    assert "base x LogisticRegression" in done.stdout and "baseline: evening" in done.stdout
    assert "0 queued, 0 running, 3 succeeded, 0 failed" in done.stderr
    quick = run("evaluate", str(path), "--json", env=_env(server))
    assert quick.returncode == 0, quick.stderr
    started = json.loads(quick.stdout)
    assert started["status"] == "running" and len(started["jobs"]) == 3
    with sb.connect(server.url, server.token) as ws:
        (evaluation,) = [e for e in evaluations(ws) if e.id == started["id"]]
        assert evaluation.cancel().status == "cancelled"
