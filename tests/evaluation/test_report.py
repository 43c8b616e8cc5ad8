"""The report's maths on child runs made directly with the tracking service: the paired
difference to the best baseline, ranks in the metric's direction, slices where a model is
worse than the baseline, leakage raised to the top, unfinished jobs."""

from __future__ import annotations

import json
import math
import statistics
from typing import Any

import pytest

from seedbed.evaluation import report
from seedbed.evaluation.sweep import CombinationJob, Evaluation
from seedbed.tracking.experiments import create_experiment
from seedbed.tracking.runs import log_metrics, set_tags, start_run
from seedbed.workspace import Workspace


def child(
    workspace: Workspace,
    parent: str,
    experiment: int,
    index: int,
    kind: str,
    folds: list[float],
    test: float,
    slices: dict[str, Any] | None = None,
    leakage: Any = None,
    metric: str = "roc_auc",
) -> str:
    run = start_run(workspace, experiment, f"combination-{index}", "ana")
    set_tags(
        workspace,
        run.id,
        {
            "mlflow.parentRunId": parent,
            "seedbed.evaluation": parent,
            "seedbed.combination": index,
            "seedbed.kind": kind,
            "seedbed.algorithm": "majority" if kind == "baseline" else "LogisticRegression",
        },
    )
    for step, value in enumerate(folds):
        log_metrics(workspace, run.id, {f"cv_{metric}": value}, step=step)
    log_metrics(
        workspace,
        run.id,
        {
            f"test_{metric}": test,
            f"cv_{metric}_mean": statistics.fmean(folds),
            f"cv_{metric}_std": statistics.pstdev(folds),
            "fit_seconds": 0.5,
        },
    )
    store = workspace.artifacts
    if slices is not None:
        store.put_bytes(f"{run.artifact_key}/evaluation/slices.json", json.dumps(slices).encode())
    if leakage is not None:
        store.put_bytes(f"{run.artifact_key}/evaluation/leakage.json", json.dumps(leakage).encode())
        set_tags(workspace, run.id, {"seedbed.leakage": "true"})
    return run.id


def evaluation(parent: str, experiment: int, jobs: list[CombinationJob], metric: str) -> Evaluation:
    return Evaluation(
        id=parent,
        name="delays",
        experiment_id=experiment,
        task="classification",
        primary_metric=metric,
        profile=None,
        status="running",
        created_by="ana",
        created_at=0,
        finished_at=None,
        spec={"metrics": [metric]},
        jobs=jobs,
    )


@pytest.fixture
def setup(workspace: Workspace) -> tuple[Workspace, int, str]:
    experiment = create_experiment(workspace, "delays").id
    parent = start_run(workspace, experiment, "delays", "ana").id
    return workspace, experiment, parent


def test_the_leaderboard_pairs_each_model_with_the_best_baseline_over_the_folds(
    setup: tuple[Workspace, int, str],
) -> None:
    ws, experiment, parent = setup
    # two baselines: the rule is the better one, so models are compared with it
    child(ws, parent, experiment, 0, "baseline", [0.50, 0.50, 0.50], 0.50)
    rule = child(ws, parent, experiment, 1, "baseline", [0.60, 0.70, 0.65], 0.66)
    good = child(ws, parent, experiment, 2, "model", [0.70, 0.81, 0.74], 0.78)
    poor = child(ws, parent, experiment, 3, "model", [0.55, 0.72, 0.60], 0.61)
    labels = ["baseline: majority", "baseline: evening", "all x LogisticRegression", "all x Tree"]
    jobs = [CombinationJob(i, "x", label, f"job{i}", "succeeded") for i, label in enumerate(labels)]
    jobs.append(CombinationJob(4, "model", "all x Forest", "job4", "failed", "exit 1: boom"))
    built = report.build(ws, evaluation(parent, experiment, jobs, "roc_auc"))

    rows = {row["run_id"]: row for row in built["leaderboard"]}
    assert [row["run_id"] for row in built["leaderboard"]][:3] == [good, rule, poor]
    assert rows[good]["rank"] == 1 and rows[good]["label"] == "all x LogisticRegression"
    assert built["best_baseline"]["run_id"] == rule and rows[rule]["diff"] is None
    diffs = [0.70 - 0.60, 0.81 - 0.70, 0.74 - 0.65]
    found = rows[good]["diff"]
    assert found["mean"] == pytest.approx(statistics.fmean(diffs))
    assert found["se"] == pytest.approx(statistics.stdev(diffs) / math.sqrt(3))
    assert found["folds"] == 3 and found["test"] == pytest.approx(0.78 - 0.66)
    assert found["better"] is True and found["clear"] is True
    # the poor model is worse than the rule, its difference negative and within noise
    assert rows[poor]["diff"]["better"] is False
    assert rows[poor]["diff"]["mean"] == pytest.approx(statistics.fmean([-0.05, 0.02, -0.05]))
    assert rows[poor]["diff"]["clear"] is False
    assert built["best_model"]["run_id"] == good
    assert rows[good]["cv_mean"] == pytest.approx(0.75) and rows[good]["fit_seconds"] == 0.5
    assert built["unfinished"] == [
        {
            "index": 4,
            "kind": "model",
            "label": "all x Forest",
            "job_id": "job4",
            "status": "failed",
            "message": "exit 1: boom",
            "logged": False,
            "run_id": None,
            "error": None,
        }
    ]


