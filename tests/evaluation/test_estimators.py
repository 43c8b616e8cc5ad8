"""Estimators by name (scikit-learn, optional LightGBM/XGBoost, dotted paths) with helpful
errors, and the pipelines built around them."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import Ridge

from seedbed.errors import Invalid
from seedbed.evaluation import estimators


def frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "size": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 20, n)),
            "colour": pd.Series(rng.choice(["red", "blue", None], n), dtype="str"),
            "new": rng.random(n) < 0.5,
        }
    )


def test_names_and_dotted_paths_resolve() -> None:
    assert estimators.resolve_estimator("HistGradientBoostingClassifier") is (
        HistGradientBoostingClassifier
    )
    assert estimators.resolve_estimator("sklearn.linear_model.Ridge") is Ridge


def test_unknown_names_list_close_ones() -> None:
    with pytest.raises(Invalid, match="Did you mean RandomForestClassifier"):
        estimators.resolve_estimator("RandomForrestClassifier")
    with pytest.raises(Invalid, match=r"Did you mean .*LogisticRegression"):
        estimators.resolve_estimator("logisticregression")
    with pytest.raises(Invalid, match=r"Cannot import 'nowhere\.models'"):
        estimators.resolve_estimator("nowhere.models.Magic")
    with pytest.raises(Invalid, match=r"sklearn\.linear_model has no class 'Magic'"):
        estimators.resolve_estimator("sklearn.linear_model.Magic")


@pytest.mark.skipif(importlib.util.find_spec("xgboost") is not None, reason="installed")
def test_optional_libraries_say_to_install_them() -> None:
    with pytest.raises(Invalid, match=r"needs the xgboost package.*pip install xgboost"):
        estimators.resolve_estimator("XGBClassifier")


def test_lightgbm_is_evaluated_like_any_estimator_when_installed() -> None:
    """make test installs lightgbm (the dev extra), so this path runs for real."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=400), "carrier": rng.choice(["UA", "AA"], size=400)})
    truth = (frame["x"] + (frame["carrier"] == "UA") > 0.5).astype(int).to_numpy()
    made = estimators.make_estimator(
        "LGBMClassifier", {"n_estimators": 20, "verbose": -1}, "classification", 4
    )
    assert made.get_params()["random_state"] == 4
    pipeline = estimators.build_pipeline(made, frame).fit(frame, truth)
    assert (pipeline.predict(frame) == truth).mean() > 0.9
    with pytest.raises(Invalid, match="LGBMRegressor is a regressor"):
        estimators.make_estimator("LGBMRegressor", {}, "classification", 1)


def test_estimator_must_suit_the_task_and_take_the_params() -> None:
    with pytest.raises(Invalid, match="Ridge is a regressor, but the task is classification"):
        estimators.make_estimator("Ridge", {}, "classification", 1)
    with pytest.raises(Invalid, match=r"no parameters \['depth'\]; it takes .*max_depth"):
        estimators.make_estimator("RandomForestClassifier", {"depth": 3}, "classification", 1)
    made = estimators.make_estimator(
        "RandomForestClassifier", {"n_estimators": 5}, "classification", 9
    )
    assert made.n_estimators == 5 and made.random_state == 9
    assert estimators.estimator_kind(estimators.make_estimator("KMeans", {}, "clustering", 1)) == (
        "clusterer"
    )
    estimators.make_estimator("IsolationForest", {}, "anomaly_detection", 1)


def test_pipelines_encode_categories_and_scale_only_where_needed() -> None:
    rows = frame()
    truth = (rows["size"].fillna(50) > 50).to_numpy()
    linear = estimators.build_pipeline(
        estimators.make_estimator("LogisticRegression", {}, "classification", 1), rows
    )
    boosted = estimators.build_pipeline(
        estimators.make_estimator(
            "HistGradientBoostingClassifier", {"max_iter": 5}, "classification", 1
        ),
        rows,
    )
    for model in (linear, boosted):
        model.fit(rows, truth)
        unseen = rows.head(3).assign(colour=["green", "green", "green"])
        assert model.predict_proba(unseen).shape == (3, 2)  # an unseen colour is ignored
        names = list(model[:-1].get_feature_names_out())
        assert {"colour_red", "colour_blue", "colour_(missing)", "new_True", "size"} <= set(names)
    numbers = dict((n, t) for n, t, _ in linear.named_steps["prepare"].transformers_)["numbers"]
    assert [type(s).__name__ for s in numbers] == ["SimpleImputer", "StandardScaler"]
    native = dict((n, t) for n, t, _ in boosted.named_steps["prepare"].transformers)["numbers"]
    assert native == "passthrough"
    assert np.isnan(boosted[:-1].transform(rows)[:, -1]).any()  # NaN reaches the booster
