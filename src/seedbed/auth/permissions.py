"""Who may do what: the one place where seedbed decides permissions.

Routes, pages and services ask `can` / `require`; nothing else compares roles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from seedbed.errors import Forbidden

if TYPE_CHECKING:
    from seedbed.auth.users import User

# read: see data, runs, models, pages; score models. write: change any of them.
# admin: users, tokens, sources, unrestricted SQL. read_pii: data restricted as personal
# information (a permission of its own, granted apart from the role).
# manage_tokens: the tokens of the user named by `resource` (yourself, or anyone for admins).
Action = Literal["read", "write", "admin", "read_pii", "manage_tokens"]

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "editor": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "admin"}),
}
NEEDS = {
    "read": "any role",
    "write": "the editor or admin role",
    "admin": "the admin role",
    "read_pii": "the pii permission",
    "manage_tokens": "the admin role (or being that user)",
}


def can(user: User | None, action: Action, resource: str | None = None) -> bool:
    """Whether `user` may do `action` (on `resource`, where the action names one)."""
    if user is None or user.disabled:
        return False
    if action == "read_pii":
        return user.pii
    if action == "manage_tokens":
        return user.username == resource or "admin" in ROLE_ACTIONS.get(user.role, ())
    return action in ROLE_ACTIONS.get(user.role, frozenset())


def require(user: User | None, action: Action, resource: str | None = None) -> None:
    """Raise Forbidden, saying what is missing, unless `can` allows it."""
    if can(user, action, resource):
        return
    who = f"{user.username} is a {user.role}" if user is not None else "Nobody is logged in"
    raise Forbidden(f"{who}; this needs {NEEDS[action]}.")
