"""Log a TestClient in like a browser: a session cookie, then the page's CSRF token."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from seedbed.auth import tokens, users
from seedbed.workspace import Workspace

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def page_csrf(http: TestClient, path: str = "/login") -> str:
    """The CSRF token a page carries (every page has it in a meta tag)."""
    match = CSRF_META.search(http.get(path).text)
    assert match, f"{path} carries no CSRF token"
    return match.group(1)


def password_login(http: TestClient, username: str, password: str) -> str:
    """Log in through the login form; returns the session's CSRF token for later posts."""
    answer = http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": page_csrf(http)},
    )
    assert answer.status_code == 303, answer.text
    return page_csrf(http, "/ui/")


def token_for(workspace: Workspace, username: str, role: str, **options: object) -> str:
    """A new user with this role and a token of theirs."""
    user = users.create_user(workspace, username, role=role, **options)  # type: ignore[arg-type]
    return tokens.create_token(workspace, user, "test")
