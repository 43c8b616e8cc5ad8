from __future__ import annotations

import stat

import pytest

from seedbed.auth import tokens, users
from seedbed.auth.tables import api_tokens
from seedbed.db import now_ms
from seedbed.errors import Invalid, NotFound
from seedbed.workspace import Workspace


def test_token_authenticates_its_user_and_is_stored_hashed(workspace: Workspace) -> None:
    ada = users.create_user(workspace, "ada")
    token = tokens.create_token(workspace, ada, "laptop")
    assert token.startswith("sb_")
    assert tokens.authenticate(workspace, token) == ada
    assert tokens.authenticate(workspace, token + "x") is None
    assert tokens.authenticate(workspace, "not-a-token") is None
    with workspace.engine.connect() as connection:
        row = connection.execute(api_tokens.select()).mappings().one()
    assert row["token_hash"] == tokens.hash_token(token) and token not in row.values()


def test_revoked_token_stops_working(workspace: Workspace) -> None:
    ada = users.create_user(workspace, "ada")
    token = tokens.create_token(workspace, ada, "ci")
    [info] = tokens.list_tokens(workspace, ada)
    assert tokens.authenticate(workspace, token) == ada  # now trusted for a few seconds
    tokens.revoke_token(workspace, ada, info.id)
    assert tokens.authenticate(workspace, token) is None
    assert tokens.list_tokens(workspace, ada)[0].revoked
    with pytest.raises(NotFound):
        tokens.revoke_token(workspace, ada, info.id + 100)


def test_expired_token_stops_working(workspace: Workspace) -> None:
    ada = users.create_user(workspace, "ada")
    token = tokens.create_token(workspace, ada, "short", expires_in_s=3600)
    assert tokens.authenticate(workspace, token) == ada
    with workspace.engine.begin() as connection:
        connection.execute(api_tokens.update().values(expires_at=now_ms() - 1))
    # Changed behind the service's back: trusted until the cache is told or its TTL passes.
    assert tokens.authenticate(workspace, token) == ada
    tokens.forget_verified_tokens(workspace)
    assert tokens.authenticate(workspace, token) is None


def test_a_verified_token_past_its_expiry_is_refused_without_asking_again(
    workspace: Workspace,
) -> None:
    ada = users.create_user(workspace, "ada")
    token = tokens.create_token(workspace, ada, "short", expires_in_s=3600)
    assert tokens.authenticate(workspace, token) == ada
    key = tokens.hash_token(token)
    user, _expires, checked = workspace.verified_tokens[key]
    workspace.verified_tokens[key] = (user, now_ms() - 1, checked)
    assert tokens.authenticate(workspace, token) is None


def test_token_needs_a_name_and_positive_expiry(workspace: Workspace) -> None:
    ada = users.create_user(workspace, "ada")
    with pytest.raises(Invalid):
        tokens.create_token(workspace, ada, " ")
    with pytest.raises(Invalid):
        tokens.create_token(workspace, ada, "x", expires_in_s=0)


def test_first_start_makes_an_admin_and_keeps_its_token(workspace: Workspace) -> None:
    token = tokens.ensure_admin_token(workspace)
    admin = tokens.authenticate(workspace, token)
    assert admin is not None and admin.username == "admin" and admin.is_admin
    path = tokens.token_file(workspace)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.ensure_admin_token(workspace) == token  # a restart reuses it


def test_revoked_login_token_is_replaced(workspace: Workspace) -> None:
    token = tokens.ensure_admin_token(workspace)
    admin = users.get_user_by_name(workspace, "admin")
    tokens.revoke_token(workspace, admin, tokens.list_tokens(workspace, admin)[0].id)
    fresh = tokens.ensure_admin_token(workspace)
    assert fresh != token and tokens.authenticate(workspace, fresh) == admin
    assert len(users.list_users(workspace)) == 1
