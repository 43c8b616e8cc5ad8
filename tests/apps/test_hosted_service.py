"""What a starting server does with the apps an earlier one left behind (in-process: no app
is started here)."""

from __future__ import annotations

import os

from sqlalchemy import insert

from seedbed.apps.hosted import TOKEN_PREFIX, HostedApps
from seedbed.apps.tables import hosted_apps
from seedbed.auth import tokens, users
from seedbed.db import now_ms
from seedbed.workspace import Workspace


def test_a_new_server_marks_left_apps_stopped_and_revokes_their_tokens(
    local_workspace: Workspace,
) -> None:
    owner = users.create_user(local_workspace, "ada", "editor", password="correct horse 1")
    left = tokens.create_token(local_workspace, owner, f"{TOKEN_PREFIX}old abc123")
    kept = tokens.create_token(local_workspace, owner, "laptop")
    with local_workspace.engine.begin() as connection:
        connection.execute(
            insert(hosted_apps).values(
                name="old",
                kind="streamlit",
                script="import streamlit",
                status="running",
                message="",
                port=1,
                pid=os.getpid(),
                started_by="ada",
                created_at=now_ms(),
                updated_at=now_ms(),
            )
        )

    service = HostedApps(local_workspace, "http://127.0.0.1:1")

    app = service.get("old")
    assert (app.status, app.pid) == ("stopped", None)
    assert "seedbed apps restart" in app.message
    assert service.port_of("old") is None
    assert tokens.authenticate(local_workspace, left) is None
    assert tokens.authenticate(local_workspace, kept) is not None
    # the pid it recorded is not a streamlit of that app (here: this test), so it lives on
    os.kill(os.getpid(), 0)


def test_an_app_may_not_set_seedbed_s_session_cookie() -> None:
    from seedbed.apps.proxy import sets_session_cookie

    assert sets_session_cookie("Set-Cookie", "seedbed_session=forged; Path=/; HttpOnly")
    assert not sets_session_cookie("set-cookie", "streamlit_state=1; Path=/apps/x/")
    assert not sets_session_cookie("content-type", "seedbed_session=x")
