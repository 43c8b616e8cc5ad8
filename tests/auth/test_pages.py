"""Login with a password, the session cookie, admin pages for users and tokens, CSRF, escaping."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from auth_sessions import page_csrf, password_login
from conftest import make_settings
from seedbed.auth import audit, tokens, users
from seedbed.auth.tokens import ensure_admin_token
from seedbed.settings import load_settings
from seedbed.web.app import create_app
from seedbed.workspace import Workspace

SCRIPT = "<script>alert(1)</script>"


def test_password_login_sets_a_safe_cookie_and_logout_ends_it(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    users.create_user(local_workspace, "ada", role="viewer", password="pass word 1")
    csrf = page_csrf(browser_client)
    answer = browser_client.post(
        "/login",
        data={"username": "ada", "password": "pass word 1", "csrf_token": csrf, "next": "/ui/data"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/data"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    home = browser_client.get("/ui/")
    assert home.status_code == 200 and "ada" in home.text
    assert 'href="/ui/admin"' not in home.text  # no admin link for a viewer
    assert browser_client.get("/ui/admin").status_code == 403
    assert audit.recent(local_workspace, 1)[0].action == "user.login"
    browser_client.post("/logout", data={"csrf_token": page_csrf(browser_client, "/ui/")})
    assert browser_client.get("/ui/").status_code == 303


def test_session_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    settings = load_settings(
        workspace=tmp_path / "ws", port=0, public_url="https://seedbed.example.org"
    )
    with Workspace.open(settings) as workspace:
        token = ensure_admin_token(workspace)
        with TestClient(create_app(workspace), base_url="https://seedbed.example.org") as http:
            answer = http.get("/login", params={"token": token}, follow_redirects=False)
    assert "secure" in answer.headers["set-cookie"].lower()


def test_wrong_passwords_fail_alike_and_are_throttled(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    users.create_user(local_workspace, "ada", password="pass word 1")
    csrf = page_csrf(browser_client)
    answers = [
        browser_client.post("/login", data={"username": name, "password": pw, "csrf_token": csrf})
        for name, pw in [("ada", "wrong one"), ("ghost", "pass word 1")]
    ]
    assert [a.status_code for a in answers] == [401, 401]
    assert all("Wrong username or password" in a.text for a in answers)
    assert 'value="ghost"' in answers[1].text  # the username is kept, the password is not
    for _ in range(4):
        browser_client.post("/login", data={"username": "ada", "password": "x", "csrf_token": csrf})
    blocked = browser_client.post(
        "/login", data={"username": "ada", "password": "pass word 1", "csrf_token": csrf}
    )
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.text
    assert "user.login_failed" in {e.action for e in audit.recent(local_workspace)}


def test_forms_refuse_a_missing_or_wrong_csrf_token(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    users.create_user(local_workspace, "root", role="admin", password="pass word 1")
    forged = browser_client.post(
        "/login", data={"username": "root", "password": "pass word 1", "csrf_token": "nope"}
    )
    assert forged.status_code == 403
    csrf = password_login(browser_client, "root", "pass word 1")
    form = {"username": "mallory", "role": "admin"}
    for bad in ({}, {"csrf_token": "wrong"}):
        assert browser_client.post("/ui/admin/users", data=form | bad).status_code == 403
    assert browser_client.post("/ui/tokens", data={"name": "t"}).status_code == 403
    # Cookie-authenticated API writes need the header, not just the cookie.
    api = browser_client.post("/api/v1/users", json={"username": "mallory"})
    assert api.status_code == 403 and "CSRF" in api.json()["error"]["message"]
    assert [u.username for u in users.list_users(local_workspace)] == ["admin", "root"]
    with_header = browser_client.post(
        "/api/v1/users", json={"username": "ok-user"}, headers={"x-csrf-token": csrf}
    )
    assert with_header.status_code == 201


def test_admin_pages_add_change_disable_and_remove_users(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    users.create_user(local_workspace, "root", role="admin", password="pass word 1")
    csrf = password_login(browser_client, "root", "pass word 1")
    added = browser_client.post(
        "/ui/admin/users",
        data={"username": "ada", "role": "viewer", "password": "pass word 2", "csrf_token": csrf},
    )
    assert added.status_code == 200 and "Added ada as a viewer" in added.text
    weak = browser_client.post(
        "/ui/admin/users",
        data={"username": "bo", "role": "viewer", "password": "short", "csrf_token": csrf},
    )
    assert weak.status_code == 400 and "too short" in weak.text

    def act(action: str, **fields: str) -> str:
        answer = browser_client.post(
            "/ui/admin/users/ada", data={"action": action, "csrf_token": csrf, **fields}
        )
        assert answer.status_code == 200, answer.text
        return answer.text

    act("save", role="editor", pii="1")
    ada = users.get_user_by_name(local_workspace, "ada")
    assert (ada.role, ada.pii) == ("editor", True)
    act("password", password="pass word 3")
    assert users.check_password(local_workspace, "ada", "pass word 3") is not None
    assert "ada is disabled" in act("disable")
    assert users.get_user_by_name(local_workspace, "ada").disabled
    act("remove")
    assert [u.username for u in users.list_users(local_workspace)] == ["admin", "root"]
    # an admin's new password ends their other sessions, not the one that set it
    mine = browser_client.post(
        "/ui/admin/users/root",
        data={"action": "password", "password": "pass word 9", "csrf_token": csrf},
    )
    assert mine.status_code == 200, mine.text
    assert browser_client.get("/ui/admin").status_code == 200
    actions = {e.action for e in audit.recent(local_workspace, 50)}
    assert {"user.create", "user.role", "user.password", "user.disable", "user.remove"} <= actions


def test_a_disabled_users_session_ends_at_once(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    users.create_user(local_workspace, "ada", role="editor", password="pass word 1")
    password_login(browser_client, "ada", "pass word 1")
    assert browser_client.get("/ui/").status_code == 200
    users.update_user(local_workspace, "ada", disabled=True)
    assert browser_client.get("/ui/").status_code == 303
    assert browser_client.get("/api/v1/tables").status_code == 401


def test_a_removed_users_session_is_not_handed_to_the_next_user(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    ada = users.create_user(local_workspace, "ada", role="viewer", password="pass word 1")
    password_login(browser_client, "ada", "pass word 1")
    users.remove_user(local_workspace, "ada")
    # SQLite hands a removed row's id to the next insert: the old cookie names that id
    eve = users.create_user(local_workspace, "eve", role="admin", password="pass word 2")
    assert eve.id == ada.id
    assert browser_client.get("/ui/").status_code == 303  # back to the login page
    assert browser_client.get("/ui/admin").status_code in (303, 401)


def test_a_session_started_with_a_token_ends_when_the_token_is_revoked(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    ada = users.create_user(local_workspace, "ada", role="viewer", password="pass word 1")
    token = tokens.create_token(local_workspace, ada, "link")
    assert browser_client.get(f"/login?token={token}", follow_redirects=False).status_code == 303
    assert browser_client.get("/ui/").status_code == 200
    [info] = tokens.list_tokens(local_workspace, ada)
    tokens.revoke_token(local_workspace, ada, info.id)
    assert browser_client.get("/ui/", follow_redirects=False).status_code == 303
    # a password login is not tied to any token
    password_login(browser_client, "ada", "pass word 1")
    assert browser_client.get("/ui/").status_code == 200


def test_a_new_password_ends_the_users_sessions(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    users.create_user(local_workspace, "ada", role="viewer", password="pass word 1")
    password_login(browser_client, "ada", "pass word 1")
    assert browser_client.get("/ui/").status_code == 200
    users.set_password(local_workspace, "ada", "pass word 2")
    assert browser_client.get("/ui/").status_code == 303
    password_login(browser_client, "ada", "pass word 2")
    assert browser_client.get("/ui/").status_code == 200


def test_admin_tokens_page_shows_a_new_token_once_and_revokes(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    users.create_user(local_workspace, "root", role="admin", password="pass word 1")
    users.create_user(local_workspace, "ada", role="viewer")
    csrf = password_login(browser_client, "root", "pass word 1")
    created = browser_client.post(
        "/ui/admin/tokens",
        data={"username": "ada", "name": "ci", "expires_in_days": "7", "csrf_token": csrf},
    )
    secret = re.search(r"<code>(sb_[^<]+)</code>", created.text)
    assert created.status_code == 200 and secret
    ada = users.get_user_by_name(local_workspace, "ada")
    assert tokens.authenticate(local_workspace, secret.group(1)) == ada
    page = browser_client.get("/ui/admin/tokens").text
    assert secret.group(1) not in page and secret.group(1)[:10] in page
    [info] = tokens.list_tokens(local_workspace, ada)
    browser_client.post(
        f"/ui/admin/tokens/{info.id}/revoke", data={"username": "ada", "csrf_token": csrf}
    )
    assert tokens.authenticate(local_workspace, secret.group(1)) is None
    assert {"token.create", "token.revoke"} <= {e.action for e in audit.recent(local_workspace)}


def test_my_tokens_page_for_a_viewer(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    users.create_user(local_workspace, "ada", role="viewer", password="pass word 1")
    csrf = password_login(browser_client, "ada", "pass word 1")
    created = browser_client.post("/ui/tokens", data={"name": "notebook", "csrf_token": csrf})
    assert created.status_code == 200 and "not shown again" in created.text
    bad = browser_client.post(
        "/ui/tokens", data={"name": "x", "expires_in_days": "-1", "csrf_token": csrf}
    )
    assert bad.status_code == 400 and "positive number of days" in bad.text
    for endless in ("nan", "inf"):
        odd = browser_client.post(
            "/ui/tokens", data={"name": "x", "expires_in_days": endless, "csrf_token": csrf}
        )
        assert odd.status_code == 400 and "positive number of days" in odd.text
    assert browser_client.get("/ui/admin/tokens").status_code == 403


def test_script_in_names_is_escaped(tmp_path: Path) -> None:
    with Workspace.open(make_settings(tmp_path / "ws")) as workspace:
        token = ensure_admin_token(workspace)
        users.create_user(workspace, "ada", display_name=SCRIPT)
        ada = users.get_user_by_name(workspace, "ada")
        tokens.create_token(workspace, ada, SCRIPT)
        with TestClient(
            create_app(workspace), base_url="http://127.0.0.1", follow_redirects=False
        ) as http:
            http.get("/login", params={"token": token})
            csrf = page_csrf(http, "/ui/")
            refused = http.post(
                "/ui/admin/users",
                data={"username": SCRIPT, "role": "viewer", "csrf_token": csrf},
            )
            for page in (http.get("/ui/admin"), http.get("/ui/admin/tokens"), refused):
                assert SCRIPT not in page.text
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
            assert refused.status_code == 400
            login = http.get("/login", params={"next": '/ui/"><script>x</script>'})
            assert "<script>x" not in login.text
