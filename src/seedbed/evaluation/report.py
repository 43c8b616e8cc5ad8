"""The evaluation report, read from the parent run's child runs (see spec.py for what each
child records): a leaderboard on the primary metric with each model's difference to the
best baseline, paired over the CV folds; the other metrics, cost and size; per-slice
tables that mark where a model is worse than the best baseline; leakage warnings first;
and what has not finished.

The difference to the baseline is paired: every combination uses the same folds, so the
per-fold differences d_k = model_k - baseline_k cancel the folds' own difficulty; their mean
and standard error (sd(d) / sqrt(k)) are what the report shows.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from typing import Any

from seedbed.compute import executor as states
from seedbed.errors import NotFound
from seedbed.evaluation.spec import LOWER_IS_BETTER
from seedbed.evaluation.sweep import Evaluation
from seedbed.tracking.runs import Run, get_run, list_runs, metric_history
from seedbed.workspace import Workspace

PARENT_TAG = "mlflow.parentRunId"
LEAKAGE_TAG = "seedbed.leakage"
ERROR_TAG = "seedbed.error"  # a child run that failed says why
COST_METRICS = ("fit_seconds", "latency_ms_per_row", "model_bytes")


@dataclass
class Child:
    run: Run
    folds: dict[str, dict[int, float]]  # metric -> fold -> value

    @property
    def kind(self) -> str:
        return self.run.tags.get("seedbed.kind", "model")


def child_runs(workspace: Workspace, evaluation: Evaluation) -> list[Child]:
    """The evaluation's child runs, by combination index, with their per-fold CV series."""
    metrics = list(evaluation.spec.get("metrics") or [evaluation.primary_metric])
    found = []
    for run in list_runs(workspace, evaluation.experiment_id):
        if run.tags.get(PARENT_TAG) != evaluation.id:
            continue
        folds = {}
        for metric in metrics:
            if f"cv_{metric}" in run.metrics:
                series = metric_history(workspace, run.id, f"cv_{metric}")
                folds[metric] = {p.step: p.value for p in series}  # the last point per fold
        found.append(Child(run, folds))
    return sorted(found, key=lambda c: (_index(c.run), c.run.start_time))


def _index(run: Run) -> int:
    text = run.tags.get("seedbed.combination", "")
    return int(text) if text.isdigit() else 10**6


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def paired_difference(
    model: dict[int, float], baseline: dict[int, float]
) -> dict[str, float | int] | None:
    """Mean of the per-fold differences model - baseline and its standard error."""
    folds = sorted(set(model) & set(baseline))
    diffs = [model[k] - baseline[k] for k in folds]
    diffs = [d for d in diffs if math.isfinite(d)]
    if not diffs:
        return None
    se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.nan
    return {"mean": statistics.fmean(diffs), "se": se, "folds": len(diffs)}


def _score(child: Child, metric: str) -> float | None:
    """The value a child is ranked by: its test value, else its CV mean."""
    value = _finite(child.run.metrics.get(f"test_{metric}"))
    return value if value is not None else _finite(child.run.metrics.get(f"cv_{metric}_mean"))


def _better(a: float, b: float, lower: bool) -> bool:
    return a < b if lower else a > b


def _best(children: list[Child], metric: str, lower: bool) -> Child | None:
    scored = [(s, c) for c in children if (s := _score(c, metric)) is not None]
    if not scored:
        return None
    return sorted(scored, key=lambda pair: pair[0] if lower else -pair[0])[0][1]


