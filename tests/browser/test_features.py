"""The Features pages in a real browser: the catalog lists the registered views, its search
box narrows them, and a view's page shows its features with statistics and their lineage
(training set → run → model), whose links lead to the dataset, run and model pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
import pytest
from playwright.sync_api import Browser, expect

from registry_models import log_small_model
from seedbed.data import datasets
from seedbed.features import registry, training_sets
from seedbed.features.definitions import Aggregate, Entity, Feature, FeatureView, Source, build_spec
from seedbed.registry.models import register_version
from seedbed.settings import load_settings
from seedbed.workspace import Workspace
from server_process import SeedbedServer

from .conftest import Tab, open_tab

pytestmark = pytest.mark.browser

START = dt.datetime(2024, 1, 1, 8)


def prepare(workspace: Workspace) -> None:
    """Two views, a training set built from one, a run that read it and a model of that run."""
    hours = range(6)
    workspace.warehouse.load_dataframe(
        "readings",
        pd.DataFrame(
            {
                "station": ["a", "b"] * len(hours),
                "at": [START + dt.timedelta(hours=h) for h in hours for _ in (0, 1)],
                "temp": [float(h) for h in hours for _ in (0, 1)],
            }
        ),
    )
    workspace.warehouse.load_dataframe(
        "stations", pd.DataFrame({"station": ["a", "b"], "altitude": [120.0, 800.0]})
    )
    station = Entity("station", description="A weather station")
    views = [
        FeatureView(
            "weather",
            [station],
            Source(table="readings", timestamp="at"),
            features=[Feature("temp", description="Air temperature")],
            aggregations=[Aggregate("temp", "max", "1d")],
            ttl="3h",
            owner="ana",
            description="Hourly readings",
        ),
        FeatureView(
            "sites",
            [station],
            Source(table="stations"),
            features=["altitude"],
            owner="bo",
            description="Where each station stands",
        ),
    ]
    registry.apply(workspace, build_spec(views), "ana")
    entity = pa.table({"station": ["a", "b"], "ts": [START + dt.timedelta(hours=4)] * 2})
    built, parents = training_sets.build(
        workspace, entity, ["weather:temp", "weather:temp_max_1d"], timestamp="ts"
    )
    saved = training_sets.save(workspace, built, "temps", None, parents, {})
    run = log_small_model(workspace)
    datasets.record_run_input(workspace, run.id, "temps", saved.version)
    register_version(workspace, "forecaster", run.id)


@pytest.fixture(scope="module")
def features_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    root = tmp_path_factory.mktemp("features-browser") / "ws"
    with Workspace.open(load_settings(workspace=root, port=0)) as workspace:
        prepare(workspace)
    with SeedbedServer(root) as server:
        yield server


@pytest.fixture
def features_tab(chromium: Browser, features_server: SeedbedServer) -> Iterator[Tab]:
    with open_tab(chromium, features_server.url) as opened:
        opened.page.goto(features_server.login_url)
        yield opened


def test_catalog_search_view_page_and_lineage(
    features_tab: Tab, features_server: SeedbedServer
) -> None:
    page = features_tab.page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Features").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Features")
    views = page.locator("table.feature-views tbody tr")
    expect(views).to_have_count(2)
    expect(page.locator("table.feature-versions")).to_contain_text("+ view weather (2 features)")

    page.get_by_label("Search views").fill("hourly")
    page.get_by_role("button", name="Filter").click()
    expect(views).to_have_count(1)
    expect(views.first).to_contain_text("weather")
    expect(views.first).to_contain_text("table readings")
    expect(views.first).to_contain_text("2024-01-01 13:00:00")  # the newest event
    expect(views.first).to_contain_text("ana")
    features_tab.shot("features-catalog")

    page.get_by_role("link", name="weather", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("weather")
    features = page.locator("table.view-features tbody tr")
    expect(features).to_have_count(2)
    expect(features.nth(0)).to_contain_text("Air temperature")
    expect(features.nth(0)).to_contain_text("0.0%")  # null share of temp
    expect(features.nth(1)).to_contain_text("max(temp) over 1d")
    lineage = page.locator("table.lineage tbody tr")
    expect(lineage).to_have_count(1)
    expect(lineage).to_contain_text("temps v1")
    expect(lineage).to_contain_text("forecaster v1")
    features_tab.shot("features-view")

    lineage.get_by_role("link", name="forecaster v1").click()
    expect(page).to_have_url(f"{features_server.url}/ui/models/forecaster")
    page.go_back()
    lineage.get_by_role("link", name="temps v1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("temps")
    features_tab.watch.assert_clean()
