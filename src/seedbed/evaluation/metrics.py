"""Metrics beyond accuracy, the curves a report draws, permutation importance, per-slice
metrics, prediction latency and model size.

`curves.json` holds, for classification: `roc` {fpr, tpr, thresholds} and `pr` {precision,
recall, thresholds} (binary, at most 200 points each), `calibration` {mean_predicted,
observed, count} over 10 bins (binary), `confusion` {labels, matrix} (rows: actual);
for regression: `residuals` {edges, counts} (a histogram of actual - predicted) and `sample`
{actual, predicted} (at most 500 points); for unsupervised tasks: `clusters` {sizes,
profiles} (cluster -> rows, cluster -> {numeric feature: mean}), also `clusters.json`.
`importance.json` is {metric, rows, features: [{feature, mean, std}]}, most important first
(empty for majority/mean baselines and unsupervised tasks); `slices.json` is {column: {value:
{metric: value, "rows": n}}}; `leakage.json` is {warnings: [sentence, ...]}. NaN is null.
"""

from __future__ import annotations

import math
import pickle
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from seedbed.evaluation.spec import ALWAYS_METRICS, LOWER_IS_BETTER, CostMatrix

MAX_CURVE_POINTS = 200
MAX_SAMPLE_POINTS = 500
MAX_CLUSTER_ROWS = 10_000
MAX_IMPORTANCE_ROWS = 5_000
LATENCY_ROWS = 1_000
MIN_SLICE_ROWS = 30
MAX_SLICE_VALUES = 30


@dataclass
class Predictions:
    """What a model said about some rows: labels (classes, values or clusters) and, for
    classification, the probability of each of `classes`."""

    labels: np.ndarray
    proba: np.ndarray | None = None
    classes: np.ndarray | None = None

    def subset(self, mask: np.ndarray) -> Predictions:
        proba = None if self.proba is None else self.proba[mask]
        return Predictions(self.labels[mask], proba, self.classes)


def predict(model: Any, frame: pd.DataFrame, task: str) -> Predictions:
    """Predictions of a fitted model (or baseline); clusterers without `predict` are fitted
    on `frame` itself."""
    if task == "classification":
        classes = np.asarray(model.classes_)
        if hasattr(model, "predict_proba"):
            proba = np.asarray(model.predict_proba(frame), dtype=float)
            return Predictions(classes[np.argmax(proba, axis=1)], proba, classes)
        labels = np.asarray(model.predict(frame))  # no probabilities: hard ones
        proba = (labels[:, None] == classes[None, :]).astype(float)
        return Predictions(labels, proba, classes)
    if task == "regression" or hasattr(model, "predict"):
        return Predictions(np.asarray(model.predict(frame)))
    return Predictions(np.asarray(model.fit_predict(frame)))


def _safe(compute: Callable[[], Any]) -> float:
    """A metric's value, or NaN where it is undefined (one class in a fold, say)."""
    try:
        with warnings.catch_warnings():  # an undefined metric is NaN; its warning is noise
            warnings.simplefilter("ignore")
            value = float(compute())
    except (ValueError, ZeroDivisionError, IndexError):
        return math.nan
    return value


def classification_metrics(
    truth: np.ndarray, pred: Predictions, names: Sequence[str], cost: CostMatrix | None = None
) -> dict[str, float]:
    """The named metrics; binary ones take the last class as positive, multiclass ones
    average over classes (macro). `cost` is binary only (mean cost per row at 0.5)."""
    from sklearn import metrics as m

    assert pred.proba is not None and pred.classes is not None
    classes, proba = pred.classes, pred.proba
    binary = len(classes) == 2
    positive = classes[-1]
    is_positive = truth == positive
    score = proba[:, -1]
    onehot = (truth[:, None] == classes[None, :]).astype(float)
    average: dict[str, Any] = (
        {"pos_label": positive, "average": "binary"} if binary else {"average": "macro"}
    )
    labels = pred.labels
    compute: dict[str, Callable[[], Any]] = {
        "accuracy": lambda: np.mean(labels == truth) if len(truth) else math.nan,
        "precision": lambda: m.precision_score(truth, labels, zero_division=0, **average),
        "recall": lambda: m.recall_score(truth, labels, zero_division=0, **average),
        "f1": lambda: m.f1_score(truth, labels, zero_division=0, **average),
        "roc_auc": lambda: (
            m.roc_auc_score(is_positive, score)
            if binary
            else m.roc_auc_score(truth, proba, multi_class="ovr", labels=classes)
        ),
        "pr_auc": lambda: (
            m.average_precision_score(is_positive, score)
            if binary
            else m.average_precision_score(onehot, proba, average="macro")
        ),
        "log_loss": lambda: _log_loss(truth, proba, classes),
        "brier": lambda: np.mean(np.sum((proba - onehot) ** 2, axis=1)) / (2 if binary else 1),
    }
    if binary:  # the same values as scikit-learn's, from one count: ~20x faster per call
        predicted = labels == positive
        tp = float(np.sum(is_positive & predicted))
        fp, fn = float(np.sum(~is_positive & predicted)), float(np.sum(is_positive & ~predicted))
        compute["precision"] = lambda: tp / (tp + fp) if tp + fp else 0.0
        compute["recall"] = lambda: tp / (tp + fn) if tp + fn else 0.0
        compute["f1"] = lambda: 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    if binary and cost is not None:
        compute["cost"] = lambda: expected_cost(is_positive, score >= 0.5, cost)
    return {name: _safe(compute[name]) for name in names if name in compute}


