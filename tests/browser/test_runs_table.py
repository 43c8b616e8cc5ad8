"""The runs table and the compare view in a real browser: sort, filter, page, choose columns,
differences only, pick runs and compare them (curves and parallel coordinates drawn)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect

from server_process import SeedbedServer

from .conftest import Tab

pytestmark = pytest.mark.browser

RUNS = 60  # more than a page of 50


@dataclass(frozen=True)
class Sweep:
    experiment_id: int
    name: str

    @property
    def path(self) -> str:
        return f"/ui/experiments/{self.experiment_id}"


def auc(n: int) -> float:
    return round(0.5 + ((n * 37) % RUNS) / 1000, 4)


@pytest.fixture(scope="module")
def sweep_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    """A server of its own, so that these runs stay out of the shared demo workspace."""
    with SeedbedServer(tmp_path_factory.mktemp("runs-table") / "ws") as server:
        yield server


@pytest.fixture(scope="module")
def sweep(sweep_server: SeedbedServer) -> Sweep:
    """An experiment of 60 runs: `model` alternates, `seed` is constant, `loss` has three
    steps (a curve)."""
    name = f"browser-sweep-{uuid.uuid4().hex[:6]}"
    with httpx.Client(
        base_url=sweep_server.url,
        headers={"authorization": f"Bearer {sweep_server.token}"},
        timeout=30,
    ) as api:
        for n in range(RUNS):
            made = api.post("/api/v1/runs", json={"experiment": name, "name": f"r-{n:02d}"})
            run_id = made.json()["id"]
            params = {"model": "lgbm" if n % 2 else "linear", "C": n / 10, "seed": 13}
            api.post(f"/api/v1/runs/{run_id}/params", json={"params": params}).raise_for_status()
            api.post(
                f"/api/v1/runs/{run_id}/metrics", json={"metrics": {"auc": auc(n)}}
            ).raise_for_status()
            for step in range(3):
                api.post(
                    f"/api/v1/runs/{run_id}/metrics",
                    json={"metrics": {"loss": 1 / (n + step + 1)}, "step": step},
                ).raise_for_status()
            api.post(f"/api/v1/runs/{run_id}/tags", json={"tags": {"kind": "sweep"}})
            api.post(f"/api/v1/runs/{run_id}/end", json={"status": "FINISHED"})
        experiment = next(e for e in api.get("/api/v1/experiments").json() if e["name"] == name)
    return Sweep(experiment["id"], name)


def go(page: Page, url: str) -> None:
    """Navigate once the page is idle: leaving earlier aborts its favicon request, which
    the Watch reports as a failure."""
    page.wait_for_load_state("networkidle")
    page.goto(url)
    page.wait_for_load_state()  # deferred scripts (runs.js) are listening from here on


def log_in(tab: Tab, server: SeedbedServer, then: str) -> None:
    """Log in to `server` and open `then`; the Watch checks that server's answers."""
    tab.watch.server_url = server.url
    tab.page.goto(f"{server.url}/login?token={server.token}")
    expect(tab.page.get_by_role("heading", level=1)).to_have_text("Workspace")
    go(tab.page, server.url + then)


def names(page: Page) -> list[str]:
    return page.locator("table.runs tbody tr td:nth-child(2)").all_inner_texts()


def headings(page: Page) -> list[str]:
    return page.locator("table.runs thead th[data-column]").evaluate_all(
        "cells => cells.map(c => c.dataset.column)"
    )


