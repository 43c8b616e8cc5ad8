"""Users and roles, and the first admin a new workspace gets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from seedbed.auth import audit
from seedbed.auth.tables import users
from seedbed.db import now_ms
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.workspace import Workspace

ROLES = ("viewer", "editor", "admin")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_write(self) -> bool:
        return self.role in ("editor", "admin")


def _user(row: object) -> User:
    mapping = row._mapping  # type: ignore[attr-defined]
    return User(
        id=mapping["id"],
        username=mapping["username"],
        display_name=mapping["display_name"] or mapping["username"],
        role=mapping["role"],
    )


def create_user(
    workspace: Workspace,
    username: str,
    role: str = "editor",
    password: str | None = None,
    display_name: str = "",
) -> User:
    """Add a user; passwords are stored only as argon2 hashes."""
    if not USERNAME.match(username):
        raise Invalid(
            f"Username {username!r} is not allowed: use lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (at most 100 characters)."
        )
    if role not in ROLES:
        raise Invalid(f"Role {role!r} is unknown; choose one of {', '.join(ROLES)}.")
    values = {
        "username": username,
        "display_name": display_name or username,
        "password_hash": _hasher.hash(password) if password else None,
        "role": role,
        "disabled": False,
        "created_at": now_ms(),
    }
    try:
        with workspace.engine.begin() as connection:
            new_id = connection.execute(users.insert().values(**values)).inserted_primary_key
    except IntegrityError as exc:
        raise Conflict(f"A user named {username!r} already exists.") from exc
    audit.record(workspace, None, "user.create", username, role=role)
    assert new_id is not None
    return User(id=new_id[0], username=username, display_name=display_name or username, role=role)


def get_user(workspace: Workspace, user_id: int) -> User:
    with workspace.engine.connect() as connection:
        row = connection.execute(
            select(users).where(users.c.id == user_id, users.c.disabled.is_(False))
        ).first()
    if row is None:
        raise NotFound(f"No active user with id {user_id}.")
    return _user(row)


def get_user_by_name(workspace: Workspace, username: str) -> User:
    with workspace.engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        raise NotFound(f"No user named {username!r}.")
    return _user(row)


def list_users(workspace: Workspace) -> list[User]:
    with workspace.engine.connect() as connection:
        rows = connection.execute(select(users).order_by(users.c.username)).all()
    return [_user(row) for row in rows]


def count_users(workspace: Workspace) -> int:
    with workspace.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(users)).scalar_one())


def check_password(workspace: Workspace, username: str, password: str) -> User | None:
    """The user if `password` is theirs, else None (same answer for unknown users)."""
    with workspace.engine.connect() as connection:
        row = connection.execute(
            select(users).where(users.c.username == username, users.c.disabled.is_(False))
        ).first()
    if row is None or not row._mapping["password_hash"]:
        return None
    try:
        _hasher.verify(row._mapping["password_hash"], password)
    except VerificationError:
        return None
    return _user(row)
