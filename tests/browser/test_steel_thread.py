"""The steel thread in a real browser: log in, browse data, compare runs, try the champion."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from server_process import SeedbedServer

from .conftest import Tab

pytestmark = pytest.mark.browser

DEMO_FIELDS = [
    "carrier",
    "origin",
    "month",
    "weekday",
    "sched_hour",
    "distance",
    "temp",
    "wind_speed",
    "precip",
    "visib",
]


def nav_to(page: Page, label: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(label)


def probabilities_sum(page: Page) -> float:
    cells = page.locator("#prediction table.probabilities tbody td.num").all_inner_texts()
    assert cells, "the prediction shows no class probabilities"
    return sum(float(text.rstrip("%")) for text in cells)


def test_steel_thread(tab: Tab, demo_server: SeedbedServer) -> None:
    page = tab.page

    # Home: the login link lands on the workspace overview.
    page.goto(demo_server.login_url)
    expect(page).to_have_url(f"{demo_server.url}/ui/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Workspace")
    cards = page.locator(".cards")
    for label in ("Warehouse tables", "Experiments", "Runs", "Registered models"):
        expect(cards).to_contain_text(label, ignore_case=True)
    expect(page.get_by_role("heading", name="Recent activity")).to_be_visible()
    # other browser tests share this server, so the newest events vary: at least one shows
    expect(page.locator("table.grid").first.locator("tbody tr").first).to_contain_text("admin")
    tab.shot("01-home")

    # Data: the warehouse tables, then the flights table's schema and first rows.
    nav_to(page, "Data")
    expect(page.get_by_role("link", name="flights", exact=True)).to_be_visible()
    tab.shot("02-data")
    page.get_by_role("link", name="flights", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("flights")
    expect(page.locator("table.schema")).to_contain_text("dep_delay")
    expect(page.get_by_role("heading", name=re.compile(r"^First \d+ rows$"))).to_be_visible()
    preview = page.locator(".preview table.grid")
    expect(preview.locator("thead")).to_contain_text("dep_delay")
    assert preview.locator("tbody tr").count() > 0
    tab.shot("03-table-flights")

    # Experiments: the finished comparison of the business rule with a model.
    nav_to(page, "Experiments")
    page.get_by_role("link", name="flight-delays", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("flight-delays")
    runs = page.locator("table.runs")
    expect(runs.locator("thead")).to_contain_text("roc_auc")
    expect(runs.get_by_role("link", name="business-rule", exact=True)).to_be_visible()
    expect(runs.get_by_role("link", name="gradient-boosting", exact=True)).to_be_visible()
    tab.shot("04-experiment")

    # Run: params, metrics and the model version it became.
    runs.get_by_role("link", name="gradient-boosting", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("gradient-boosting")
    expect(page.locator("table.metrics")).to_contain_text("roc_auc")
    assert page.locator("table.params tbody tr").count() > 0
    expect(page.get_by_role("heading", name="Registered as")).to_be_visible()
    expect(page.get_by_role("link", name="flight-delay", exact=True)).to_be_visible()
    tab.shot("05-run")

    # Models: the champion, its versions, and the demo page.
    nav_to(page, "Models")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="flight-delay"))
    expect(row.locator(".badge.champion")).to_contain_text("champion")
    tab.shot("06-models")
    row.get_by_role("link", name="flight-delay").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("flight-delay")
    champion = page.get_by_role("row").filter(has=page.locator(".badge.champion"))
    champion.get_by_role("link", name="Try the demo").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("flight-delay")

    # Demo form: one field per model input, filled in from the input example.
    for name in DEMO_FIELDS:
        control = page.get_by_label(name, exact=False).first
        expect(control).to_be_visible()
        expect(control).not_to_have_value("")
    tab.shot("07-demo-form")

    page.get_by_label("origin").select_option("LGA")
    page.get_by_label("sched_hour").fill("19")
    page.get_by_role("button", name="Predict").click()
    expect(page.locator("#prediction")).to_contain_text("Prediction:")
    # The classes carry readable names, not 0 and 1.
    expect(page.locator("#prediction h2")).to_contain_text(re.compile("on time|delayed > 15 min"))
    assert abs(probabilities_sum(page) - 100) < 0.5
    expect(page).to_have_url(re.compile(r"/demo$"))  # htmx swapped the result in place
    tab.shot("08-prediction")

    # A fractional hour: the browser says what is wrong and sends nothing (checked below).
    page.get_by_label("sched_hour").fill("1.5")
    page.get_by_role("button", name="Predict").click()
    message = page.get_by_label("sched_hour").evaluate("el => el.validationMessage")
    assert "valid value" in message, message

    # A missing hour reaches the server, which answers with a message, not a crash.
    page.get_by_label("sched_hour").fill("")
    page.get_by_role("button", name="Predict").click()
    error = page.locator("#prediction .alert.error")
    expect(error).to_contain_text("sched_hour")
    expect(error).to_contain_text("required")
    expect(page.locator("#prediction")).not_to_contain_text("Prediction:")
    tab.shot("09-prediction-error")
    demo_path = urlsplit(page.url).path
    assert tab.watch.posts == [demo_path, demo_path], "19 and the empty hour; never 1.5"

    tab.watch.assert_clean()


def test_login_with_token(tab: Tab, demo_server: SeedbedServer) -> None:
    page = tab.page
    tab.watch.allow(401, "/login")  # the deliberately wrong token

    page.goto(f"{demo_server.url}/ui/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to seedbed")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_count(1)
    tab.shot("10-login")

    page.get_by_label("API token").fill("sb_not-the-right-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".alert.error")).to_contain_text("not valid")
    tab.shot("11-login-wrong-token")

    page.get_by_label("API token").fill(demo_server.token)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{demo_server.url}/ui/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Workspace")
    tab.watch.assert_clean()