def test_sort_filter_page_and_back(tab: Tab, sweep_server: SeedbedServer, sweep: Sweep) -> None:
    page = tab.page
    log_in(tab, sweep_server, sweep.path)
    expect(page.locator("table.runs tbody tr")).to_have_count(50)
    expect(page.locator(".runs-count")).to_have_text(f"Runs 1\N{EN DASH}50 of {RUNS}.")

    # A click on a heading sorts by it, best first for a metric; a second click flips it.
    page.locator('th[data-column="metrics.auc"] a').click()
    best = max(range(RUNS), key=auc)
    expect(page.locator("table.runs tbody tr").first).to_contain_text(f"r-{best:02d}")
    expect(page.locator('th[data-column="metrics.auc"]')).to_have_attribute(
        "aria-sort", "descending"
    )
    assert "sort=metrics.auc+desc" in page.url
    page.locator('th[data-column="metrics.auc"] a').click()
    worst = min(range(RUNS), key=auc)
    expect(page.locator("table.runs tbody tr").first).to_contain_text(f"r-{worst:02d}")
    tab.shot("40-runs-sorted")

    # The filter keeps the sort and starts again at the first page.
    page.get_by_label("Filter").fill("params.model = 'lgbm' and metrics.auc >= 0.53")
    page.get_by_label("Filter").press("Enter")
    expected = sorted(
        (n for n in range(RUNS) if n % 2 and auc(n) >= 0.53), key=lambda n: (auc(n), n)
    )
    expect(page.locator(".runs-count")).to_contain_text(f"of {len(expected)} matching")
    assert names(page) == [f"r-{n:02d}" for n in expected]
    assert "filter=params.model" in page.url and "sort=metrics.auc%20asc" in page.url
    assert "col=" not in page.url  # no column was chosen: the default columns

    # A malformed filter: the message with its position, in place of the table.
    tab.watch.allow(400, sweep.path)
    page.get_by_label("Filter").fill("metrics.auc >> 0.5")
    page.get_by_label("Filter").press("Enter")
    expect(page.locator(".filter-error")).to_contain_text("filter error at position 14")
    expect(page.get_by_role("heading", level=1)).to_have_text(sweep.name)
    tab.shot("41-runs-filter-error")

    # Back: the previous filter, its rows and its text in the box.
    page.go_back()
    expect(page.locator(".runs-count")).to_contain_text(f"of {len(expected)} matching")
    expect(page.get_by_label("Filter")).to_have_value(
        "params.model = 'lgbm' and metrics.auc >= 0.53"
    )

    # Paging, with a bigger page size chosen from the list.
    page.get_by_label("Filter").fill("")
    page.get_by_label("Filter").press("Enter")
    page.get_by_role("link", name="Next →").click()
    expect(page.locator(".runs-count")).to_have_text(f"Runs 51\N{EN DASH}{RUNS} of {RUNS}.")
    expect(page.locator("table.runs tbody tr")).to_have_count(RUNS - 50)
    page.get_by_role("link", name="← Previous").click()
    expect(page.locator(".runs-count")).to_have_text(f"Runs 1\N{EN DASH}50 of {RUNS}.")
    page.get_by_label("Rows per page").select_option("100")
    expect(page.locator("table.runs tbody tr")).to_have_count(RUNS)
    tab.watch.assert_clean()


def test_column_chooser_is_remembered_per_experiment(
    tab: Tab, sweep_server: SeedbedServer, sweep: Sweep
) -> None:
    page = tab.page
    log_in(tab, sweep_server, sweep.path)
    assert headings(page)[4:] == [
        "metrics.auc",
        "metrics.loss",
        "params.C",
        "params.model",
        "params.seed",
    ]
    page.get_by_text("Columns", exact=True).click()
    chooser = page.locator("#column-chooser")
    chooser.get_by_label("seed").uncheck()
    expect(page.locator('th[data-column="params.seed"]')).to_have_count(0)
    chooser.get_by_label("kind").check()
    expect(page.locator('th[data-column="tags.kind"]')).to_have_count(1)
    expect(page.locator("table.runs tbody tr").first).to_contain_text("sweep")
    assert "col=tags.kind" in page.url
    tab.shot("42-runs-columns")

    # A plain link to the experiment shows the columns chosen last time in this browser.
    go(page, sweep_server.url + sweep.path)
    expect(page.locator('th[data-column="tags.kind"]')).to_have_count(1)
    assert "params.seed" not in headings(page)
    assert "col=tags.kind" in page.url  # the URL says so too, for a link to share
    # ...and another experiment keeps its own default columns.
    other = httpx.post(
        f"{sweep_server.url}/api/v1/runs",
        json={"experiment": f"other-{uuid.uuid4().hex[:6]}", "name": "lonely"},
        headers={"authorization": f"Bearer {sweep_server.token}"},
    ).json()
    go(page, f"{sweep_server.url}/ui/experiments/{other['experiment_id']}")
    expect(page.get_by_role("link", name="lonely", exact=True)).to_be_visible()
    assert "col=" not in page.url and "tags.kind" not in headings(page)
    tab.watch.assert_clean()


