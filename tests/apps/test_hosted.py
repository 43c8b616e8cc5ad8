"""Hosted apps end to end: a real server runs a real Streamlit app behind its login, proxied
over HTTP and WebSocket; the CLI serves, lists, stops; a browser sees the app render."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from server_process import SeedbedServer, run_cli

pytestmark = pytest.mark.e2e

APP = """\
import streamlit as st
import seedbed

st.title("Hosted check")
answer = int(seedbed.connect().sql("select 41 + 1 as x")["x"][0])
st.write(f"The answer is {answer}")
try:  # the app runs in <workspace>/apps/check: the metadata DB is two folders up
    with open("../../metadata.db", "rb") as handle:
        handle.read(16)
    st.write("The internals are open")
except OSError:
    st.write("The internals are closed")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("hosted") / "ws") as running:
        yield running


@pytest.fixture(scope="module")
def served(server: SeedbedServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """App `check`, served once through the CLI for the tests of this module."""
    script = tmp_path_factory.mktemp("app") / "app.py"
    script.write_text(APP, encoding="utf-8")
    done = run_cli("apps", "serve", str(script), "--name", "check", "--json", env=_env(server))
    assert done.returncode == 0, done.stderr
    app: dict[str, object] = json.loads(done.stdout)
    return app


def _env(server: SeedbedServer) -> dict[str, str]:
    return {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}


@contextlib.contextmanager
def _logged_in(server: SeedbedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get(server.login_url, follow_redirects=True).status_code == 200
        yield http


def _ws_url(server: SeedbedServer, name: str) -> str:
    return server.url.replace("http://", "ws://") + f"/apps/{name}/_stcore/stream"


def _close_code(url: str, headers: dict[str, str]) -> int | None:
    """Open a websocket and return the code it is closed with (None: it stayed open)."""
    with ws_connect(url, additional_headers=headers, open_timeout=10) as socket:
        try:
            socket.recv(timeout=1)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            return None
    return None


def test_app_is_served_behind_the_login_and_proxied(
    server: SeedbedServer, served: dict[str, object]
) -> None:
    assert served["status"] == "running"
    assert served["url"] == f"{server.url}/apps/check/"
    with _logged_in(server) as http:
        page = http.get("/apps/check/")
        assert page.status_code == 200
        assert "<html" in page.text.lower()
        # the app's own headers hold: seedbed's script-src CSP would stop Streamlit's page
        assert "script-src" not in page.headers.get("content-security-policy", "")
        assert page.headers["x-frame-options"] == "SAMEORIGIN"
        assert http.get("/apps/check/_stcore/health").text == "ok"
        listed = http.get("/api/v1/apps").json()
        assert [(a["name"], a["status"]) for a in listed] == [("check", "running")]
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    anonymous = httpx.get(f"{server.url}/apps/check/")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")

    url = _ws_url(server, "check")
    # logged in, from seedbed's own page: the proxied stream stays open
    assert _close_code(url, {"Cookie": cookie, "Origin": server.url}) is None
    assert _close_code(url, {}) == 1008  # nobody logged in
    # another site's page in a logged-in browser: cross-site websocket hijacking refused
    assert _close_code(url, {"Cookie": cookie, "Origin": "http://evil.example"}) == 1008


def test_bad_scripts_names_and_taken_names_are_refused(
    server: SeedbedServer, served: dict[str, object], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import streamlit as st\nst.write('x'\n", encoding="utf-8")
    done = run_cli("apps", "serve", str(broken), "--name", "broken", env=_env(server))
    assert done.returncode == 1
    assert "syntax error at line 2" in done.stderr

    headers = {"Authorization": f"Bearer {server.token}"}
    good = "import streamlit as st\nst.write('hi')\n"
    for name, script, status, words in [
        ("Bad_Name", good, 400, "not a valid app name"),
        ("check", good, 409, "--replace"),
        ("missing", "import no_such_package_here\n", 400, "no_such_package_here"),
        ("empty", "  \n", 400, "empty"),
    ]:
        answer = httpx.post(
            f"{server.url}/api/v1/apps",
            json={"name": name, "script": script},
            headers=headers,
            timeout=30,
        )
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]["message"]
    names = [a["name"] for a in httpx.get(f"{server.url}/api/v1/apps", headers=headers).json()]
    assert names == ["check"]  # nothing half-made of the refused ones


@pytest.mark.browser
def test_browser_sees_the_app_render(server: SeedbedServer, served: dict[str, object]) -> None:
    """Streamlit renders only over its websocket: seeing the app's output proves the
    websocket proxy, the app's SEEDBED_TOKEN and its SQL call through seedbed."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(server.login_url)
            page.goto(f"{server.url}/ui/apps")
            page.get_by_role("link", name="check").click()
            page.get_by_text("The answer is 42").wait_for()
            # confined like a job (Landlock): its data comes through its token only
            page.get_by_text("The internals are closed").wait_for()
            assert page.url == f"{server.url}/apps/check/"
        finally:
            browser.close()


def test_stop_ends_the_process_and_revokes_its_token(
    server: SeedbedServer, served: dict[str, object]
) -> None:
    pid = served["pid"]
    assert isinstance(pid, int) and Path(f"/proc/{pid}").exists()
    done = run_cli("apps", "stop", "check", env=_env(server))
    assert done.returncode == 0, done.stderr
    assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid)
    headers = {"Authorization": f"Bearer {server.token}"}
    me = httpx.get(f"{server.url}/api/v1/me", headers=headers).json()
    tokens = httpx.get(f"{server.url}/api/v1/users/{me['username']}/tokens", headers=headers).json()
    made = [t for t in tokens if t["name"].startswith("hosted-app check ")]
    assert made and all(t["revoked"] for t in made)
    listed = httpx.get(f"{server.url}/api/v1/apps", headers=headers).json()
    assert [(a["name"], a["status"]) for a in listed] == [("check", "stopped")]
    with _logged_in(server) as http:
        assert http.get("/apps/check/").status_code == 404


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_apps_stop_with_the_server(server: SeedbedServer, served: dict[str, object]) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    restarted = httpx.post(
        f"{server.url}/api/v1/apps/check/restart", headers=headers, timeout=60
    ).json()
    assert restarted["status"] == "running" and restarted["pid"] != served["pid"]
    assert Path(f"/proc/{restarted['pid']}").exists()
    assert server.stop() == 0
    assert not Path(f"/proc/{restarted['pid']}").exists() or _is_zombie(restarted["pid"])
