"""Feedback in a real browser: a verdict given under a demo prediction shows on the model's
feedback page, whose charts Plotly draws."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from server_process import SeedbedServer

from .conftest import Tab

pytestmark = pytest.mark.browser

COMMENT = "browser-feedback: <b>fog</b> that night"


def test_feedback_from_the_demo_page_reaches_the_feedback_page(
    tab: Tab, demo_server: SeedbedServer
) -> None:
    page = tab.page
    page.goto(demo_server.login_url)
    page.goto(f"{demo_server.url}/ui/models/flight-delay/versions/champion/demo")
    page.get_by_role("button", name="Predict").click()
    form = page.locator("form.feedback-form")
    expect(form).to_be_visible()
    form.get_by_role("radio", name="Wrong").check()
    sent = json.loads(form.locator("input[name=prediction_json]").get_attribute("value") or "")
    other = "0" if str(sent["prediction"]) == "1" else "1"
    form.locator("select[name=label]").select_option(other)
    form.get_by_label("Comment", exact=True).fill(COMMENT)
    form.get_by_role("button", name="Send feedback").click()
    expect(page.locator(".feedback-thanks")).to_contain_text("Thanks — recorded (marked wrong")

    page.goto(f"{demo_server.url}/ui/models/flight-delay/feedback")
    row = page.locator("table.feedback-items tbody tr", has_text="browser-feedback")
    expect(row).to_have_count(1)
    expect(row.locator("td.comment")).to_have_text(COMMENT)  # shown as text, not markup
    expect(row).to_contain_text("wrong")
    expect(page.locator("#agreement-over-time .main-svg").first).to_be_visible()
    expect(page.locator("#agreement-by-segment .main-svg").first).to_be_visible()
    tab.shot("feedback-page")
    tab.watch.assert_clean()
