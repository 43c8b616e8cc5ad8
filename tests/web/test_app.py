from __future__ import annotations

import re

from fastapi.testclient import TestClient

from seedbed.auth.tokens import ensure_admin_token
from seedbed.web.app import create_app
from seedbed.workspace import Workspace


def test_health_needs_no_auth(browser_client: TestClient) -> None:
    answer = browser_client.get("/health")
    assert (answer.status_code, answer.text) == (200, "OK")


def test_everything_else_needs_auth(browser_client: TestClient) -> None:
    api = browser_client.get("/api/v1/tables")
    assert api.status_code == 401 and "Bearer" in api.json()["error"]["message"]
    assert browser_client.get("/api/v1/openapi.json").status_code == 401
    page = browser_client.get("/ui/data")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fui%2Fdata"
    assert browser_client.get("/static/seedbed.css").status_code == 200
    assert browser_client.get("/login").status_code == 200


def test_wrong_token_is_refused(browser_client: TestClient) -> None:
    answer = browser_client.get("/api/v1/tables", headers={"Authorization": "Bearer sb_wrong"})
    assert answer.status_code == 401


def test_openapi_lists_the_api(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/runs" in spec["paths"] and "/api/v1/sql" in spec["paths"]
    assert not any(path.startswith("/ui") for path in spec["paths"])


def test_login_link_sets_a_session_and_redirects_home(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    token = ensure_admin_token(local_workspace)
    answer = browser_client.get("/login", params={"token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/"
    cookie = answer.headers["set-cookie"]
    assert "seedbed_session=" in cookie and "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    home = browser_client.get("/ui/")
    assert home.status_code == 200 and "Recent activity" in home.text
    assert "user.login" in home.text


def test_login_refuses_bad_tokens_and_foreign_redirects(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    bad = browser_client.get("/login", params={"token": "sb_nope"})
    assert bad.status_code == 401 and "not valid" in bad.text
    token = ensure_admin_token(local_workspace)
    bounced = browser_client.get("/login", params={"token": token, "next": "//evil.example"})
    assert bounced.headers["location"] == "/ui/"
    kept = browser_client.get("/login", params={"token": token, "next": "/ui/models"})
    assert kept.headers["location"] == "/ui/models"


def test_login_form_and_logout_need_the_csrf_token(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    page = browser_client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    token = ensure_admin_token(local_workspace)
    forged = browser_client.post("/login", data={"token": token, "csrf_token": "x"})
    assert forged.status_code == 403
    ok = browser_client.post("/login", data={"token": token, "csrf_token": csrf.group(1)})
    assert ok.status_code == 303
    home = browser_client.get("/ui/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf
    assert browser_client.post("/logout", data={"csrf_token": "x"}).status_code == 403
    assert browser_client.post("/logout", data={"csrf_token": csrf.group(1)}).status_code == 303
    assert browser_client.get("/ui/").status_code == 303


def test_cookie_sessions_need_the_csrf_header_on_api_writes(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    browser_client.get("/login", params={"token": ensure_admin_token(local_workspace)})
    assert browser_client.get("/api/v1/experiments").status_code == 200
    refused = browser_client.post("/api/v1/experiments", json={"name": "x"})
    assert refused.status_code == 403 and "x-csrf-token" in refused.json()["error"]["message"]
    csrf = re.search(r'"x-csrf-token": "([^"]+)"', browser_client.get("/ui/").text)
    assert csrf
    made = browser_client.post(
        "/api/v1/experiments", json={"name": "x"}, headers={"x-csrf-token": csrf.group(1)}
    )
    assert made.status_code == 201


def test_host_header_is_checked(local_workspace: Workspace) -> None:
    with TestClient(create_app(local_workspace), base_url="http://attacker.example") as foreign:
        assert foreign.get("/health").status_code == 400
    with TestClient(create_app(local_workspace), base_url="http://localhost:8765") as local:
        assert local.get("/health").status_code == 200


def test_safe_headers_on_every_answer(client: TestClient) -> None:
    for path in ("/health", "/api/v1/tables", "/ui/"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_not_found_is_json_for_the_api_and_a_page_for_people(client: TestClient) -> None:
    api = client.get("/api/v1/nothing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "http_error"
    page = client.get("/ui/nothing")
    assert page.status_code == 404 and "Not found" in page.text and "<nav" in page.text


def test_unexpected_errors_become_a_500_page(local_workspace: Workspace) -> None:
    app = create_app(local_workspace)

    def broken() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/ui/broken", broken)
    app.add_api_route("/api/v1/broken", broken)
    token = ensure_admin_token(local_workspace)
    with TestClient(
        app,
        base_url="http://127.0.0.1",
        raise_server_exceptions=False,
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        page = http.get("/ui/broken")
        assert page.status_code == 500 and "Something went wrong" in page.text
        assert "boom" not in page.text
        api = http.get("/api/v1/broken")
        assert api.status_code == 500 and api.json()["error"]["code"] == "internal"


def test_admin_pages_need_the_admin_role(local_workspace: Workspace) -> None:
    from seedbed.auth import tokens, users

    viewer = users.create_user(local_workspace, "val", role="viewer")
    token = tokens.create_token(local_workspace, viewer, "t")
    with TestClient(
        create_app(local_workspace),
        base_url="http://127.0.0.1",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        assert http.get("/ui/admin").status_code == 403
        assert http.get("/ui/").status_code == 200
        refused = http.post("/api/v1/experiments", json={"name": "x"})
        assert refused.status_code == 403 and "editor" in refused.json()["error"]["message"]
        assert http.post("/api/v1/sql", json={"query": "select 1"}).status_code == 200
        write = http.post("/api/v1/sql", json={"query": "create table t as select 1"})
        assert write.status_code == 403 and "SELECT" in write.json()["error"]["message"]


def test_every_nav_page_renders(client: TestClient) -> None:
    home = client.get("/ui/")
    for label, href in re.findall(r'<a href="(/ui/[a-z]+)"[^>]*>([A-Za-z]+)</a>', home.text):
        assert client.get(label).status_code == 200, href
    for section in (
        "Data",
        "Features",
        "Experiments",
        "Models",
        "Jobs",
        "Notebooks",
        "Environment",
        "Admin",
    ):
        assert f">{section}</a>" in home.text


def test_pages_load_nothing_from_other_sites(client: TestClient) -> None:
    for path in ("/ui/", "/ui/data", "/login"):
        assert not re.search(r'(src|href)="(https?:)?//', client.get(path).text)