def leaderboard(children: list[Child], metric: str, labels: dict[int, str]) -> list[dict[str, Any]]:
    """One row per child, ranked on `metric`, with the paired difference to the best baseline."""
    lower = metric in LOWER_IS_BETTER
    baseline = _best([c for c in children if c.kind == "baseline"], metric, lower)
    ranked = sorted(
        children,
        key=lambda c: (
            _score(c, metric) is None,
            (_score(c, metric) or 0.0) * (1 if lower else -1),
        ),
    )
    rows = []
    for position, child in enumerate(ranked, start=1):
        run = child.run
        score = _score(child, metric)
        row: dict[str, Any] = {
            "run_id": run.id,
            "run_name": run.name,
            "label": labels.get(_index(run), run.name),
            "kind": child.kind,
            "algorithm": run.tags.get("seedbed.algorithm", ""),
            "feature_set": run.tags.get("seedbed.feature_set", ""),
            "combination": _index(run),
            "status": run.status,
            "rank": position if score is not None else None,
            "test": _finite(run.metrics.get(f"test_{metric}")),
            "cv_mean": _finite(run.metrics.get(f"cv_{metric}_mean")),
            "cv_std": _finite(run.metrics.get(f"cv_{metric}_std")),
            "leakage": run.tags.get(LEAKAGE_TAG) == "true",
            "error": run.tags.get(ERROR_TAG),
            "best_baseline": baseline is not None and child.run.id == baseline.run.id,
            "diff": None,
        }
        for name in COST_METRICS:
            row[name] = _finite(run.metrics.get(name))
        if baseline is not None and child is not baseline:
            row["diff"] = _difference(child, baseline, metric, row["test"])
        rows.append(row)
    return rows


def _difference(
    child: Child, baseline: Child, metric: str, test: float | None
) -> dict[str, Any] | None:
    """The paired CV difference to the baseline (mean, se, folds), the test difference, and
    whether the model is better (`clear` when the mean is over two standard errors from 0)."""
    lower = metric in LOWER_IS_BETTER
    paired = paired_difference(child.folds.get(metric, {}), baseline.folds.get(metric, {}))
    base_test = _finite(baseline.run.metrics.get(f"test_{metric}"))
    test_diff = test - base_test if test is not None and base_test is not None else None
    if paired is None and test_diff is None:
        return None
    found: dict[str, Any] = {"mean": None, "se": None, "folds": 0, **(paired or {})}
    found["test"] = test_diff
    mean = found["mean"] if found["mean"] is not None else test_diff
    se = found["se"]
    found["better"] = None if mean is None else _better(mean, 0.0, lower)
    found["clear"] = bool(
        mean is not None and se is not None and math.isfinite(se) and abs(mean) > 2 * se
    )
    return found


def other_metrics(children: list[Child], metrics: list[str]) -> dict[str, dict[str, Any]]:
    """Per run: each metric's test value and CV mean and std."""
    found: dict[str, dict[str, Any]] = {}
    for child in children:
        values = child.run.metrics
        found[child.run.id] = {
            m: {
                "test": _finite(values.get(f"test_{m}")),
                "cv_mean": _finite(values.get(f"cv_{m}_mean")),
                "cv_std": _finite(values.get(f"cv_{m}_std")),
            }
            for m in metrics
        }
    return found


def read_artifact(workspace: Workspace, run: Run, path: str) -> Any:
    """A JSON artifact of a run, or None when it has none (or it is not JSON)."""
    key = f"{run.artifact_key}/{path}"
    if not workspace.artifacts.exists(key):
        return None
    try:
        return json.loads(workspace.artifacts.get_bytes(key))
    except ValueError:
        return None


def slice_tables(
    slices: dict[str, dict[str, Any]], children: list[Child], metric: str, labels: dict[int, str]
) -> list[dict[str, Any]]:
    """Per slice column: each run's value per segment, `worse` where a model does worse than
    the best baseline on that segment. `slices` maps run id -> its slices.json."""
    lower = metric in LOWER_IS_BETTER
    columns: dict[str, list[str]] = {}
    for per_run in slices.values():
        for column, segments in (per_run or {}).items():
            known = columns.setdefault(column, [])
            known.extend(str(s) for s in segments if str(s) not in known)
    tables = []
    for column, segments in columns.items():
        base: dict[str, float] = {}
        for child in children:
            if child.kind != "baseline":
                continue
            for segment, value in _segment_values(slices.get(child.run.id), column, metric).items():
                if segment not in base or _better(value, base[segment], lower):
                    base[segment] = value
        rows = []
        for child in children:
            values = _segment_values(slices.get(child.run.id), column, metric)
            if not values:
                continue
            found = (slices.get(child.run.id) or {}).get(column, {})
            cells = {
                segment: {
                    "value": values.get(segment),
                    "rows": (found.get(segment) or {}).get("rows"),
                    "worse": child.kind == "model"
                    and segment in values
                    and segment in base
                    and _better(base[segment], values[segment], lower),
                }
                for segment in segments
            }
            rows.append(
                {
                    "run_id": child.run.id,
                    "label": labels.get(_index(child.run), child.run.name),
                    "kind": child.kind,
                    "cells": cells,
                }
            )
        tables.append(
            {
                "column": column,
                "metric": metric,
                "segments": segments,
                "baseline": base,
                "rows": rows,
            }
        )
    return tables