def test_lower_is_better_metrics_rank_and_compare_the_other_way(
    setup: tuple[Workspace, int, str],
) -> None:
    ws, experiment, parent = setup
    base = child(ws, parent, experiment, 0, "baseline", [0.25, 0.25], 0.25, metric="brier")
    model = child(ws, parent, experiment, 1, "model", [0.18, 0.20], 0.19, metric="brier")
    built = report.build(ws, evaluation(parent, experiment, [], "brier"))
    assert [row["run_id"] for row in built["leaderboard"]] == [model, base]
    diff = built["leaderboard"][0]["diff"]
    assert diff["mean"] == pytest.approx(-0.06) and diff["better"] is True
    assert built["lower_is_better"] is True


def test_slices_mark_segments_where_a_model_is_worse_than_the_best_baseline(
    setup: tuple[Workspace, int, str],
) -> None:
    ws, experiment, parent = setup

    def by_carrier(ua: float, aa: float) -> dict[str, Any]:
        return {"carrier": {"UA": {"roc_auc": ua, "rows": 40}, "AA": {"roc_auc": aa, "rows": 60}}}

    child(ws, parent, experiment, 0, "baseline", [0.5], 0.5, slices=by_carrier(0.50, 0.70))
    child(ws, parent, experiment, 1, "baseline", [0.5], 0.5, slices=by_carrier(0.60, 0.50))
    model = child(ws, parent, experiment, 2, "model", [0.8], 0.8, slices=by_carrier(0.80, 0.65))
    built = report.build(ws, evaluation(parent, experiment, [], "roc_auc"))

    (table,) = built["slices"]
    assert table["column"] == "carrier" and set(table["segments"]) == {"UA", "AA"}
    assert table["baseline"] == {"UA": 0.60, "AA": 0.70}  # the best baseline per segment
    row = next(r for r in table["rows"] if r["run_id"] == model)
    assert row["cells"]["UA"] == {"value": 0.80, "rows": 40, "worse": False}
    assert row["cells"]["AA"] == {"value": 0.65, "rows": 60, "worse": True}
    baselines = [r for r in table["rows"] if r["kind"] == "baseline"]
    assert not any(cell["worse"] for r in baselines for cell in r["cells"].values())


def test_leakage_warnings_come_first_from_the_file_or_the_tag(
    setup: tuple[Workspace, int, str],
) -> None:
    ws, experiment, parent = setup
    child(ws, parent, experiment, 0, "baseline", [0.5], 0.5)
    leaky = child(
        ws,
        parent,
        experiment,
        1,
        "model",
        [0.99],
        0.99,
        leakage=["Feature 'arr_delay' predicts the target almost perfectly (AUC 0.99)."],
    )
    tagged = child(ws, parent, experiment, 2, "model", [0.7], 0.7)
    set_tags(ws, tagged, {"seedbed.leakage": "true"})
    # another evaluation's run in the same experiment is not ours
    other = start_run(ws, experiment, "elsewhere", "ana").id
    set_tags(ws, other, {"mlflow.parentRunId": "someone-else", "seedbed.leakage": "true"})

    built = report.build(ws, evaluation(parent, experiment, [], "roc_auc"))
    assert list(built)[:4] == ["primary_metric", "lower_is_better", "metrics", "leakage"]
    warned = {item["run_id"]: item["warnings"] for item in built["leakage"]}
    assert warned[leaky] == ["Feature 'arr_delay' predicts the target almost perfectly (AUC 0.99)."]
    assert warned[tagged] == ["This run was flagged for target leakage."]
    assert other not in warned and len(built["leaderboard"]) == 3
    assert {r["run_id"] for r in built["leaderboard"] if r["leakage"]} == {leaky, tagged}


def test_paired_difference_uses_only_the_folds_both_runs_have() -> None:
    found = report.paired_difference({0: 0.8, 1: 0.9, 2: 0.7}, {0: 0.6, 1: 0.6})
    assert found == {"mean": pytest.approx(0.25), "se": pytest.approx(0.05), "folds": 2}
    assert report.paired_difference({0: 0.8}, {1: 0.5}) is None
    single = report.paired_difference({0: 0.8}, {0: 0.5})
    assert single is not None and math.isnan(float(single["se"]))
