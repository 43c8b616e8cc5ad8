"""A share link in a real browser: an editor creates it with the CLI, a reviewer without an
account opens it, gives a name, predicts, reads the explanation and leaves feedback; once the
link is revoked it shows a 403 page."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect
from typer.testing import CliRunner

from seedbed.cli import app
from server_process import SeedbedServer

from .conftest import Tab

pytestmark = pytest.mark.browser


def share_cli(server: SeedbedServer, *args: str) -> str:
    env = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    result = CliRunner().invoke(app, ["share", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_reviewer_uses_a_share_link(tab: Tab, demo_server: SeedbedServer) -> None:
    page, watch = tab.page, tab.watch
    link = json.loads(
        share_cli(demo_server, "create", "flight-delay@champion", "--expires", "1h", "--json")
    )[0]
    listed = json.loads(share_cli(demo_server, "list", "flight-delay", "--json"))
    assert link["id"] in [item["id"] for item in listed]

    page.goto(link["url"])
    page.get_by_label("Your name").fill("Rita Reviewer")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".reviewer")).to_contain_text("Reviewing as Rita Reviewer")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_count(1)
    page.get_by_label("visib").fill("0.5")
    page.get_by_role("button", name="Predict").click()
    cells = page.locator("#prediction table.probabilities tbody td.num")
    expect(cells).to_have_count(2)
    total = sum(float(text.rstrip("%")) for text in cells.all_inner_texts())
    assert abs(total - 100) < 0.2
    expect(page.locator("table.contributions tbody tr").first).to_be_visible()
    tab.shot("share-link-prediction")

    form = page.locator("form.feedback-form")
    form.get_by_label("Right").check()
    form.get_by_label("Comment").fill("Looks plausible for a foggy evening.")
    form.get_by_role("button", name="Send feedback").click()
    expect(page.locator(".feedback-thanks")).to_contain_text("Thanks — recorded")

    share_cli(demo_server, "revoke", link["id"])
    path = link["url"].removeprefix(demo_server.url)
    watch.allow(403, path)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not open the model")
    expect(page.locator("main")).to_contain_text("was revoked")
    watch.assert_clean()
