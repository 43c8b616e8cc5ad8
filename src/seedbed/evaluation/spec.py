"""The evaluation spec: what to compare, on which data, judged how.

A spec is written as YAML (`seedbed evaluate SPEC.yaml`) or given to `ws.evaluate(...)` as a
dict. It expands into one combination per (feature set x algorithm x parameters), plus one
per baseline; each runs as a job and logs a child run of the evaluation's parent run.

    name: delays
    dataset: flight-features            # NAME or NAME@VERSION
    # or: training_set: {entity_rows: flights-sample, features: [weather], timestamp: ts}
    target: delayed
    task: classification                # regression, clustering, anomaly_detection
    split: {kind: time, column: scheduled_at, test_size: 0.2}   # random | time | group
    cv_folds: 5
    feature_sets:
      schedule: [month, weekday, sched_hour, distance, carrier, origin]
      weather: [month, weekday, sched_hour, distance, carrier, origin, temp, visib,
                {name: cold, sql: "temp < 32"}]
    algorithms:
      - estimator: LogisticRegression
        params: {C: [0.1, 1.0]}
      - estimator: HistGradientBoostingClassifier
    baselines:
      - {kind: majority}
      - {kind: rule, name: evening, sql: "sched_hour >= 17"}
      - {kind: model, model: flight-delay@champion}
    metrics: [roc_auc, accuracy, f1, brier, cost]
    primary_metric: roc_auc
    cost_matrix: {false_positive: 1, false_negative: 5}
    slices: [carrier, origin]

What each combination's child run records (the report reads these):
- tags `mlflow.parentRunId` (the parent run), `seedbed.evaluation` (the parent run id),
  `seedbed.combination` (its index), `seedbed.kind` ("model" or "baseline"),
  `seedbed.feature_set`, `seedbed.algorithm` (estimator or baseline name);
- params: the estimator's parameters, `feature_set`, `features` (comma-separated);
- metrics: `test_<metric>` on the test split, `cv_<metric>_mean` and `cv_<metric>_std`
  over the folds, and `cv_<metric>` as a series with step = fold index (the same folds for
  every combination, so differences can be paired), `fit_seconds`,
  `latency_ms_per_row`, `model_bytes`;
- artifacts: `model/` (models only), `evaluation/curves.json` (ROC, PR, calibration,
  confusion matrix or residuals), `evaluation/importance.json` (permutation importance),
  `evaluation/slices.json` ({column: {value: {metric: value, "rows": n}}}),
  `evaluation/leakage.json` (warnings, also tag `seedbed.leakage` = "true"),
  `evaluation/clusters.json` (unsupervised tasks: cluster sizes and per-cluster means; the
  shapes of these files are described in `metrics.py`);
- on failure: status FAILED and tag `seedbed.error` (the error's type and message).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seedbed.errors import Invalid

Task = Literal["classification", "regression", "clustering", "anomaly_detection"]
CLASSIFICATION_METRICS = (
    "accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier", "cost",
)  # fmt: skip
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2")
UNSUPERVISED_METRICS = ("silhouette", "davies_bouldin", "adjusted_rand")
ALWAYS_METRICS = ("latency_ms_per_row", "model_bytes", "fit_seconds")
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "classification": (
        "roc_auc",
        "pr_auc",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "log_loss",
        "brier",
    ),
    "regression": REGRESSION_METRICS,
    "clustering": ("silhouette", "davies_bouldin"),
    "anomaly_detection": ("silhouette", "davies_bouldin"),
}
# Lower is better for these; higher for the rest.
LOWER_IS_BETTER = frozenset(
    {"log_loss", "brier", "cost", "mae", "rmse", "mape", "davies_bouldin", *ALWAYS_METRICS}
)
MAX_COMBINATIONS = 200


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainingSetSource(Strict):
    """Build the evaluation's data with the feature store."""

    entity_rows: str = Field(..., description="Dataset of entity rows: NAME or NAME@VERSION.")
    features: list[str] = Field(..., min_length=1)
    timestamp: str | None = None


class Split(Strict):
    kind: Literal["random", "time", "group"] = "random"
    column: str | None = Field(None, description="The time column (time) or group column (group).")
    test_size: float = Field(0.2, gt=0, lt=1)
    seed: int = 13

    @model_validator(mode="after")
    def _column(self) -> Split:
        if self.kind in ("time", "group") and not self.column:
            raise ValueError(f"a {self.kind} split needs `column`")
        return self