def _segment_values(per_run: Any, column: str, metric: str) -> dict[str, float]:
    found = {}
    for segment, values in ((per_run or {}).get(column) or {}).items():
        value = values.get(metric) if isinstance(values, dict) else None
        if isinstance(value, int | float) and math.isfinite(value):
            found[str(segment)] = float(value)
    return found


def leakage_warnings(
    leakage: dict[str, Any], children: list[Child], labels: dict[int, str]
) -> list[dict[str, Any]]:
    """Every run's leakage warnings (its leakage.json, or its `seedbed.leakage` tag alone)."""
    found = []
    for child in children:
        raw = leakage.get(child.run.id)
        warnings = _warning_texts(raw)
        if not warnings and child.run.tags.get(LEAKAGE_TAG) == "true":
            warnings = ["This run was flagged for target leakage."]
        if warnings:
            label = labels.get(_index(child.run), child.run.name)
            found.append({"run_id": child.run.id, "label": label, "warnings": warnings})
    return found


def _warning_texts(raw: Any) -> list[str]:
    if isinstance(raw, dict):
        raw = raw.get("warnings", [raw] if raw else [])
    if not isinstance(raw, list):
        return []
    texts = []
    for item in raw:
        if isinstance(item, dict):
            texts.append(str(item.get("message") or item.get("warning") or json.dumps(item)))
        else:
            texts.append(str(item))
    return texts


def build(workspace: Workspace, evaluation: Evaluation) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    metric = evaluation.primary_metric
    metrics = list(evaluation.spec.get("metrics") or [metric])
    children = child_runs(workspace, evaluation)
    labels = {job.index: job.label for job in evaluation.jobs}
    rows = leaderboard(children, metric, labels)
    slices = {c.run.id: read_artifact(workspace, c.run, "evaluation/slices.json") for c in children}
    leakage = {
        c.run.id: read_artifact(workspace, c.run, "evaluation/leakage.json") for c in children
    }
    models = [r for r in rows if r["kind"] == "model" and r["rank"] is not None]
    logged = {_index(c.run): c.run for c in children}
    return {
        "primary_metric": metric,
        "lower_is_better": metric in LOWER_IS_BETTER,
        "metrics": metrics,
        "leakage": leakage_warnings(leakage, children, labels),
        "leaderboard": rows,
        "best_model": models[0] if models else None,
        "best_baseline": next((r for r in rows if r["best_baseline"]), None),
        "other_metrics": other_metrics(children, metrics),
        "slices": slice_tables(slices, children, metric, labels),
        "unfinished": [
            {
                **job.__dict__,
                "logged": job.index in logged,
                "run_id": logged[job.index].id if job.index in logged else None,
                "error": logged[job.index].tags.get(ERROR_TAG) if job.index in logged else None,
            }
            for job in evaluation.jobs
            if job.status != states.SUCCEEDED
        ],
    }


def run_artifacts(workspace: Workspace, run_id: str) -> dict[str, Any]:
    """One child run's curves and permutation importance, for the report's charts."""
    try:
        run = get_run(workspace, run_id)
    except NotFound:
        return {"curves": None, "importance": None}
    return {
        "curves": read_artifact(workspace, run, "evaluation/curves.json"),
        "importance": read_artifact(workspace, run, "evaluation/importance.json"),
    }
