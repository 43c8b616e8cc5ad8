"""API tokens: created once, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from seedbed.auth import audit
from seedbed.auth.permissions import can
from seedbed.auth.tables import api_tokens, users
from seedbed.auth.users import User, _user, count_users, create_user, first_active_admin
from seedbed.db import now_ms
from seedbed.errors import Invalid, NotFound
from seedbed.workspace import Workspace

TOKEN_PREFIX = "sb_"
TOKEN_FILE = "token"
# How long a verified token is trusted without asking the database again. Revoking through
# this process forgets at once; this bounds how long a change made elsewhere (another
# process writing the same database) takes to apply.
VERIFIED_TTL_S = 5.0
# last_used_at is written at most this often per token, so authenticating stays a read.
LAST_USED_RESOLUTION_MS = 60_000
DAY_S = 86_400


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    created_at: int
    expires_at: int | None
    last_used_at: int | None
    revoked: bool
    username: str = ""

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= now_ms()


def expiry_s(days: float | None) -> int | None:
    """An expiry given in days as seconds from now; None: never expires."""
    if days is None:
        return None
    if not math.isfinite(days) or days <= 0:
        raise Invalid("The expiry must be a positive number of days (or empty: never).")
    return round(days * DAY_S)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    workspace: Workspace,
    user: User,
    name: str,
    expires_in_s: int | None = None,
    actor: str | None = None,
) -> str:
    """Mint a token for `user`; the plain value is returned once and never stored.

    `actor` is who asked (an admin minting for someone else); by default the user.
    """
    return issue_token(workspace, user, name, expires_in_s, actor)[0]


def issue_token(
    workspace: Workspace,
    user: User,
    name: str,
    expires_in_s: int | None = None,
    actor: str | None = None,
) -> tuple[str, int]:
    """create_token, also giving the new token's id (to revoke it later, as the processes
    that act for a user do: jobs, JupyterLab, hosted apps)."""
    if not name.strip():
        raise Invalid("A token needs a name, such as 'laptop' or 'ci'.")
    if len(name.strip()) > 100:
        raise Invalid("A token's name may have at most 100 characters.")
    if expires_in_s is not None and expires_in_s <= 0:
        raise Invalid("expires_in_s must be a positive number of seconds.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = now_ms()
    with workspace.engine.begin() as connection:
        inserted = connection.execute(
            api_tokens.insert().values(
                user_id=user.id,
                name=name.strip(),
                token_hash=hash_token(token),
                prefix=token[:10],
                created_at=created,
                expires_at=created + expires_in_s * 1000 if expires_in_s else None,
            )
        ).inserted_primary_key
    assert inserted is not None
    token_id = inserted[0]
    audit.record(
        workspace, actor or user.username, "token.create", name.strip(), user=user.username
    )
    return token, int(token_id)


def authenticate(workspace: Workspace, token: str) -> User | None:
    """The active user owning a valid (unrevoked, unexpired) token, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    key = hash_token(token)
    cached = workspace.verified_tokens.get(key)
    if cached is not None:
        user, expires_at, checked = cached
        if time.monotonic() - checked < VERIFIED_TTL_S:
            return None if expires_at is not None and expires_at <= now_ms() else user
    user, expires_at = _lookup(workspace, key)
    if user is not None:
        workspace.verified_tokens[key] = (user, expires_at, time.monotonic())
    if user is None or (expires_at is not None and expires_at <= now_ms()):
        return None
    return user


def token_id(workspace: Workspace, token: str) -> int | None:
    """The id of a token, for a browser session started with it (see token_active)."""
    with workspace.engine.connect() as connection:
        found = connection.execute(
            select(api_tokens.c.id).where(api_tokens.c.token_hash == hash_token(token))
        ).scalar()
    return int(found) if found is not None else None


def token_active(workspace: Workspace, token_id: int) -> bool:
    """Whether a token is neither revoked nor expired: a session started with a token ends
    when the token does."""
    with workspace.engine.connect() as connection:
        row = connection.execute(
            select(api_tokens.c.revoked_at, api_tokens.c.expires_at).where(
                api_tokens.c.id == token_id
            )
        ).first()
    if row is None or row.revoked_at is not None:
        return False
    return row.expires_at is None or row.expires_at > now_ms()


def forget_verified_tokens(workspace: Workspace) -> None:
    """Ask the database again on the next call of every token (after a revoke or user change)."""
    workspace.verified_tokens.clear()


def _lookup(workspace: Workspace, key: str) -> tuple[User | None, int | None]:
    query = (
        select(
            users,
            api_tokens.c.id.label("token_id"),
            api_tokens.c.expires_at,
            api_tokens.c.last_used_at,
        )
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(
            api_tokens.c.token_hash == key,
            api_tokens.c.revoked_at.is_(None),
            users.c.disabled.is_(False),
        )
    )
    with workspace.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None, None
    mapping = row._mapping
    now = now_ms()
    if mapping["last_used_at"] is None or now - mapping["last_used_at"] > LAST_USED_RESOLUTION_MS:
        with workspace.engine.begin() as connection:
            connection.execute(
                api_tokens.update()
                .where(api_tokens.c.id == mapping["token_id"])
                .values(last_used_at=now)
            )
    return _user(row), mapping["expires_at"]


def list_tokens(workspace: Workspace, user: User | None = None) -> list[TokenInfo]:
    """The tokens of `user`, or of everyone (newest last), revoked ones included."""
    query = (
        select(api_tokens, users.c.username)
        .join(users, users.c.id == api_tokens.c.user_id)
        .order_by(api_tokens.c.id)
    )
    if user is not None:
        query = query.where(api_tokens.c.user_id == user.id)
    with workspace.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        TokenInfo(
            id=row["id"],
            name=row["name"],
            prefix=row["prefix"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            last_used_at=row["last_used_at"],
            revoked=row["revoked_at"] is not None,
            username=row["username"],
        )
        for row in rows
    ]


def revoke_token(workspace: Workspace, user: User, token_id: int, actor: str | None = None) -> None:
    """Revoke one of `user`'s tokens; it stops working at once in this process."""
    with workspace.engine.begin() as connection:
        updated = connection.execute(
            api_tokens.update()
            .where(
                api_tokens.c.id == token_id,
                api_tokens.c.user_id == user.id,
                api_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now_ms())
        ).rowcount
        if updated:
            audit.append(
                connection,
                actor or user.username,
                "token.revoke",
                str(token_id),
                user=user.username,
            )
    forget_verified_tokens(workspace)
    if not updated:
        raise NotFound(f"{user.username} has no active token with id {token_id}.")


def token_file(workspace: Workspace) -> Path:
    return workspace.runtime_dir / TOKEN_FILE


def ensure_admin_token(workspace: Workspace) -> str:
    """The local admin's login token: made on first start, kept (mode 0600) for local clients.

    A new workspace gets an `admin` user. If the token file is gone or its token
    was revoked, a fresh token replaces it, for `admin` or else the first active admin.
    """
    path = token_file(workspace)
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        user = authenticate(workspace, token)
        if can(user, "admin"):
            return token
    admin = first_active_admin(workspace) if count_users(workspace) else None
    if admin is None:
        # The workspace's owner: the only user who may read PII until they grant it.
        admin = create_user(
            workspace, "admin", role="admin", display_name="Administrator", pii=True
        )
    token = create_token(workspace, admin, "login")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token
