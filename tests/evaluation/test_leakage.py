"""Leakage flags: a feature that is (nearly) the target, a time split that overlaps, data
from after the prediction time; and silence on clean data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from seedbed.evaluation import data
from seedbed.evaluation.leakage import leakage_warnings
from seedbed.evaluation.spec import EvaluationSpec, parse_spec


def loans(n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    applied = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n), "h")
    income = rng.normal(50, 15, n)
    defaulted = (rng.random(n) < 1 / (1 + np.exp((income - 40) / 10))).astype(int)
    return pd.DataFrame(
        {
            "applied_at": applied,
            "income": income,
            "region": rng.choice(["n", "s"], n),
            "reviewed_at": applied - pd.to_timedelta(rng.integers(1, 48, n), "h"),
            "defaulted": defaulted,
            "copy": defaulted,
            "collections": defaulted * 3.0 + rng.normal(0, 0.05, n),
            "late_fees": defaulted * 5 + rng.exponential(1, n).clip(max=4.9),
        }
    )


def spec(**changes: Any) -> EvaluationSpec:
    base: dict[str, Any] = {
        "dataset": "loans",
        "target": "defaulted",
        "feature_sets": {"all": ["income"]},
        "algorithms": [{"estimator": "LogisticRegression"}],
    }
    return parse_spec(base | changes)


def check(frame: pd.DataFrame, features: list[str], evaluation: EvaluationSpec) -> list[str]:
    train, test = data.split_rows(frame, evaluation)
    return leakage_warnings(frame, features, evaluation, train, test)


def test_features_that_are_the_target_are_flagged() -> None:
    found = check(loans(), ["income", "region", "copy", "collections", "late_fees"], spec())
    assert len(found) == 3, found
    assert found[0] == "Feature 'copy' equals the target 'defaulted' in every row checked."
    assert found[1].startswith("Feature 'collections' is nearly the target 'defaulted'")
    assert "Pearson correlation is 0.99" in found[1]
    assert found[2].startswith("Feature 'late_fees' alone separates the classes")
    assert "ROC AUC is 1.000" in found[2]


def test_regression_targets_use_correlation() -> None:
    frame = loans()
    frame["amount_paid"] = frame["income"] * 2 + 1
    evaluation = spec(target="income", task="regression")
    found = check(frame, ["region", "amount_paid", "reviewed_at"], evaluation)
    assert len(found) == 1 and "'amount_paid' is nearly the target 'income'" in found[0]


def test_data_after_the_prediction_time_is_flagged() -> None:
    frame = loans()
    frame.loc[100:149, "reviewed_at"] = frame.loc[100:149, "applied_at"] + pd.Timedelta("2D")
    evaluation = spec(split={"kind": "time", "column": "applied_at"})
    found = check(frame, ["income", "reviewed_at"], evaluation)
    assert found == [
        "Feature 'reviewed_at' holds data after the prediction time: in 50 rows it is later "
        "than 'applied_at' (e.g. 2024-01-07 04:00:00 > 2024-01-05 04:00:00)."
    ]


def test_overlapping_time_split_is_flagged() -> None:
    frame = loans(100)
    evaluation = spec(split={"kind": "time", "column": "applied_at"})
    train, test = np.arange(0, 90), np.arange(50, 100)  # a split made by hand, overlapping
    found = leakage_warnings(frame, ["income"], evaluation, train, test)
    assert found == [
        "The time split overlaps: 39 training rows have 'applied_at' later than the first "
        "test row (2024-01-03 02:00:00)."
    ]


def test_clean_data_has_no_warnings() -> None:
    evaluation = spec(split={"kind": "time", "column": "applied_at"})
    assert check(loans(), ["income", "region", "reviewed_at"], evaluation) == []
    assert check(loans(), ["income", "region"], spec()) == []
