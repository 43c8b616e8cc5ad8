from __future__ import annotations

import pytest

from seedbed.auth import users
from seedbed.errors import Conflict, Invalid
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
