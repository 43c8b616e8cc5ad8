"""Users and roles: create, change, disable, remove, passwords (argon2 hashes only)."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from seedbed.auth import audit
from seedbed.auth.tables import users
from seedbed.db import now_ms
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.workspace import Workspace

ROLES = ("viewer", "editor", "admin")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes any length; this bounds the work one login costs
_hasher = PasswordHasher()
# Verified when the username is unknown, so a failed login takes as long either way.
_DUMMY_HASH = _hasher.hash("seedbed-no-such-user")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    pii: bool = False
    disabled: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_write(self) -> bool:
        """For templates; the decision itself lives in seedbed.auth.permissions."""
        from seedbed.auth.permissions import can

        return can(self, "write")


def _user(row: object) -> User:
    mapping = row._mapping  # type: ignore[attr-defined]
    return User(
        id=mapping["id"],
        username=mapping["username"],
        display_name=mapping["display_name"] or mapping["username"],
        role=mapping["role"],
        pii=bool(mapping["pii"]),
        disabled=bool(mapping["disabled"]),
    )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"Role {role!r} is unknown; choose one of {', '.join(ROLES)}.")


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing (NIST 800-63B: length, not rules)."""
    if not password or not password.strip():
        raise Invalid("The password is empty; choose one of at least 8 characters.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"The password is too short ({len(password)} characters); "
            f"use at least {MIN_PASSWORD_LENGTH}."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(f"The password is longer than {MAX_PASSWORD_LENGTH} characters.")


def create_user(
    workspace: Workspace,
    username: str,
    role: str = "editor",
    password: str | None = None,
    display_name: str = "",
    pii: bool = False,
    actor: str | None = None,
) -> User:
    """Add a user; passwords are stored only as argon2 hashes. `actor` is who did it."""
    if not USERNAME.match(username):
        raise Invalid(
            f"Username {username!r} is not allowed: use lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (at most 100 characters)."
        )
    check_role(role)
    if password is not None:
        check_password_strength(password)
    display_name = display_name.strip()[:200] or username
    values = {
        "username": username,
        "display_name": display_name,
        "password_hash": _hasher.hash(password) if password else None,
        "role": role,
        "pii": pii,
        "disabled": False,
        "created_at": now_ms(),
    }
    try:
        with workspace.engine.begin() as connection:
            new_id = connection.execute(users.insert().values(**values)).inserted_primary_key
            audit.append(connection, actor, "user.create", username, role=role, pii=pii)
    except IntegrityError as exc:
        raise Conflict(f"A user named {username!r} already exists.") from exc
    assert new_id is not None
    return User(id=new_id[0], username=username, display_name=display_name, role=role, pii=pii)


def get_user(workspace: Workspace, user_id: int) -> User:
    """The active user with this id (a disabled one is NotFound: its sessions end at once)."""
    row = _active_row(workspace, user_id)
    if row is None:
        raise NotFound(f"No active user with id {user_id}.")
    return _user(row)


def _active_row(workspace: Workspace, user_id: int) -> Any:
    with workspace.engine.connect() as connection:
        return connection.execute(
            select(users).where(users.c.id == user_id, users.c.disabled.is_(False))
        ).first()


def session_user(workspace: Workspace, user_id: int, stamp: str) -> User | None:
    """The active user a browser session names, while the session is still theirs: the stamp
    changes with their password, and a new user who is given a removed user's id has
    another (so neither an old session nor a removed user's outlives the change)."""
    row = _active_row(workspace, user_id)
    if row is None or not hmac.compare_digest(_stamp(row), stamp):
        return None
    return _user(row)


def session_stamp(workspace: Workspace, user_id: int) -> str:
    """What a new browser session of this user keeps beside their id (see session_user)."""
    with workspace.engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"No user with id {user_id}.")
    return _stamp(row)


def _stamp(row: Any) -> str:
    values = row._mapping
    text = f"{values['id']}|{values['username']}|{values['created_at']}|{values['password_hash']}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def get_user_by_name(workspace: Workspace, username: str) -> User:
    with workspace.engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        raise NotFound(f"No user named {username!r}; `seedbed users list` shows who exists.")
    return _user(row)


