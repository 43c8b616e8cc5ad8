"""The feature catalog: each view's freshness, statistics of its plain features (cached until
the source or the definitions change), lineage from features to training sets, runs and
models, and the Features pages and API that show them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from registry_models import log_small_model
from seedbed.data import datasets
from seedbed.errors import NotFound
from seedbed.features import catalog, registry, training_sets
from seedbed.features.definitions import (
    Aggregate,
    Derived,
    Entity,
    Feature,
    FeatureView,
    Source,
    build_spec,
)
from seedbed.registry.models import register_version
from seedbed.workspace import Workspace

START = dt.datetime(2024, 1, 1, 8)

station = Entity("station", join_keys=["station"], description="A weather station")


def readings(hours: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "station": ["a", "b"] * hours,
            "at": [START + dt.timedelta(hours=h) for h in range(hours) for _ in (0, 1)],
            "temp": [float(h) if h % 2 else None for h in range(hours) for _ in (0, 1)],
            "sky": ["clear", "rain"] * hours,
        }
    )


def weather_view(**changes: object) -> FeatureView:
    fields: dict[str, object] = {
        "name": "weather",
        "entities": [station],
        "source": Source(table="readings", timestamp="at"),
        "features": [Feature("temp", description="Air temperature, °C"), "sky"],
        "aggregations": [Aggregate("temp", "mean", "1d", name="temp_mean_1d")],
        "derived": [Derived("warm", "temp > 2")],
        "ttl": "3h",
        "owner": "ana",
        "description": "Hourly readings",
        "tags": {"team": "ops"},
    }
    fields.update(changes)
    return FeatureView(**fields)  # type: ignore[arg-type]


def register(workspace: Workspace, *views: FeatureView) -> int:
    applied = registry.apply(workspace, build_spec(views or [weather_view()]), "tester")
    assert applied.registered is not None
    return applied.registered.version


@pytest.fixture
def weather(workspace: Workspace) -> Workspace:
    workspace.warehouse.load_dataframe("readings", readings(4))
    register(workspace)
    return workspace


def test_nothing_registered_describes_an_empty_catalog(workspace: Workspace) -> None:
    assert catalog.describe(workspace) == {"version": None, "entities": [], "views": []}
    assert catalog.overview(workspace)["views"] == []
    with pytest.raises(NotFound, match="seedbed features apply"):
        catalog.view_detail(workspace, "weather")


def test_freshness_and_statistics_of_a_table_source(weather: Workspace) -> None:
    detail = catalog.view_detail(weather, "weather")
    assert detail["freshness"] == {
        "rows": 8,
        "newest_event": "2024-01-01 11:00:00",
        "dataset_version": None,
        "dataset_name": None,
        "dataset_number": None,
        "error": None,
    }
    assert detail["view"]["ttl"] == "3h" and detail["view"]["join_keys"] == ["station"]
    features = {f["name"]: f for f in detail["features"]}
    assert features["temp"]["statistics"] == {
        "rows": 8,
        "null_share": 0.5,
        "distinct": 2,
        "min": 1.0,
        "max": 3.0,
        "mean": 2.0,
        "withheld": False,
    }
    assert features["sky"]["statistics"]["min"] == "clear"
    assert features["sky"]["statistics"]["mean"] is None
    assert features["temp"]["definition"] == "temp"
    assert features["temp_mean_1d"]["definition"] == "mean(temp) over 1d"
    assert features["temp_mean_1d"]["statistics"] is None  # depends on each row's time
    assert features["warm"]["definition"] == "temp > 2"
    assert features["warm"]["dtype"] == "BOOLEAN"


def test_statistics_are_cached_until_the_source_changes(weather: Workspace) -> None:
    first = catalog.view_detail(weather, "weather")["features"][0]["statistics"]
    cached = list((weather.runtime_dir / catalog.STATS_FOLDER).glob("*.json"))
    assert len(cached) == 1
    # The same state of the source reads the stored statistics back: change them on disk
    # to see that nothing was recomputed.
    text = cached[0].read_text(encoding="utf-8").replace('"max": 3.0', '"max": 99.0')
    cached[0].write_text(text, encoding="utf-8")
    assert catalog.view_detail(weather, "weather")["features"][0]["statistics"]["max"] == 99.0
    weather.warehouse.load_dataframe("readings", readings(6))  # more rows, newer events
    again = catalog.view_detail(weather, "weather")
    assert again["freshness"]["rows"] == 12
    assert again["features"][0]["statistics"]["max"] == 5.0 != first["max"]


def test_a_dataset_source_reports_the_version_read(workspace: Workspace) -> None:
    frame = readings(3)
    datasets.publish_parquet(workspace, "obs", parquet_of(workspace, frame), "h1", "upload")
    view = weather_view(name="obs", source=Source(dataset="obs", timestamp="at"))
    register(workspace, view)
    fresh = catalog.view_detail(workspace, "obs")["freshness"]
    assert fresh["dataset_version"] == "obs@1" and fresh["rows"] == 6
    assert fresh["newest_event"] == "2024-01-01 10:00:00"


def parquet_of(workspace: Workspace, frame: pd.DataFrame) -> Path:
    path = workspace.root / "obs.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def test_a_dropped_source_is_reported_not_raised(weather: Workspace) -> None:
    weather.warehouse.cursor().execute("drop table readings")
    detail = catalog.view_detail(weather, "weather")
    assert "No warehouse table 'readings'" in detail["freshness"]["error"]
    assert all(f["statistics"] is None for f in detail["features"])


def test_search_matches_names_owners_entities_and_features(weather: Workspace) -> None:
    assert [v["name"] for v in catalog.overview(weather, "ANA hourly")["views"]] == ["weather"]
    assert [v["name"] for v in catalog.overview(weather, "temp_mean_1d")["views"]] == ["weather"]
    assert [v["name"] for v in catalog.overview(weather, "team=ops")["views"]] == ["weather"]
    found = catalog.overview(weather, "nothing-like-this")
    assert found["views"] == [] and found["total"] == 1


def test_lineage_from_features_to_training_sets_runs_and_models(weather: Workspace) -> None:
    entity = pa.table({"station": ["a", "b"], "ts": [START + dt.timedelta(hours=3)] * 2})
    built, parents = training_sets.build(
        weather, entity, ["weather:temp", "weather:temp_mean_1d"], timestamp="ts"
    )
    saved = training_sets.save(weather, built, "temps", None, parents, {})
    run = log_small_model(weather)
    datasets.record_run_input(weather, run.id, "temps", saved.version)
    model = register_version(weather, "forecaster", run.id)

    lineage = catalog.feature_lineage(weather)
    assert set(lineage) == {"weather:temp", "weather:temp_mean_1d"}
    (used,) = lineage["weather:temp"]
    assert (used["dataset"], used["version"], used["definitions_version"]) == ("temps", 1, 1)
    assert [r["id"] for r in used["runs"]] == [run.id]
    assert [(m["name"], m["version"]) for m in used["models"]] == [("forecaster", model.version)]

    detail = catalog.view_detail(weather, "weather")
    by_name = {f["name"]: f["training_sets"] for f in detail["features"]}
    assert by_name == {"temp": ["temps@1"], "sky": [], "temp_mean_1d": ["temps@1"], "warm": []}
    (training_set,) = detail["training_sets"]
    assert training_set["features"] == ["temp", "temp_mean_1d"]
    assert [r["id"] for r in detail["runs"]] == [run.id]
    assert [m["name"] for m in detail["models"]] == ["forecaster"]


def test_the_api_serves_a_view_and_404s_an_unknown_one(
    client: TestClient, local_workspace: Workspace
) -> None:
    local_workspace.warehouse.load_dataframe("readings", readings(4))
    register(local_workspace)
    answer = client.get("/api/v1/features/views/weather")
    assert answer.status_code == 200
    body = answer.json()
    assert body["view"]["name"] == "weather" and body["freshness"]["rows"] == 8
    assert [f["name"] for f in body["features"]] == ["temp", "sky", "temp_mean_1d", "warm"]
    missing = client.get("/api/v1/features/views/nope")
    assert missing.status_code == 404 and "views: weather" in missing.text
    assert client.get("/api/v1/features/lineage").json() == {}
    assert "/api/v1/features/views/{name}" in client.get("/api/v1/openapi.json").json()["paths"]


def test_the_pages_show_the_catalog_a_view_and_a_404(
    client: TestClient, local_workspace: Workspace
) -> None:
    empty = client.get("/ui/features")
    assert empty.status_code == 200
    assert "No feature definitions are registered yet" in empty.text
    assert "seedbed features apply" in empty.text
    local_workspace.warehouse.load_dataframe("readings", readings(4))
    register(local_workspace)
    page = client.get("/ui/features")
    assert 'href="/ui/features/weather"' in page.text and "Hourly readings" in page.text
    assert "+ view weather (4 features)" in page.text  # the version history
    filtered = client.get("/ui/features", params={"q": "no-such-view"})
    assert "No feature view matches" in filtered.text
    view = client.get("/ui/features/weather")
    assert view.status_code == 200
    assert "mean(temp) over 1d" in view.text and "50.0%" in view.text
    assert "No training set uses these features yet" in view.text
    unknown = client.get("/ui/features/nope")
    assert unknown.status_code == 404
    assert "No feature view &#39;nope&#39; is registered" in unknown.text