def test_differences_only_hides_identical_columns(
    tab: Tab, sweep_server: SeedbedServer, sweep: Sweep
) -> None:
    page = tab.page
    log_in(tab, sweep_server, sweep.path)
    expect(page.locator('th[data-column="params.seed"]')).to_have_count(1)
    page.get_by_label("Differences only").check()
    expect(page.locator('th[data-column="params.seed"]')).to_have_count(0)
    expect(page.locator('th[data-column="params.model"]')).to_have_count(1)
    expect(page.locator(".hidden-same")).to_contain_text("seed")
    assert "diff=1" in page.url
    page.get_by_label("Differences only").uncheck()
    expect(page.locator('th[data-column="params.seed"]')).to_have_count(1)
    tab.watch.assert_clean()


def test_select_runs_and_compare(tab: Tab, sweep_server: SeedbedServer, sweep: Sweep) -> None:
    page = tab.page
    log_in(tab, sweep_server, sweep.path)
    compare = page.get_by_role("button", name="Compare")
    expect(compare).to_be_disabled()
    rows = page.locator("table.runs tbody tr")
    picked = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)]
    for i in range(3):
        rows.nth(i).get_by_role("checkbox").check()
    expect(page.locator("#selected-count")).to_have_text("3 runs selected.")
    expect(compare).to_be_enabled()
    compare.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Compare 3 runs")
    assert re.search(r"/ui/compare\?runs=\w+,\w+,\w+$", page.url)
    expect(page.locator("table.compare-runs thead")).to_contain_text(picked[0])
    params = page.locator("#param-table")
    expect(params.locator("tr.differs")).to_have_count(2)  # C and model; seed is the same
    expect(params.locator("tr.same")).to_contain_text("seed")
    page.get_by_label("Differences only").check()
    expect(params.locator("tr.same")).to_be_hidden()
    expect(page.locator("#metric-table td.best")).to_have_count(2)  # one for auc, one for loss

    # One chart per metric with a history, a line per run; parallel coordinates over params.
    curve = page.locator('.chart.curve[data-key="loss"]')
    expect(curve.locator(".main-svg").first).to_be_visible()
    assert curve.evaluate("el => el.data.map(t => t.name)") == picked
    parcoords = page.locator("#parcoords")
    expect(parcoords.locator(".main-svg").first).to_be_visible()
    expect(parcoords.locator(".scatterlayer .trace")).to_have_count(3)  # a line per run
    axes = parcoords.evaluate("el => el.layout.annotations.filter(a => a.y > 1).map(a => a.text)")
    assert axes == ["<b>C</b>", "<b>model</b>", "<b>auc</b>"]
    page.get_by_label("Colour and last axis").select_option("loss")
    expect(parcoords.locator(".annotation-text", has_text="loss")).to_have_count(1)
    tab.shot("43-compare")
    tab.watch.assert_clean()


def test_compare_the_demo_baseline_with_the_models(tab: Tab, demo_server: SeedbedServer) -> None:
    page = tab.page
    log_in(tab, demo_server, "/ui/experiments")
    page.get_by_role("link", name="flight-delays", exact=True).click()
    page.wait_for_load_state()
    page.get_by_label("Select every run on this page").check()
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare 3 runs")
    expect(page.locator("#metric-table")).to_contain_text("roc_auc")
    curve = page.locator('.chart.curve[data-key="train_loss"]')
    expect(curve.locator(".main-svg").first).to_be_visible()
    assert curve.evaluate("el => el.data.length") == 2  # the two models logged a curve
    tab.shot("44-compare-demo")
    tab.watch.assert_clean()
