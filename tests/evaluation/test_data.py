"""Loading aside (see test_engine_e2e), the data steps: sampling, derived features, column
checks, the split and cross-validation folds that every combination of a spec shares."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from seedbed.errors import Invalid
from seedbed.evaluation import data
from seedbed.evaluation.spec import EvaluationSpec, parse_spec


def rows(n: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "at": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.permutation(n), "h"),
            "shop": rng.integers(0, 40, n),
            "price": rng.normal(10, 3, n),
            "kind": rng.choice(["a", "b"], n),
            "bought": rng.integers(0, 2, n),
        }
    )


def spec(**changes: Any) -> EvaluationSpec:
    base: dict[str, Any] = {
        "dataset": "sales",
        "target": "bought",
        "cv_folds": 4,
        "feature_sets": {
            "plain": ["price", "kind"],
            "more": ["price", {"name": "dear", "sql": "price > 12"}],
        },
        "algorithms": [{"estimator": "LogisticRegression"}],
    }
    return parse_spec(base | changes)


def test_sampling_is_seeded_and_keeps_order() -> None:
    frame = rows()
    first = data.sample_rows(frame, 100, 7)
    assert len(first) == 100 and first.equals(data.sample_rows(frame, 100, 7))
    assert first["at"].tolist() == frame.loc[frame["at"].isin(first["at"]), "at"].tolist()
    assert len(data.sample_rows(frame, None, 7)) == 400


def test_derived_features_are_sql_over_the_rows() -> None:
    frame = rows(50)
    derived = data.feature_items(spec(), "more")[1]
    result = data.add_derived(frame, derived)
    assert result["dear"].tolist() == (frame["price"] > 12).tolist()
    with pytest.raises(Invalid, match=r"Derived feature 'x'.*Columns: at, shop"):
        data.add_derived(frame, [type(derived[0])(name="x", sql="nope + 1")])


def test_derived_features_cannot_read_files() -> None:
    item = data.feature_items(spec(), "more")[1][0]
    with pytest.raises(Invalid, match="Derived feature 'leak'"):
        data.add_derived(rows(5), [type(item)(name="leak", sql="(SELECT 1 FROM '/etc/hostname')")])


def test_missing_columns_name_what_exists() -> None:
    with pytest.raises(Invalid) as caught:
        data.check_columns(rows(), spec(target="label", slices=["region"]), ["price", "colour"])
    message = str(caught.value)
    assert "the target 'label'" in message and "['colour']" in message
    assert "['region']" in message and "Its columns are: at, shop, price, kind, bought" in message


def test_folds_are_identical_for_every_combination() -> None:
    evaluation = spec()
    plain = data.prepare(rows(), evaluation, *data.feature_items(evaluation, "plain"))
    more = data.prepare(rows(), evaluation, *data.feature_items(evaluation, "more"))
    assert np.array_equal(plain.train, more.train) and np.array_equal(plain.test, more.test)
    assert len(plain.folds) == 4
    for (a_fit, a_check), (b_fit, b_check) in zip(plain.folds, more.folds, strict=True):
        assert np.array_equal(a_fit, b_fit) and np.array_equal(a_check, b_check)
    assert len(plain.test) == 80 and not set(plain.train) & set(plain.test)
    # Stratified: each validation fold has about the training part's share of buyers.
    share = plain.frame.iloc[plain.train]["bought"].mean()
    for _, check in plain.folds:
        assert abs(plain.frame.iloc[plain.train[check]]["bought"].mean() - share) < 0.03


def test_time_split_tests_the_latest_rows_and_folds_move_forward() -> None:
    evaluation = spec(split={"kind": "time", "column": "at", "test_size": 0.25})
    prepared = data.prepare(rows(), evaluation, ["price"], [])
    times = prepared.frame["at"]
    assert times.iloc[prepared.train].max() < times.iloc[prepared.test].min()
    train_times = times.iloc[prepared.train].to_numpy()
    for fit, check in prepared.folds:
        assert train_times[fit].max() < train_times[check].min()


def test_group_split_keeps_groups_whole() -> None:
    evaluation = spec(split={"kind": "group", "column": "shop"})
    prepared = data.prepare(rows(), evaluation, ["price"], [])
    shops = prepared.frame["shop"].to_numpy()
    assert not set(shops[prepared.train]) & set(shops[prepared.test])
    train_shops = shops[prepared.train]
    for fit, check in prepared.folds:
        assert not set(train_shops[fit]) & set(train_shops[check])


def test_too_few_rows_in_a_class_says_how_many_are_needed() -> None:
    frame = rows(200)
    frame["bought"] = 0
    frame.loc[:4, "bought"] = 1  # 5 buyers: 4 or so left after the test split
    evaluation = spec(cv_folds=5)
    with pytest.raises(Invalid, match=r"1: \d rows; each class needs at least 5"):
        data.prepare(frame, evaluation, ["price"], [])
    frame["bought"] = 0
    with pytest.raises(Invalid, match="single class"):
        data.prepare(frame, evaluation, ["price"], [])


def test_rows_without_a_target_are_dropped_and_datetimes_become_numbers() -> None:
    frame = rows(100)
    frame.loc[:9, "bought"] = np.nan
    prepared = data.prepare(frame, spec(), ["price"], [])
    assert len(prepared.frame) == 90
    converted = data.model_inputs(prepared.frame[["at", "price"]])
    assert converted["at"].dtype.kind == "f"
    assert converted["at"].iloc[0] == prepared.frame["at"].iloc[0].timestamp()