def _log_loss(truth: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Mean negative log probability of the true class; NaN when a class is unknown."""
    where = pd.Index(classes).get_indexer(truth)
    if len(truth) == 0 or (where < 0).any():
        return math.nan
    chosen = proba[np.arange(len(truth)), where] / proba.sum(axis=1)
    return float(-np.mean(np.log(np.clip(chosen, 1e-15, 1))))


def expected_cost(truth: np.ndarray, flagged: np.ndarray, cost: CostMatrix) -> float:
    """Mean cost per row of binary decisions under the cost matrix."""
    truth, flagged = truth.astype(bool), flagged.astype(bool)
    total = (
        cost.true_positive * np.sum(truth & flagged)
        + cost.false_positive * np.sum(~truth & flagged)
        + cost.false_negative * np.sum(truth & ~flagged)
        + cost.true_negative * np.sum(~truth & ~flagged)
    )
    return float(total / max(len(truth), 1))


def regression_metrics(
    truth: np.ndarray, pred: Predictions, names: Sequence[str]
) -> dict[str, float]:
    from sklearn import metrics as m

    actual = truth.astype(float)
    predicted = pred.labels.astype(float)
    compute: dict[str, Callable[[], Any]] = {
        "mae": lambda: m.mean_absolute_error(actual, predicted),
        "rmse": lambda: math.sqrt(m.mean_squared_error(actual, predicted)),
        "mape": lambda: m.mean_absolute_percentage_error(actual, predicted),
        "r2": lambda: m.r2_score(actual, predicted) if len(actual) > 1 else math.nan,
    }
    return {name: _safe(compute[name]) for name in names if name in compute}


def unsupervised_metrics(
    points: np.ndarray,
    labels: np.ndarray,
    truth: np.ndarray | None,
    names: Sequence[str],
    seed: int,
) -> dict[str, float]:
    """Silhouette and Davies-Bouldin on a seeded sample of the (prepared) points; adjusted
    Rand against `truth` when there is one."""
    from sklearn import metrics as m

    chosen = np.arange(len(labels))
    if len(chosen) > MAX_CLUSTER_ROWS:
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(len(labels), MAX_CLUSTER_ROWS, replace=False))
    sample, sample_labels = points[chosen], labels[chosen]
    found = len(np.unique(sample_labels))
    defined = 2 <= found <= len(sample_labels) - 1
    compute: dict[str, Callable[[], Any]] = {
        "silhouette": lambda: (
            m.silhouette_score(sample, sample_labels, random_state=seed) if defined else math.nan
        ),
        "davies_bouldin": lambda: (
            m.davies_bouldin_score(sample, sample_labels) if defined else math.nan
        ),
    }
    if truth is not None:
        compute["adjusted_rand"] = lambda: m.adjusted_rand_score(truth.astype(str), labels)
    return {name: _safe(compute[name]) for name in names if name in compute}


def supervised_metrics(
    task: str,
    truth: np.ndarray,
    pred: Predictions,
    names: Sequence[str],
    cost: CostMatrix | None = None,
) -> dict[str, float]:
    wanted = [n for n in names if n not in ALWAYS_METRICS]
    if task == "classification":
        return classification_metrics(truth, pred, wanted, cost)
    return regression_metrics(truth, pred, wanted)


def _downsample(*arrays: np.ndarray, limit: int = MAX_CURVE_POINTS) -> list[list[float | None]]:
    n = len(arrays[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int))
    return [[_finite(v) for v in np.asarray(a)[keep]] for a in arrays]


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def classification_curves(truth: np.ndarray, pred: Predictions) -> dict[str, Any]:
    from sklearn import metrics as m

    assert pred.proba is not None and pred.classes is not None
    classes = pred.classes
    matrix = m.confusion_matrix(truth, pred.labels, labels=classes)
    curves: dict[str, Any] = {
        "confusion": {"labels": [str(c) for c in classes], "matrix": matrix.tolist()}
    }
    is_positive = truth == classes[-1]
    if len(classes) != 2 or is_positive.all() or not is_positive.any():
        return curves
    score = pred.proba[:, -1]
    fpr, tpr, roc_thresholds = m.roc_curve(is_positive, score)
    fpr_s, tpr_s, thr_s = _downsample(fpr, tpr, roc_thresholds)
    curves["roc"] = {"fpr": fpr_s, "tpr": tpr_s, "thresholds": thr_s}
    precision, recall, pr_thresholds = m.precision_recall_curve(is_positive, score)
    p_s, r_s, t_s = _downsample(precision[:-1], recall[:-1], pr_thresholds)
    curves["pr"] = {"precision": p_s, "recall": r_s, "thresholds": t_s}
    bins = np.clip((score * 10).astype(int), 0, 9)
    calibration: dict[str, list[Any]] = {"mean_predicted": [], "observed": [], "count": []}
    for b in range(10):
        inside = bins == b
        count = int(inside.sum())
        calibration["count"].append(count)
        calibration["mean_predicted"].append(float(score[inside].mean()) if count else None)
        calibration["observed"].append(float(is_positive[inside].mean()) if count else None)
    curves["calibration"] = calibration
    return curves


def regression_curves(truth: np.ndarray, pred: Predictions, seed: int) -> dict[str, Any]:
    actual, predicted = truth.astype(float), pred.labels.astype(float)
    residuals = actual - predicted
    finite = residuals[np.isfinite(residuals)]
    counts, edges = np.histogram(finite, bins=30) if len(finite) else (np.zeros(0), np.zeros(0))
    chosen = np.arange(len(actual))
    if len(chosen) > MAX_SAMPLE_POINTS:
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(len(actual), MAX_SAMPLE_POINTS, replace=False))
    return {
        "residuals": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
        "sample": {
            "actual": [_finite(v) for v in actual[chosen]],
            "predicted": [_finite(v) for v in predicted[chosen]],
        },
    }


def cluster_profiles(frame: pd.DataFrame, labels: np.ndarray) -> dict[str, Any]:
    """Rows per cluster and each cluster's mean of every numeric feature."""
    numeric = frame.select_dtypes("number")
    grouped = numeric.groupby(pd.Series(labels, index=frame.index).astype(str))
    sizes = pd.Series(labels).astype(str).value_counts()
    return {
        "sizes": {str(k): int(v) for k, v in sizes.items()},
        "profiles": {
            str(k): {str(c): _finite(v) for c, v in row.items()}
            for k, row in grouped.mean().iterrows()
        },
    }


def permutation_importance(
    model: Any,
    frame: pd.DataFrame,
    truth: np.ndarray,
    task: str,
    metric: str,
    cost: CostMatrix | None,
    seed: int,
) -> dict[str, Any]:
    """How much `metric` worsens when each column is shuffled (3 repeats, ≤ 5,000 rows);
    positive means the model relies on the column."""
    from sklearn.inspection import permutation_importance as permute

    chosen = np.arange(len(frame))
    if len(chosen) > MAX_IMPORTANCE_ROWS:
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(len(frame), MAX_IMPORTANCE_ROWS, replace=False))
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0

    def score(estimator: Any, rows: pd.DataFrame, actual: np.ndarray) -> float:
        pred = predict(estimator, rows, task)
        value = supervised_metrics(task, actual, pred, [metric], cost).get(metric, math.nan)
        return sign * value

    found = permute(
        model,
        frame.iloc[chosen],
        truth[chosen],
        scoring=score,
        n_repeats=3,
        random_state=seed,
    )
    means = np.asarray(found.importances_mean, dtype=float)
    order = np.argsort(-np.nan_to_num(means, nan=-np.inf), kind="stable")
    rows = [
        {
            "feature": str(frame.columns[i]),
            "mean": _finite(means[i]),
            "std": _finite(found.importances_std[i]),
        }
        for i in order
    ]
    return {"metric": metric, "rows": len(chosen), "features": rows}


