"""What the run page gathers about a run: header facts, links, and thinned metric series."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from seedbed.data import datasets
from seedbed.errors import NotFound
from seedbed.registry import logged_models
from seedbed.tracking import run_view
from seedbed.tracking.experiments import get_or_create_experiment
from seedbed.tracking.inputs import DatasetInput, log_dataset_inputs
from seedbed.tracking.runs import LoggedMetric, Run, log_batch, log_metrics, start_run
from seedbed.workspace import Workspace


def new_run(workspace: Workspace, name: str = "r", **tags: str) -> Run:
    experiment = get_or_create_experiment(workspace, "e")
    return start_run(workspace, experiment.id, name=name, user="ada", tags=tags)


def test_a_long_series_reaches_the_chart_thinned_with_its_shape(workspace: Workspace) -> None:
    run = new_run(workspace)
    points = [
        LoggedMetric("loss", 1.0 / (i + 1), step=i, timestamp=1_000 + i) for i in range(100_000)
    ]
    points[54_321] = LoggedMetric("loss", 50.0, step=54_321, timestamp=1_000 + 54_321)  # a spike
    for start in range(0, len(points), 10_000):
        log_batch(workspace, run.id, points[start : start + 10_000])
    series = run_view.chart_series(workspace, run.id, "loss", max_points=50_000)
    assert series.total == 100_000
    assert len(series.values) <= run_view.CHART_POINTS  # the page's cap wins over the ask
    assert series.steps[0] == 0 and series.steps[-1] == 99_999
    assert 54_321 in series.steps and max(v for v in series.values if v is not None) == 50.0
    assert series.timestamps == [1_000 + s for s in series.steps]
    small = run_view.chart_series(workspace, run.id, "loss", max_points=100)
    assert len(small.values) <= 100


def test_nan_and_infinite_points_become_gaps(workspace: Workspace) -> None:
    run = new_run(workspace)
    for step, value in enumerate([1.0, math.nan, math.inf, 0.5]):
        log_metrics(workspace, run.id, {"x": value}, step=step)
    assert run_view.chart_series(workspace, run.id, "x").values == [1.0, None, None, 0.5]
    with pytest.raises(NotFound):
        run_view.chart_series(workspace, run.id, "never-logged")


def test_metrics_split_into_charts_and_latest_values(workspace: Workspace) -> None:
    run = new_run(workspace)
    log_metrics(workspace, run.id, {"auc": 0.8, "loss": 0.9}, step=0)
    log_metrics(workspace, run.id, {"loss": 0.4}, step=1)
    view = run_view.run_view(workspace, run.id)
    assert view.charted == [("loss", 2)]
    assert view.latest == [("auc", 0.8, 1), ("loss", 0.4, 2)]


def test_header_facts_parent_children_and_tags(workspace: Workspace) -> None:
    parent = new_run(workspace, "sweep")
    child = new_run(
        workspace,
        "trial-1",
        **{
            "mlflow.parentRunId": parent.id,
            "mlflow.source.git.commit": "a" * 40,
            "seedbed.resource_profile": "small",
            "mlflow.source.name": "train.py",
            "mlflow.note.content": "First try.",
            "mlflow.user": "ada",
            "team": "delays",
        },
    )
    view = run_view.run_view(workspace, child.id)
    assert view.facts == [
        ("Source", "mlflow.source.name", "train.py"),
        ("Git commit", "mlflow.source.git.commit", "a" * 40),
        ("Resource profile", "seedbed.resource_profile", "small"),
    ]
    assert view.parent is not None and view.parent.name == "sweep"
    assert view.note == "First try."
    assert view.user_tags == {"team": "delays"}
    assert view.system_tags == {"mlflow.user": "ada"}
    assert [c.name for c in run_view.run_view(workspace, parent.id).children] == ["trial-1"]
    orphan = new_run(workspace, "orphan", **{"mlflow.parentRunId": "f" * 32})
    shown = run_view.run_view(workspace, orphan.id)
    assert shown.parent is None and shown.parent_id == "f" * 32


def test_links_to_datasets_inputs_and_logged_models(workspace: Workspace, tmp_path: Path) -> None:
    run = new_run(workspace)
    path = tmp_path / "d.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(path)
    version, _ = datasets.publish_parquet(workspace, "flights", path, "digest-1", "upload")
    datasets.record_run_input(workspace, run.id, "flights", version.version)
    log_dataset_inputs(
        workspace,
        run.id,
        [DatasetInput("flights", "abc123"), DatasetInput("s3-extract", "def456", "s3", "s3://x")],
    )
    model = logged_models.create(workspace, run.experiment_id, "clf", source_run_id=run.id)
    other = new_run(workspace, "other")
    logged_models.create(workspace, run.experiment_id, "not-mine", source_run_id=other.id)
    view = run_view.run_view(workspace, run.id)
    assert view.datasets == [("flights", version.version)]
    assert [(d.input.name, d.in_seedbed) for d in view.declared] == [
        ("flights", True),
        ("s3-extract", False),
    ]
    assert [m.name for m in view.models] == ["clf"]
    assert run_view.get_logged_model(workspace, run, model.id).id == model.id
    with pytest.raises(NotFound):
        run_view.get_logged_model(workspace, other, model.id)
