"""Metrics against values worked out by hand on tiny data, curves, slices, importance,
unsupervised scores, latency and size."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from seedbed.evaluation import metrics
from seedbed.evaluation.spec import CLASSIFICATION_METRICS, CostMatrix


def binary() -> tuple[np.ndarray, metrics.Predictions]:
    truth = np.array([0, 0, 1, 1])
    score = np.array([0.1, 0.4, 0.35, 0.8])
    proba = np.column_stack([1 - score, score])
    classes = np.array([0, 1])
    return truth, metrics.Predictions(classes[np.argmax(proba, axis=1)], proba, classes)


def test_binary_classification_by_hand() -> None:
    truth, pred = binary()
    cost = CostMatrix(false_positive=1, false_negative=5)
    found = metrics.classification_metrics(truth, pred, CLASSIFICATION_METRICS, cost)
    assert found["accuracy"] == 0.75  # predicted [0, 0, 0, 1]
    assert found["precision"] == 1.0 and found["recall"] == 0.5
    assert found["f1"] == pytest.approx(2 / 3)
    assert found["roc_auc"] == 0.75  # 3 of the 4 (positive, negative) pairs are ordered
    assert found["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    assert found["brier"] == pytest.approx((0.1**2 + 0.4**2 + 0.65**2 + 0.2**2) / 4)
    assert found["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.6, 0.35, 0.8])))
    assert found["cost"] == pytest.approx(5 / 4)  # one missed positive at 5


def test_multiclass_averages_and_skips_cost() -> None:
    truth = np.array(["a", "b", "c", "a"])
    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.5, 0.1, 0.4], [0.4, 0.5, 0.1]])
    classes = np.array(["a", "b", "c"])
    pred = metrics.Predictions(classes[np.argmax(proba, axis=1)], proba, classes)
    found = metrics.classification_metrics(truth, pred, ["accuracy", "brier", "cost"], CostMatrix())
    assert found["accuracy"] == 0.5 and "cost" not in found
    expected = np.mean(
        [0.04 + 0.01 + 0.01, 0.04 + 0.09 + 0.01, 0.25 + 0.01 + 0.36, 0.36 + 0.25 + 0.01]
    )
    assert found["brier"] == pytest.approx(expected)


def test_regression_by_hand() -> None:
    found = metrics.regression_metrics(
        np.array([1.0, 2.0, 4.0]), metrics.Predictions(np.array([1.0, 3.0, 2.0])),
        ["mae", "rmse", "mape", "r2"],
    )  # fmt: skip
    assert found["mae"] == 1.0 and found["rmse"] == pytest.approx(math.sqrt(5 / 3))
    assert found["mape"] == pytest.approx(1 / 3) and found["r2"] == pytest.approx(1 - 45 / 42)


def test_undefined_metrics_are_nan_not_errors() -> None:
    truth = np.array([1, 1])
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    pred = metrics.Predictions(np.array([1, 0]), proba, np.array([0, 1]))
    assert math.isnan(metrics.classification_metrics(truth, pred, ["roc_auc"])["roc_auc"])


def test_curves_are_small_and_json_ready() -> None:
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 2, 5000)
    score = np.clip(truth * 0.3 + rng.random(5000) * 0.7, 0, 1)
    pred = metrics.Predictions(
        (score >= 0.5).astype(int), np.column_stack([1 - score, score]), np.array([0, 1])
    )
    curves = metrics.classification_curves(truth, pred)
    assert len(curves["roc"]["fpr"]) <= 200 and len(curves["pr"]["recall"]) <= 200
    assert sum(curves["calibration"]["count"]) == 5000
    assert np.array(curves["confusion"]["matrix"]).sum() == 5000
    json.dumps(curves, allow_nan=False)
    residuals = metrics.regression_curves(score * 10, metrics.Predictions(score * 9), seed=1)
    assert sum(residuals["residuals"]["counts"]) == 5000
    assert len(residuals["sample"]["actual"]) == 500


def test_slices_keep_values_with_enough_rows() -> None:
    truth, pred = binary()
    truth, proba = np.tile(truth, 20), np.tile(pred.proba, (20, 1))
    pred = metrics.Predictions(np.tile(pred.labels, 20), proba, pred.classes)
    test = pd.DataFrame({"carrier": ["AA"] * 40 + ["UA"] * 30 + ["B6"] * 10})
    found = metrics.slice_metrics(
        "classification", test, truth, pred, ["carrier"], ["accuracy"], None
    )
    assert set(found["carrier"]) == {"AA", "UA"}  # B6 has 10 rows, under 30
    assert found["carrier"]["AA"] == {"accuracy": 0.75, "rows": 40}


def test_permutation_importance_finds_the_column_used() -> None:
    rng = np.random.default_rng(4)
    rows = pd.DataFrame({"signal": rng.normal(size=600), "noise": rng.normal(size=600)})
    truth = (rows["signal"] > 0).astype(int).to_numpy()
    model = LogisticRegression().fit(rows, truth)
    found = metrics.permutation_importance(
        model, rows, truth, "classification", "log_loss", None, 1
    )
    assert [f["feature"] for f in found["features"]] == ["signal", "noise"]
    assert found["features"][0]["mean"] > 0.3 and found["metric"] == "log_loss"


def test_unsupervised_scores_and_profiles() -> None:
    rng = np.random.default_rng(5)
    points = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    labels = np.repeat([0, 1], 50)
    found = metrics.unsupervised_metrics(
        points, labels, labels + 10, ["silhouette", "davies_bouldin", "adjusted_rand"], seed=1
    )
    assert found["silhouette"] > 0.9 and found["davies_bouldin"] < 0.1
    assert found["adjusted_rand"] == 1.0
    one = metrics.unsupervised_metrics(points, np.zeros(100), None, ["silhouette"], seed=1)
    assert math.isnan(one["silhouette"])
    profile = metrics.cluster_profiles(pd.DataFrame(points, columns=["x", "y"]), labels)
    assert profile["sizes"] == {"0": 50, "1": 50}
    assert profile["profiles"]["1"]["x"] == pytest.approx(5, abs=0.1)


def test_latency_and_size() -> None:
    rows = pd.DataFrame({"a": np.arange(10.0)})
    model = LogisticRegression().fit(rows, np.arange(10) > 4)
    assert 0 < metrics.latency_ms_per_row(model, rows, "classification") < 1
    assert metrics.model_bytes(model) > 300