def slice_metrics(
    task: str,
    test: pd.DataFrame,
    truth: np.ndarray,
    pred: Predictions,
    columns: Sequence[str],
    names: Sequence[str],
    cost: CostMatrix | None,
) -> dict[str, dict[str, dict[str, float | int | None]]]:
    """{column: {value: {metric: value, "rows": n}}} for each of a column's 30 largest
    values having at least 30 test rows."""
    found: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for column in columns:
        values = test[column].astype(object).where(test[column].notna(), "(missing)").astype(str)
        counts = values.value_counts()
        counts = counts[counts >= MIN_SLICE_ROWS].head(MAX_SLICE_VALUES)
        found[column] = {}
        for value, rows in counts.items():
            mask = (values == value).to_numpy()
            scored = supervised_metrics(task, truth[mask], pred.subset(mask), names, cost)
            entry: dict[str, float | int | None] = {k: _finite(v) for k, v in scored.items()}
            entry["rows"] = int(rows)
            found[column][str(value)] = entry
    return found


def latency_ms_per_row(model: Any, frame: pd.DataFrame, task: str) -> float:
    """Milliseconds per row to predict 1,000 rows (the best of 3 timings)."""
    if frame.empty or not hasattr(model, "predict"):
        return math.nan  # clusterers that only label the rows they are fitted on
    rows = frame.iloc[np.arange(LATENCY_ROWS) % len(frame)]
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        if task == "classification" and hasattr(model, "predict_proba"):
            model.predict_proba(rows)
        else:
            model.predict(rows)
        best = min(best, time.perf_counter() - started)
    return best * 1000 / LATENCY_ROWS


def model_bytes(model: Any) -> int:
    """The size of the pickled fitted model."""
    return len(pickle.dumps(model, protocol=pickle.DEFAULT_PROTOCOL))
