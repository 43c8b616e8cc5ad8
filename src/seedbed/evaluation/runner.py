"""One combination of an evaluation (a baseline, or a feature set x algorithm x parameters),
run inside a job through the SDK: it logs a child run of the evaluation's parent run with
what the CONTRACT in `spec.py` lists, and the fitted model in the MLflow format."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np
import pandas as pd

from seedbed.evaluation import baselines, data, estimators, leakage, metrics
from seedbed.evaluation.spec import (
    ALWAYS_METRICS,
    Algorithm,
    Combination,
    Derived,
    EvaluationSpec,
)

MAX_PARAM_CHARS = 500
MAX_ERROR_CHARS = 4000


def run_combination(
    ws: Any,
    spec: EvaluationSpec,
    combination: Combination,
    parent_run_id: str,
    frames: dict[str, Any] | None = None,
) -> str:
    """Evaluate one combination as a child run of `parent_run_id`; returns the run's id.
    A failure ends the run FAILED with the error in the tag `seedbed.error`, and is raised.
    `frames` keeps the data read between the combinations one process evaluates."""
    tags = {
        "mlflow.parentRunId": parent_run_id,
        "seedbed.evaluation": parent_run_id,
        "seedbed.combination": str(combination.index),
        "seedbed.kind": combination.kind,
        "seedbed.feature_set": combination.feature_set,
        "seedbed.algorithm": combination.algorithm,
    }
    run = ws.start_run(spec.experiment_name, name=combination.label, tags=tags)
    try:
        Evaluation(ws, spec, combination, run, frames).run()
    except BaseException as exc:
        try:
            message = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            run.set_tags({"seedbed.error": message})
        finally:
            run.end("KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    run.end("FINISHED")
    return str(run.id)


class Evaluation:
    """The steps of one combination; `run` is the SDK's ActiveRun."""

    def __init__(
        self,
        ws: Any,
        spec: EvaluationSpec,
        combination: Combination,
        run: Any,
        frames: dict[str, Any] | None = None,
    ):
        self.ws = ws
        self.frames = {} if frames is None else frames
        self.spec = spec
        self.combination = combination
        self.run_ = run
        self.task = spec.task
        self.supervised = spec.task in ("classification", "regression")
        self.names = [m for m in spec.metrics if m not in ALWAYS_METRICS]
        self.seed = spec.split.seed

    def run(self) -> None:
        spec, combination = self.spec, self.combination
        # The estimator or baseline first: a bad name fails before any data is read.
        baseline = None
        derived: list[Derived] = []
        if combination.kind == "baseline":
            entry = spec.baselines[combination.index]
            baseline = baselines.make_baseline(self.ws, entry)
            features = list(getattr(baseline, "columns", []))
            params = _baseline_params(entry)
        else:
            features, derived = data.feature_items(spec, combination.feature_set)
            name = algorithm_of(spec, combination).estimator
            make = estimators.make_estimator
            params = make(name, combination.params, self.task, self.seed).get_params(deep=False)
        self.run_.log_params(
            {
                **{k: _param(v) for k, v in params.items()},
                "feature_set": combination.feature_set,
                "features": ",".join(features),
            }
        )
        if "data" not in self.frames:
            self.frames["data"] = data.load_frame(self.ws, spec)
        frame, inputs = self.frames["data"]
        self.run_.log_inputs(inputs)
        prepared = self.prepared = data.prepare(frame, spec, features, derived)
        if baseline is not None:  # rules and registered models read the rows as they are
            rows = prepared.frame[[c for c in prepared.frame.columns if c != spec.target]]
            if isinstance(baseline, baselines.Rule):  # it reads only what it names
                rows = rows[baseline.used_columns(list(rows.columns))]
            self.make = lambda: baseline
        else:
            rows = data.model_inputs(prepared.frame[features])
            self.make = lambda: estimators.build_pipeline(
                make(name, combination.params, self.task, self.seed), rows
            )
        self.check_leakage(features)
        truth = prepared.frame[spec.target].to_numpy() if spec.target else None
        train_rows, test_rows = rows.iloc[prepared.train], rows.iloc[prepared.test]
        train_truth = truth[prepared.train] if truth is not None else None
        test_truth = truth[prepared.test] if truth is not None else None
        self.cross_validate(train_rows, train_truth)
        model = self.make()
        started = time.perf_counter()
        _fit(model, train_rows, train_truth)
        fit_seconds = time.perf_counter() - started
        self.run_.log_metrics(
            {
                "fit_seconds": fit_seconds,
                "latency_ms_per_row": metrics.latency_ms_per_row(model, test_rows, self.task),
                "model_bytes": metrics.model_bytes(model),
            }
        )
        self.test(model, test_rows, test_truth)
        if baseline is None:
            # all the training rows: the signature records their ranges and typical values
            self.run_.log_model(model, "model", input_example=train_rows)

    def check_leakage(self, features: list[str]) -> None:
        prepared = self.prepared
        found = leakage.leakage_warnings(
            prepared.frame, features, self.spec, prepared.train, prepared.test
        )
        self.run_.log_dict({"warnings": found}, "evaluation/leakage.json")
        if found:
            self.run_.set_tags({"seedbed.leakage": "true"})

    def score(self, model: Any, rows: pd.DataFrame, truth: np.ndarray | None) -> dict[str, float]:
        pred = metrics.predict(model, rows, self.task)
        if self.supervised:
            assert truth is not None
            return metrics.supervised_metrics(
                self.task, truth, pred, self.names, self.spec.cost_matrix
            )
        return metrics.unsupervised_metrics(
            _points(model, rows), pred.labels, truth, self.names, self.seed
        )

    def cross_validate(self, rows: pd.DataFrame, truth: np.ndarray | None) -> None:
        per_fold: dict[str, list[float]] = {}
        for step, (fit_at, check_at) in enumerate(self.prepared.folds):
            model = self.make()
            _fit(model, rows.iloc[fit_at], None if truth is None else truth[fit_at])
            scored = self.score(
                model, rows.iloc[check_at], None if truth is None else truth[check_at]
            )
            self.run_.log_metrics({f"cv_{k}": v for k, v in scored.items()}, step=step)
            for key, value in scored.items():
                per_fold.setdefault(key, []).append(value)
        summary = {}
        for key, values in per_fold.items():
            finite = np.array([v for v in values if math.isfinite(v)])
            summary[f"cv_{key}_mean"] = float(finite.mean()) if len(finite) else math.nan
            summary[f"cv_{key}_std"] = float(finite.std(ddof=1)) if len(finite) > 1 else math.nan
        self.run_.log_metrics(summary)

    def test(self, model: Any, rows: pd.DataFrame, truth: np.ndarray | None) -> None:
        spec = self.spec
        pred = metrics.predict(model, rows, self.task)
        curves: dict[str, Any]
        importance: dict[str, Any] = {"metric": spec.primary_metric, "features": []}
        slices: dict[str, Any] = {}
        if self.supervised:
            assert truth is not None
            scored = metrics.supervised_metrics(
                self.task, truth, pred, self.names, spec.cost_matrix
            )
            if self.task == "classification":
                curves = metrics.classification_curves(truth, pred)
            else:
                curves = metrics.regression_curves(truth, pred, self.seed)
            if self.combination.kind == "model" or spec.baselines[self.combination.index].kind in (
                "rule",
                "model",
            ):
                importance = metrics.permutation_importance(
                    model, rows, truth, self.task, str(spec.primary_metric), spec.cost_matrix,
                    self.seed,
                )  # fmt: skip
            test_frame = self.prepared.part(self.prepared.test)
            slices = metrics.slice_metrics(
                self.task, test_frame, truth, pred, spec.slices, self.names, spec.cost_matrix
            )
        else:
            scored = metrics.unsupervised_metrics(
                _points(model, rows), pred.labels, truth, self.names, self.seed
            )
            clusters = metrics.cluster_profiles(rows, pred.labels)
            curves = {"clusters": clusters}
            self.run_.log_dict(clusters, "evaluation/clusters.json")
        self.run_.log_metrics({f"test_{k}": v for k, v in scored.items()})
        for name, content in (("curves", curves), ("importance", importance), ("slices", slices)):
            self.run_.log_text(_json(content), f"evaluation/{name}.json")