class Derived(Strict):
    name: str = Field(..., pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    sql: str = Field(..., min_length=1, description="An SQL expression over the data's columns.")


FeatureItem = str | Derived


class Algorithm(Strict):
    estimator: str = Field(
        ...,
        description="A scikit-learn estimator's name (LogisticRegression), LGBMClassifier or "
        "XGBClassifier when installed, or a dotted path to any estimator class.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Parameter values; a list is a grid to expand."
    )
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.estimator.rsplit(".", 1)[-1]

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of the parameters given as lists."""
        keys = sorted(self.params)
        values = [v if isinstance(v, list) else [v] for v in (self.params[k] for k in keys)]
        if any(not v for v in values):
            raise ValueError(f"{self.label}: a parameter's list of values is empty")
        return [dict(zip(keys, chosen, strict=True)) for chosen in itertools.product(*values)]


class Baseline(Strict):
    kind: Literal["majority", "mean", "rule", "model"]
    name: str | None = None
    sql: str | None = Field(None, description="rule: an SQL expression giving the prediction.")
    python: str | None = Field(
        None, description="rule: a Python expression over `row` (a dict) giving the prediction."
    )
    model: str | None = Field(
        None, description="model: a registered version, NAME@ALIAS or NAME@3."
    )

    @model_validator(mode="after")
    def _fields(self) -> Baseline:
        if self.kind == "rule" and (self.sql is None) == (self.python is None):
            raise ValueError("a rule baseline needs exactly one of `sql` or `python`")
        if self.kind == "model" and not self.model:
            raise ValueError("a model baseline needs `model: NAME@ALIAS`")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind == "model":
            return str(self.model)
        if self.kind == "rule":
            return "rule"
        return self.kind


class CostMatrix(Strict):
    """The business cost of each outcome of a binary classifier (per row)."""

    true_positive: float = 0.0
    false_positive: float = 1.0
    false_negative: float = 1.0
    true_negative: float = 0.0


class EvaluationSpec(Strict):
    name: str = Field("evaluation", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    experiment: str | None = Field(None, description="Experiment of the runs (default: name).")
    dataset: str | None = Field(None, description="NAME or NAME@VERSION.")
    training_set: TrainingSetSource | None = None
    target: str | None = Field(None, description="The label (optional for unsupervised tasks).")
    task: Task = "classification"
    split: Split = Field(default_factory=lambda: Split.model_validate({}))
    cv_folds: int = Field(5, ge=2, le=20)
    feature_sets: dict[str, list[FeatureItem]] = Field(..., min_length=1)
    algorithms: list[Algorithm] = Field(..., min_length=1)
    baselines: list[Baseline] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list)
    primary_metric: str | None = None
    cost_matrix: CostMatrix | None = None
    slices: list[str] = Field(default_factory=list)
    max_rows: int | None = Field(None, gt=0, description="Sample this many rows first.")
    profile: str | None = Field(None, description="Resource profile of each job.")

    @field_validator("feature_sets")
    @classmethod
    def _feature_sets(cls, value: dict[str, list[FeatureItem]]) -> dict[str, list[FeatureItem]]:
        for name, items in value.items():
            if not items:
                raise ValueError(f"feature set {name!r} is empty")
        return value

    @model_validator(mode="after")
    def _whole(self) -> EvaluationSpec:
        if (self.dataset is None) == (self.training_set is None):
            raise ValueError("give either `dataset` or `training_set`")
        supervised = self.task in ("classification", "regression")
        if supervised and not self.target:
            raise ValueError(f"a {self.task} evaluation needs `target`, the column to predict")
        allowed = {
            "classification": CLASSIFICATION_METRICS,
            "regression": REGRESSION_METRICS,
            "clustering": UNSUPERVISED_METRICS,
            "anomaly_detection": UNSUPERVISED_METRICS,
        }[self.task]
        if not self.metrics:
            self.metrics = list(DEFAULT_METRICS[self.task])
        unknown = [m for m in self.metrics if m not in allowed and m not in ALWAYS_METRICS]
        if unknown:
            raise ValueError(
                f"metrics {unknown} do not apply to {self.task}; use {', '.join(allowed)}"
            )
        if "cost" in self.metrics and self.cost_matrix is None:
            self.cost_matrix = CostMatrix()
        self.primary_metric = self.primary_metric or self.metrics[0]
        if self.primary_metric not in self.metrics:
            raise ValueError(f"primary_metric {self.primary_metric!r} is not among `metrics`")
        for baseline in self.baselines:
            if baseline.kind == "majority" and self.task != "classification":
                raise ValueError("a majority baseline is for classification; use `mean`")
            if baseline.kind == "mean" and self.task != "regression":
                raise ValueError("a mean baseline is for regression; use `majority`")
        if len(self.combinations()) > MAX_COMBINATIONS:
            raise ValueError(
                f"the grid expands to {len(self.combinations())} combinations, more than "
                f"{MAX_COMBINATIONS}: trim the parameter lists"
            )
        return self

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.name

    def combinations(self) -> list[Combination]:
        """Baselines first, then every feature set x algorithm x parameter choice."""
        found: list[Combination] = []
        for baseline in self.baselines:
            found.append(Combination(len(found), "baseline", "", baseline.label, {}))
        for feature_set in self.feature_sets:
            for algorithm in self.algorithms:
                for params in algorithm.grid():
                    found.append(
                        Combination(len(found), "model", feature_set, algorithm.label, params)
                    )
        return found


@dataclass(frozen=True)
class Combination:
    index: int
    kind: Literal["model", "baseline"]
    feature_set: str  # "" for baselines
    algorithm: str  # the algorithm's label, or the baseline's
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if self.kind == "baseline":
            return f"baseline: {self.algorithm}"
        shown = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.feature_set} x {self.algorithm}" + (f" ({shown})" if shown else "")


def parse_spec(data: Any) -> EvaluationSpec:
    """A spec from a dict; Invalid lists every problem with where it is."""
    if not isinstance(data, Mapping):
        raise Invalid("An evaluation spec is a mapping (YAML keys such as dataset, target, ...).")
    try:
        return EvaluationSpec.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "spec"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}")
        raise Invalid("The evaluation spec has problems:\n- " + "\n- ".join(problems)) from None


def load_spec(source: str | Path | Mapping[str, Any]) -> EvaluationSpec:
    """A spec from a YAML (or JSON) file, or a dict."""
    if isinstance(source, Mapping):
        return parse_spec(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise Invalid(f"Cannot read the spec {path}: {exc.strerror or exc}.") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"{path} is not valid YAML: {exc}") from exc
    return parse_spec(data)


def spec_json(spec: EvaluationSpec) -> str:
    return json.dumps(spec.model_dump(mode="json"), sort_keys=True)
