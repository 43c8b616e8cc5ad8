"""/api/v1/users: users and their API tokens, for admins (and each user's own tokens)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel, Field

from seedbed.auth import permissions, tokens, users
from seedbed.auth.tokens import TokenInfo
from seedbed.auth.users import User
from seedbed.web.deps import AdminUser, CurrentUser, WorkspaceDep

router = APIRouter(tags=["users"])


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    pii: bool
    disabled: bool


class UserCreate(BaseModel):
    username: str
    role: str = "editor"
    pii: bool = False
    password: str | None = Field(None, description="None: the user logs in with tokens only.")
    display_name: str = ""


class UserChange(BaseModel):
    role: str | None = None
    pii: bool | None = None
    disabled: bool | None = None
    display_name: str | None = None


class PasswordSet(BaseModel):
    password: str


class TokenOut(BaseModel):
    id: int
    username: str
    name: str
    prefix: str
    created_at: int
    expires_at: int | None
    last_used_at: int | None
    revoked: bool
    expired: bool


class TokenCreate(BaseModel):
    name: str
    expires_in_days: float | None = Field(None, gt=0, description="None: never expires.")


class TokenCreated(BaseModel):
    token: str = Field(description="The secret; shown this once and never again.")
    info: TokenOut


def user_out(user: User) -> UserOut:
    return UserOut(**asdict(user))


def token_out(info: TokenInfo) -> TokenOut:
    return TokenOut(**asdict(info), expired=info.expired)


def create_token_for(
    workspace: WorkspaceDep,
    owner: User,
    name: str,
    expires_in_days: float | None,
    actor: str | None,
) -> TokenCreated:
    expires_in_s = tokens.expiry_s(expires_in_days)
    secret = tokens.create_token(workspace, owner, name, expires_in_s, actor=actor)
    info = next(
        t for t in reversed(tokens.list_tokens(workspace, owner)) if secret[:10] == t.prefix
    )
    return TokenCreated(token=secret, info=token_out(info))


@router.get("/api/v1/me")
def api_me(user: CurrentUser) -> UserOut:
    """Who the caller is."""
    return user_out(user)


@router.get("/api/v1/users")
def api_list_users(workspace: WorkspaceDep, admin: AdminUser) -> list[UserOut]:
    """All users, disabled ones included."""
    return [user_out(u) for u in users.list_users(workspace)]


@router.post("/api/v1/users", status_code=201)
def api_create_user(body: UserCreate, workspace: WorkspaceDep, admin: AdminUser) -> UserOut:
    """Add a user (roles: viewer, editor, admin)."""
    created = users.create_user(
        workspace,
        body.username,
        role=body.role,
        password=body.password,
        display_name=body.display_name,
        pii=body.pii,
        actor=admin.username,
    )
    return user_out(created)


@router.patch("/api/v1/users/{username}")
def api_change_user(
    username: str, body: UserChange, workspace: WorkspaceDep, admin: AdminUser
) -> UserOut:
    """Change a user's role, pii permission, disabled state or display name."""
    changed = users.update_user(workspace, username, actor=admin.username, **body.model_dump())
    return user_out(changed)


@router.delete("/api/v1/users/{username}", status_code=204)
def api_remove_user(username: str, workspace: WorkspaceDep, admin: AdminUser) -> None:
    """Remove a user and their tokens (not the last admin)."""
    users.remove_user(workspace, username, actor=admin.username)


@router.put("/api/v1/users/{username}/password", status_code=204)
def api_set_password(
    username: str, body: PasswordSet, workspace: WorkspaceDep, admin: AdminUser
) -> None:
    """Set a new password for a user."""
    users.set_password(workspace, username, body.password, actor=admin.username)


def _owner(workspace: WorkspaceDep, caller: User, username: str) -> User:
    permissions.require(caller, "manage_tokens", username)
    return users.get_user_by_name(workspace, username)


@router.get("/api/v1/users/{username}/tokens")
def api_list_tokens(username: str, workspace: WorkspaceDep, user: CurrentUser) -> list[TokenOut]:
    """A user's tokens (your own, or anyone's for admins)."""
    owner = _owner(workspace, user, username)
    return [token_out(t) for t in tokens.list_tokens(workspace, owner)]


@router.post("/api/v1/users/{username}/tokens", status_code=201)
def api_create_token(
    username: str, body: TokenCreate, workspace: WorkspaceDep, user: CurrentUser
) -> TokenCreated:
    """Mint a token; its secret is in this answer only."""
    owner = _owner(workspace, user, username)
    return create_token_for(workspace, owner, body.name, body.expires_in_days, actor=user.username)


@router.delete("/api/v1/users/{username}/tokens/{token_id}", status_code=204)
def api_revoke_token(
    username: str, token_id: int, workspace: WorkspaceDep, user: CurrentUser
) -> None:
    """Revoke a token; it stops working at once."""
    owner = _owner(workspace, user, username)
    tokens.revoke_token(workspace, owner, token_id, actor=user.username)