def algorithm_of(spec: EvaluationSpec, combination: Combination) -> Algorithm:
    """The spec's algorithm a model combination came from (labels may repeat)."""
    index = len(spec.baselines)
    for _ in spec.feature_sets:
        for algorithm in spec.algorithms:
            index += len(algorithm.grid())
            if combination.index < index:
                return algorithm
    raise IndexError(f"The spec has no combination {combination.index}.")


def _fit(model: Any, rows: pd.DataFrame, truth: np.ndarray | None) -> None:
    if truth is None:
        model.fit(rows)
    else:
        model.fit(rows, truth)


def _points(model: Any, rows: pd.DataFrame) -> np.ndarray:
    """Rows as the estimator saw them (encoded and scaled), for distance-based metrics."""
    if hasattr(model, "steps") and len(model.steps) > 1:
        return np.asarray(model[:-1].transform(rows), dtype=float)
    return rows.select_dtypes("number").fillna(0).to_numpy(dtype=float)


def _baseline_params(baseline: Any) -> dict[str, Any]:
    found = {"baseline": baseline.kind}
    for key in ("sql", "python", "model"):
        if getattr(baseline, key, None) is not None:
            found[key] = getattr(baseline, key)
    return found


def _param(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 1] + "…"


def _json(content: Any) -> str:
    """JSON without NaN or infinity (which JSON lacks): they become null."""
    return json.dumps(_clean(content), indent=1)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value
