from __future__ import annotations

import time

import pytest

from seedbed.auth import audit, tokens, users
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.workspace import Workspace


def test_create_and_find_users(workspace: Workspace) -> None:
    ada = users.create_user(workspace, "ada", role="editor", password="s3cret-pass")
    assert users.get_user(workspace, ada.id) == ada
    assert users.get_user_by_name(workspace, "ada").role == "editor"
    assert [u.username for u in users.list_users(workspace)] == ["ada"]


def test_passwords_are_hashed_and_checked(workspace: Workspace) -> None:
    users.create_user(workspace, "bo", password="correct horse")
    assert users.check_password(workspace, "bo", "correct horse") is not None
    assert users.check_password(workspace, "bo", "wrong") is None
    assert users.check_password(workspace, "nobody", "correct horse") is None
    with workspace.engine.connect() as connection:
        stored = connection.execute(users.users.select()).mappings().one()["password_hash"]
    assert stored.startswith("$argon2") and "correct horse" not in stored


def test_duplicate_username_is_a_conflict(workspace: Workspace) -> None:
    users.create_user(workspace, "cy")
    with pytest.raises(Conflict, match="cy"):
        users.create_user(workspace, "cy")


@pytest.mark.parametrize("name", ["", "Upper", "has space", "-dash"])
def test_bad_usernames(workspace: Workspace, name: str) -> None:
    with pytest.raises(Invalid):
        users.create_user(workspace, name)


def test_unknown_role(workspace: Workspace) -> None:
    with pytest.raises(Invalid, match="viewer, editor, admin"):
        users.create_user(workspace, "dee", role="owner")


def test_roles_decide_writing(workspace: Workspace) -> None:
    viewer = users.create_user(workspace, "v", role="viewer")
    editor = users.create_user(workspace, "e", role="editor")
    admin = users.create_user(workspace, "a", role="admin")
    assert (viewer.can_write(), editor.can_write(), admin.can_write()) == (False, True, True)
    assert admin.is_admin and not editor.is_admin


def test_new_users_lack_pii_unless_granted(workspace: Workspace) -> None:
    assert not users.create_user(workspace, "ann").pii
    granted = users.create_user(workspace, "ben", role="viewer", pii=True)
    assert users.get_user_by_name(workspace, "ben") == granted and granted.pii


@pytest.mark.parametrize("password", ["", "   ", "short"])
def test_weak_passwords_are_refused(workspace: Workspace, password: str) -> None:
    with pytest.raises(Invalid, match="password"):
        users.create_user(workspace, "eve", password=password)
    users.create_user(workspace, "eve", password="long enough")
    with pytest.raises(Invalid, match="password"):
        users.set_password(workspace, "eve", password)


def test_role_pii_and_password_changes(workspace: Workspace) -> None:
    users.create_user(workspace, "ada", role="viewer", password="first password")
    changed = users.update_user(workspace, "ada", role="editor", pii=True, actor="root")
    assert (changed.role, changed.pii) == ("editor", True)
    users.set_password(workspace, "ada", "second password", actor="root")
    assert users.check_password(workspace, "ada", "first password") is None
    assert users.check_password(workspace, "ada", "second password") == changed
    actions = [(e.username, e.action, e.target) for e in audit.recent(workspace)]
    assert ("root", "user.role", "ada") in actions and ("root", "user.password", "ada") in actions
    with pytest.raises(Invalid, match="viewer, editor, admin"):
        users.update_user(workspace, "ada", role="owner")


def test_disabled_users_cannot_log_in_and_their_tokens_stop_at_once(workspace: Workspace) -> None:
    ada = users.create_user(workspace, "ada", password="pass word 1")
    token = tokens.create_token(workspace, ada, "laptop")
    assert tokens.authenticate(workspace, token) == ada  # now in the verified-token cache
    users.update_user(workspace, "ada", disabled=True)
    assert tokens.authenticate(workspace, token) is None
    assert users.check_password(workspace, "ada", "pass word 1") is None
    with pytest.raises(NotFound):
        users.get_user(workspace, ada.id)
    users.update_user(workspace, "ada", disabled=False)
    assert tokens.authenticate(workspace, token) is not None


def test_removed_users_lose_their_tokens(workspace: Workspace) -> None:
    ada = users.create_user(workspace, "ada")
    token = tokens.create_token(workspace, ada, "laptop")
    assert tokens.authenticate(workspace, token) == ada
    users.remove_user(workspace, "ada", actor="root")
    assert tokens.authenticate(workspace, token) is None
    assert tokens.list_tokens(workspace) == []
    assert audit.recent(workspace)[0].action == "user.remove"
    with pytest.raises(NotFound, match="ada"):
        users.remove_user(workspace, "ada")


def test_the_last_admin_stays(workspace: Workspace) -> None:
    users.create_user(workspace, "root", role="admin")
    for change in (
        lambda: users.remove_user(workspace, "root"),
        lambda: users.update_user(workspace, "root", role="editor"),
        lambda: users.update_user(workspace, "root", disabled=True),
    ):
        with pytest.raises(Conflict, match="last admin"):
            change()
    users.create_user(workspace, "second", role="admin")
    users.update_user(workspace, "root", role="viewer")
    with pytest.raises(Conflict, match="last admin"):
        users.remove_user(workspace, "second")


def test_check_password_takes_as_long_for_unknown_users(workspace: Workspace) -> None:
    users.create_user(workspace, "ada", password="pass word 1")

    def seconds(name: str) -> float:
        started = time.perf_counter()
        for _ in range(3):
            users.check_password(workspace, name, "wrong password")
        return time.perf_counter() - started

    known, unknown = seconds("ada"), seconds("nobody")
    # Both pay for an argon2 verification; without the dummy hash, unknown would be ~100x faster.
    assert unknown > known / 3
