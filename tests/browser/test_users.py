"""Users in a real browser: an admin logs in with a password, adds a viewer on the admin
page, and the viewer logs in and meets a viewer's limits."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from server_process import SeedbedServer

from .conftest import Tab, open_tab

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def users_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    """A server of its own: the users added here stay out of the demo's recent activity."""
    with SeedbedServer(tmp_path_factory.mktemp("users-browser") / "ws") as server:
        answer = httpx.put(
            f"{server.url}/api/v1/users/admin/password",
            json={"password": "admin pass 1"},
            headers={"Authorization": f"Bearer {server.token}"},
        )
        assert answer.status_code == 204
        yield server


@pytest.fixture
def users_tab(chromium: Browser, users_server: SeedbedServer) -> Iterator[Tab]:
    with open_tab(chromium, users_server.url) as opened:
        yield opened


def log_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_admin_adds_a_viewer_who_meets_a_viewers_limits(
    users_tab: Tab, users_server: SeedbedServer
) -> None:
    page, watch = users_tab.page, users_tab.watch
    watch.allow(401, "/login")
    watch.allow(403, "/ui/admin")
    page.goto(f"{users_server.url}/ui/admin")
    expect(page).to_have_url(f"{users_server.url}/login?next=%2Fui%2Fadmin")
    log_in(page, "admin", "not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    log_in(page, "admin", "admin pass 1")
    expect(page.get_by_role("heading", level=1)).to_have_text("Admin: users")

    form = page.locator("form.add-user")
    form.get_by_label("Username").fill("vera")
    form.get_by_label("Display name").fill("<script>alert('x')</script> Vera")
    form.get_by_label("Role").select_option("viewer")
    form.get_by_label("Password").fill("vera pass 1")
    form.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_have_text("Added vera as a viewer.")
    row = page.locator("tr[data-user=vera]")
    expect(row).to_contain_text("<script>alert('x')</script> Vera")  # shown as text
    expect(row.get_by_label("Role of vera")).to_have_value("viewer")
    users_tab.shot("users-admin")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{users_server.url}/login")
    log_in(page, "vera", "vera pass 1")
    expect(page.get_by_role("heading", level=1)).to_have_text("Workspace")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Data")).to_be_visible()
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    expect(nav.locator(".who")).to_contain_text("vera viewer")

    page.goto(f"{users_server.url}/ui/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.locator("main")).to_contain_text("vera is a viewer; this needs the admin role.")

    nav.get_by_role("link", name="vera").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My API tokens")
    page.get_by_label("Name").fill("notebook")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator(".new-token code")).to_contain_text("sb_")
    expect(page.locator("table.tokens")).to_contain_text("notebook")
    watch.assert_clean()