def list_users(workspace: Workspace) -> list[User]:
    with workspace.engine.connect() as connection:
        rows = connection.execute(select(users).order_by(users.c.username)).all()
    return [_user(row) for row in rows]


def count_users(workspace: Workspace) -> int:
    with workspace.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(users)).scalar_one())


def first_active_admin(workspace: Workspace) -> User | None:
    query = (
        select(users)
        .where(users.c.role == "admin", users.c.disabled.is_(False))
        .order_by(users.c.username != "admin", users.c.id)
        .limit(1)
    )
    with workspace.engine.connect() as connection:
        row = connection.execute(query).first()
    return None if row is None else _user(row)


def _keep_an_admin(connection: Connection, user: User, what: str) -> None:
    """Refuse a change that would leave the workspace without an active admin."""
    if not user.is_admin or user.disabled:
        return
    others = connection.execute(
        select(func.count())
        .select_from(users)
        .where(users.c.role == "admin", users.c.disabled.is_(False), users.c.id != user.id)
    ).scalar_one()
    if not others:
        raise Conflict(
            f"Cannot {what} {user.username}: it is the last admin. Make another user an "
            "admin first."
        )


def update_user(
    workspace: Workspace,
    username: str,
    role: str | None = None,
    pii: bool | None = None,
    disabled: bool | None = None,
    display_name: str | None = None,
    actor: str | None = None,
) -> User:
    """Change a user's role, pii permission, disabled state or display name."""
    from seedbed.auth.tokens import forget_verified_tokens

    user = get_user_by_name(workspace, username)
    changes: dict[str, Any] = {}
    if role is not None and role != user.role:
        check_role(role)
        changes["role"] = role
    if pii is not None and pii != user.pii:
        changes["pii"] = pii
    if disabled is not None and disabled != user.disabled:
        changes["disabled"] = disabled
    if display_name is not None and display_name.strip() != user.display_name:
        changes["display_name"] = display_name.strip()[:200] or username
    if not changes:
        return user
    with workspace.engine.begin() as connection:
        if "role" in changes:
            _keep_an_admin(connection, user, f"make a {role} of")
        if changes.get("disabled"):
            _keep_an_admin(connection, user, "disable")
        connection.execute(users.update().where(users.c.id == user.id).values(**changes))
        if "role" in changes or "pii" in changes:
            audit.append(
                connection,
                actor,
                "user.role",
                username,
                role=changes.get("role", user.role),
                pii=changes.get("pii", user.pii),
            )
        if "disabled" in changes:
            action = "user.disable" if changes["disabled"] else "user.enable"
            audit.append(connection, actor, action, username)
    forget_verified_tokens(workspace)
    return get_user_by_name(workspace, username)


def remove_user(workspace: Workspace, username: str, actor: str | None = None) -> None:
    """Delete a user and their tokens; the audit log keeps their name."""
    from seedbed.auth.tokens import forget_verified_tokens

    user = get_user_by_name(workspace, username)
    with workspace.engine.begin() as connection:
        _keep_an_admin(connection, user, "remove")
        connection.execute(users.delete().where(users.c.id == user.id))
        audit.append(connection, actor, "user.remove", username)
    forget_verified_tokens(workspace)


def set_password(
    workspace: Workspace, username: str, password: str, actor: str | None = None
) -> None:
    """Replace a user's password (checked for length first)."""
    check_password_strength(password)
    user = get_user_by_name(workspace, username)
    with workspace.engine.begin() as connection:
        connection.execute(
            users.update().where(users.c.id == user.id).values(password_hash=_hasher.hash(password))
        )
        audit.append(connection, actor, "user.password", username)


def check_password(workspace: Workspace, username: str, password: str) -> User | None:
    """The user if `password` is theirs, else None; as slow for unknown users as known ones."""
    with workspace.engine.connect() as connection:
        row = connection.execute(
            select(users).where(users.c.username == username, users.c.disabled.is_(False))
        ).first()
    stored = row._mapping["password_hash"] if row is not None else None
    try:
        _hasher.verify(stored or _DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
    except (VerificationError, InvalidHashError):
        return None
    return None if row is None or not stored else _user(row)
