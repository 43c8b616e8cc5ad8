"""Evaluations in a real browser: the form builds a spec from a dataset's columns and
launches it; the report shows the leaderboard with the difference to the baseline, draws
its charts, highlights slices and registers a row's model; leakage warnings come first."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Browser, expect

import seedbed as sb
from server_process import SeedbedServer

from .conftest import Tab, open_tab

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("evaluation-browser") / "ws") as running:
        rng = np.random.default_rng(3)
        n = 1500
        x1, hour = rng.normal(size=n), rng.integers(5, 23, size=n)
        delayed = (x1 + 0.5 * (hour >= 17) + rng.normal(scale=0.7, size=n) > 0.6).astype(int)
        frame = pd.DataFrame(
            {
                "x1": x1,
                "hour": hour,
                "carrier": rng.choice(["UA", "AA"], size=n),
                "arrival_delayed": delayed,  # known only after the fact: a leak
                "delayed": delayed,
            }
        )
        with sb.connect(running.url, running.token) as ws:
            ws.datasets.upload(frame, name="flights")
        yield running


@pytest.fixture(scope="module")
def api(server: SeedbedServer) -> Iterator[httpx.Client]:
    headers = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def etab(chromium: Browser, server: SeedbedServer) -> Iterator[Tab]:
    with open_tab(chromium, server.url) as opened:
        opened.page.goto(server.login_url)
        yield opened


def until_final(api: httpx.Client, evaluation_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found: dict[str, Any] = api.get(f"/api/v1/evaluations/{evaluation_id}").json()
        if found["evaluation"]["final"]:
            return found
        time.sleep(0.5)
    raise AssertionError(f"evaluation {evaluation_id} did not end")


def test_the_form_launches_an_evaluation_and_the_report_registers_a_model(
    etab: Tab, api: httpx.Client, server: SeedbedServer
) -> None:
    page = etab.page
    page.goto(f"{server.url}/ui/evaluations")
    page.get_by_role("link", name="build one from a dataset").click()
    page.locator("#pick-dataset").select_option("flights")
    page.get_by_role("button", name="Show its columns").click()
    form = page.locator("form.evaluation-form")
    form.locator("select[name=target]").select_option("delayed")
    # launching without features is refused with the spec's problem, nothing made
    etab.watch.allow(400, "/ui/evaluations/new")
    form.locator("input[name=algorithms][value=LogisticRegression]").check()
    form.get_by_role("button", name="Launch evaluation").click()
    expect(page.get_by_role("alert")).to_contain_text("feature set 'features' is empty")
    assert api.get("/api/v1/evaluations").json() == []

    form = page.locator("form.evaluation-form")
    for column in ("x1", "hour", "carrier"):
        form.locator(f"input[name=features][value={column}]").check()
    form.locator("input[name=algorithms][value=DecisionTreeClassifier]").check()
    form.locator("input[name=slices][value=carrier]").check()
    form.locator("input[name=rule]").fill("hour >= 17")
    form.locator("input[name=cv_folds]").fill("3")
    form.get_by_role("button", name="Launch evaluation").click()
    expect(page).to_have_url(re.compile(r"/ui/evaluations/[0-9a-f]{32}$"))
    evaluation_id = page.url.rsplit("/", 1)[1]
    done = until_final(api, evaluation_id)
    assert done["evaluation"]["status"] == "succeeded", done["report"]["unfinished"]

    page.reload()
    expect(page.locator("#evaluation-state")).to_have_text("succeeded")
    rows = page.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(4)  # majority, the rule, two models
    expect(page.locator("#leaderboard")).to_contain_text("baseline: rule")
    best = page.locator("#leaderboard tbody tr").first
    expect(best.locator("td.diff")).to_have_text(re.compile(r"^\+0\.\d{4} ± 0\.\d{4}"))
    expect(page.locator("#chart-roc .main-svg").first).to_be_visible()
    expect(page.locator("#chart-confusion .main-svg").first).to_be_visible()
    expect(page.locator("#chart-importance .main-svg").first).to_be_visible()
    # the best model and the best baseline overlay on the ROC chart; regression and
    # clustering charts stay hidden for a classifier
    expect(page.locator("#chart-roc .scatterlayer .trace")).to_have_count(3)
    expect(page.locator("#chart-residuals")).to_be_hidden()
    expect(page.locator("#chart-clusters")).to_be_hidden()
    expect(page.locator("table.slices[data-column=carrier]")).to_be_visible()
    expect(page.locator("section.leakage")).to_have_count(0)
    etab.shot("evaluation-report")

    best.get_by_text("Register", exact=True).first.click()
    best.locator("input[name=model_name]").fill("delay-model")
    best.locator("input[name=alias]").fill("challenger")
    best.get_by_role("button", name="Register").click()
    expect(page.get_by_role("status")).to_contain_text("Registered delay-model v1")
    version = api.get("/api/v1/models/delay-model/versions/challenger").json()
    assert version["run_id"] == best.get_attribute("data-run")
    etab.watch.assert_clean()


def test_leakage_is_raised_at_the_top_of_the_report(
    etab: Tab, api: httpx.Client, server: SeedbedServer
) -> None:
    spec = {
        "name": "leaky",
        "dataset": "flights",
        "target": "delayed",
        "cv_folds": 3,
        "feature_sets": {"leaky": ["x1", "arrival_delayed"]},
        "algorithms": [{"estimator": "DecisionTreeClassifier", "params": {"max_depth": 3}}],
        "baselines": [{"kind": "majority"}],
    }
    started = api.post("/api/v1/evaluations", json={"spec": spec})
    assert started.status_code == 201, started.text
    until_final(api, started.json()["id"])
    page = etab.page
    page.goto(f"{server.url}/ui/evaluations/{started.json()['id']}")
    alert = page.locator("section.leakage")
    expect(alert).to_contain_text("arrival_delayed")
    # the warning comes before the leaderboard
    assert page.evaluate(
        "document.querySelector('section.leakage').compareDocumentPosition("
        "document.querySelector('#leaderboard')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    expect(page.locator("#leaderboard tr.leaky")).to_have_count(1)
    page.goto(f"{server.url}/ui/evaluations")
    expect(page.locator("table.evaluations")).to_contain_text("leaky")
    etab.watch.assert_clean()
