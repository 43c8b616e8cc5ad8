"""Target leakage checks, run before a combination fits anything: a feature that is the
target or nearly so, and, with a time split, data from after the prediction time. Each
warning is one sentence naming the column and the evidence; they are recorded, not fatal."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from seedbed.evaluation.spec import EvaluationSpec

MAX_ROWS = 20_000  # the checks run on a seeded sample
NEAR = 0.98


def leakage_warnings(
    frame: pd.DataFrame,
    features: list[str],
    spec: EvaluationSpec,
    train: np.ndarray,
    test: np.ndarray,
) -> list[str]:
    """Every leakage warning for these feature columns of `frame` under `spec`."""
    found: list[str] = []
    rows = _sample(frame, spec.split.seed)
    if spec.target and spec.target in frame.columns:
        for feature in features:
            if feature in frame.columns:
                warning = _target_warning(rows, feature, spec.target, spec.task)
                if warning:
                    found.append(warning)
    if spec.split.kind == "time" and spec.split.column:
        found += _time_warnings(frame, features, spec.split.column, train, test)
    return found


def _sample(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    if len(frame) <= MAX_ROWS:
        return frame
    chosen = np.sort(np.random.default_rng(seed).choice(len(frame), MAX_ROWS, replace=False))
    return frame.iloc[chosen]


def _target_warning(rows: pd.DataFrame, feature: str, target: str, task: str) -> str | None:
    pair = rows[[feature, target]].dropna()
    if len(pair) < 10:
        return None
    values, labels = pair[feature], pair[target]
    if values.astype(str).equals(labels.astype(str)):
        return f"Feature {feature!r} equals the target {target!r} in every row checked."
    numeric = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
    if numeric and (pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels)):
        x, y = values.astype(float).to_numpy(), labels.astype(float).to_numpy()
        if np.std(x) > 0 and np.std(y) > 0:
            correlation = float(np.corrcoef(x, y)[0, 1])
            if math.isfinite(correlation) and abs(correlation) >= NEAR:
                return (
                    f"Feature {feature!r} is nearly the target {target!r}: their Pearson "
                    f"correlation is {correlation:.3f}."
                )
    if task == "classification" and numeric and labels.nunique() == 2:
        from sklearn.metrics import roc_auc_score

        positive = labels == sorted(labels.unique(), key=str)[-1]
        auc = float(roc_auc_score(positive, values.astype(float)))
        if auc >= NEAR or auc <= 1 - NEAR:
            return (
                f"Feature {feature!r} alone separates the classes of {target!r} almost "
                f"perfectly: its ROC AUC is {auc:.3f}."
            )
    return None


def _time_warnings(
    frame: pd.DataFrame, features: list[str], column: str, train: np.ndarray, test: np.ndarray
) -> list[str]:
    found = []
    times = pd.to_datetime(frame[column], errors="coerce")
    if len(test) and len(train):
        first_test = times.iloc[test].min()
        later = int((times.iloc[train] > first_test).sum())
        if later:
            found.append(
                f"The time split overlaps: {later} training rows have {column!r} later than "
                f"the first test row ({first_test})."
            )
    for feature in features:
        if feature == column or feature not in frame.columns:
            continue
        if not pd.api.types.is_datetime64_any_dtype(frame[feature]):
            continue
        values = frame[feature]
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert(None)
        stamps = times.dt.tz_convert(None) if getattr(times.dt, "tz", None) else times
        after = (values > stamps).to_numpy()
        count = int(after.sum())
        if count:
            example = int(np.flatnonzero(after)[0])
            found.append(
                f"Feature {feature!r} holds data after the prediction time: in {count} rows "
                f"it is later than {column!r} (e.g. {values.iloc[example]} > "
                f"{stamps.iloc[example]})."
            )
    return found
