from __future__ import annotations

import pytest

from seedbed.auth.permissions import can, require
from seedbed.auth.users import User
from seedbed.errors import Forbidden


def user(role: str, pii: bool = False, disabled: bool = False) -> User:
    return User(1, role + "-user", role, role, pii=pii, disabled=disabled)


@pytest.mark.parametrize(
    ("role", "read", "write", "admin"),
    [("viewer", True, False, False), ("editor", True, True, False), ("admin", True, True, True)],
)
def test_roles(role: str, read: bool, write: bool, admin: bool) -> None:
    who = user(role)
    assert (can(who, "read"), can(who, "write"), can(who, "admin")) == (read, write, admin)


def test_pii_is_a_permission_of_its_own() -> None:
    assert not can(user("admin"), "read_pii")
    assert can(user("viewer", pii=True), "read_pii")
    assert not can(user("viewer", pii=True), "write")


def test_nobody_and_disabled_users_may_do_nothing() -> None:
    assert not can(None, "read")
    assert not can(user("admin", pii=True, disabled=True), "read")
    assert not can(user("admin", disabled=True), "manage_tokens", "admin-user")


def test_tokens_are_managed_by_their_owner_or_an_admin() -> None:
    assert can(user("viewer"), "manage_tokens", "viewer-user")
    assert not can(user("viewer"), "manage_tokens", "someone")
    assert can(user("admin"), "manage_tokens", "someone")


def test_require_says_what_is_missing() -> None:
    require(user("editor"), "write")
    with pytest.raises(Forbidden, match="viewer-user is a viewer; this needs the editor"):
        require(user("viewer"), "write")
    with pytest.raises(Forbidden, match="Nobody is logged in"):
        require(None, "read")
