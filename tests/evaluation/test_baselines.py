"""Baselines: majority, mean and business rules (SQL or Python), scored like models. The
registered-model baseline runs against a real server in test_engine_e2e."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from seedbed.errors import Invalid
from seedbed.evaluation import baselines, metrics


def flights() -> pd.DataFrame:
    return pd.DataFrame({"hour": [6, 12, 17, 21, 9], "carrier": ["AA", "B6", "AA", "UA", "B6"]})


def test_majority_predicts_the_commonest_class_with_priors() -> None:
    majority = baselines.Majority().fit(flights(), np.array(["late", "ok", "ok", "ok", "late"]))
    assert majority.predict(flights().head(2)).tolist() == ["ok", "ok"]
    assert majority.predict_proba(flights().head(1)).tolist() == [[0.4, 0.6]]


def test_mean_predicts_the_training_mean() -> None:
    mean = baselines.Mean().fit(flights(), np.array([1.0, 2.0, 6.0, 3.0, 3.0]))
    assert mean.predict(flights()).tolist() == [3.0] * 5


def test_sql_rule_maps_true_to_the_positive_class() -> None:
    rule = baselines.SqlRule("hour >= 17").fit(flights(), np.array([0, 1, 0, 1, 0]))
    assert rule.predict(flights()).tolist() == [0, 0, 1, 1, 0]
    pred = metrics.predict(rule, flights(), "classification")
    assert pred.proba is not None and pred.proba[:, 1].tolist() == [0, 0, 1, 1, 0]
    labels = baselines.SqlRule("CASE WHEN carrier = 'AA' THEN 'late' ELSE 'ok' END")
    labels.fit(flights(), np.array(["ok", "late", "ok", "ok", "ok"]))
    assert labels.predict(flights()).tolist() == ["late", "ok", "late", "ok", "ok"]
    regression = baselines.SqlRule("hour * 2").fit(flights(), np.array([1.5, 2, 3, 4, 5]))
    assert regression.predict(flights()).tolist() == [12.0, 24.0, 34.0, 42.0, 18.0]


def test_sql_rule_errors_are_clear_and_files_are_out_of_reach() -> None:
    with pytest.raises(Invalid, match=r"The rule .minute > 3. failed.*Columns: hour, carrier"):
        baselines.SqlRule("minute > 3").fit(flights(), np.zeros(5)).predict(flights())
    with pytest.raises(Invalid, match="failed"):
        baselines.SqlRule("(SELECT count(*) FROM '/etc/hostname') > 0").predict(flights())


def test_python_rule_over_row_with_few_builtins() -> None:
    rule = baselines.PythonRule("row['hour'] >= 17 or row['carrier'] == 'UA'")
    rule.fit(flights(), np.array([False, True, False, True, False]))
    assert rule.predict(flights()).tolist() == [False, False, True, True, False]
    assert pickle.loads(pickle.dumps(rule)).predict(flights()).tolist() == [0, 0, 1, 1, 0]
    with pytest.raises(Invalid, match="may not use __class__"):
        baselines.PythonRule("row.__class__")
    with pytest.raises(Invalid, match="NameError"):
        baselines.PythonRule("open('/etc/passwd')").predict(flights())
    with pytest.raises(Invalid, match="not a Python expression"):
        baselines.PythonRule("row[")


def test_registered_model_needs_its_columns() -> None:
    rows = pd.DataFrame({"hour": [6.0, 12, 17, 21], "distance": [100.0, 200, 300, 400]})
    model = LogisticRegression().fit(rows, [0, 0, 1, 1])
    baseline = baselines.RegisteredModel(model, ["hour", "distance"], "delays@champion")
    assert baseline.predict_proba(rows.assign(extra=1)).shape == (4, 2)
    with pytest.raises(Invalid, match=r"takes columns \['distance'\] that the data lacks"):
        baseline.predict(rows[["hour"]])
    with pytest.raises(Invalid, match="write NAME@ALIAS or NAME@VERSION"):
        baselines.model_reference("delays")


def test_a_rule_is_scored_only_on_the_columns_it_reads() -> None:
    columns = ["sched_hour", "hour", "dep delay", "carrier", "origin"]
    sql = baselines.SqlRule('sched_hour >= 17 AND "dep delay" > 0 AND carrier_x = 1')
    assert sql.used_columns(columns) == ["sched_hour", "dep delay"]
    python = baselines.PythonRule('row["sched_hour"] >= 17 or row.get("origin") == "JFK"')
    assert python.used_columns(columns) == ["sched_hour", "origin"]
    assert baselines.SqlRule("1 = 1").used_columns(["a", "b"]) == ["a", "b"]  # names none
