"""Admin pages for users and tokens, and each user's own tokens. Every form is CSRF-checked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from seedbed.auth import tokens, users
from seedbed.auth.users import ROLES, User
from seedbed.errors import Invalid, SeedbedError
from seedbed.web.deps import AdminUser, CsrfChecked, CurrentUser, WorkspaceDep
from seedbed.web.security import SESSION_STAMP, SESSION_USER
from seedbed.web.templating import render
from seedbed.workspace import Workspace

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
Flag = Annotated[str | None, Form()]


def _users_page(
    request: Request, workspace: Workspace, status_code: int = 200, **context: Any
) -> Response:
    context.setdefault("notice", None)
    context.setdefault("error", None)
    return render(
        request,
        "auth/users.html",
        status_code=status_code,
        users=users.list_users(workspace),
        roles=ROLES,
        **context,
    )


def _tokens_page(
    request: Request,
    workspace: Workspace,
    owner: User | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """All tokens (admin view, owner None) or one user's own tokens."""
    context.setdefault("notice", None)
    context.setdefault("error", None)
    context.setdefault("secret", None)
    return render(
        request,
        "auth/tokens.html",
        status_code=status_code,
        tokens=tokens.list_tokens(workspace, owner),
        everyone=owner is None,
        users=users.list_users(workspace) if owner is None else [],
        **context,
    )


def _expiry_s(days: str) -> int | None:
    if not days.strip():
        return None
    try:
        value = float(days)
    except ValueError:
        raise Invalid(f"Expires in {days!r} days is not a number.") from None
    return tokens.expiry_s(value)


@router.get("/ui/admin")
def users_page(request: Request, workspace: WorkspaceDep, admin: AdminUser) -> Response:
    return _users_page(request, workspace)


@router.post("/ui/admin/users", dependencies=[CsrfChecked])
def add_user_form(
    request: Request,
    workspace: WorkspaceDep,
    admin: AdminUser,
    username: Text,
    role: Text,
    password: Text = "",
    display_name: Text = "",
    pii: Flag = None,
) -> Response:
    try:
        users.create_user(
            workspace,
            username.strip(),
            role=role,
            password=password or None,
            display_name=display_name,
            pii=pii is not None,
            actor=admin.username,
        )
    except SeedbedError as exc:
        return _users_page(request, workspace, exc.status_code, error=str(exc))
    return _users_page(request, workspace, notice=f"Added {username.strip()} as a {role}.")


@router.post("/ui/admin/users/{username}", dependencies=[CsrfChecked])
def change_user_form(
    request: Request,
    workspace: WorkspaceDep,
    admin: AdminUser,
    username: str,
    action: Text,
    role: Text = "",
    pii: Flag = None,
    password: Text = "",
) -> Response:
    """One form per user row; the button pressed names the action."""
    try:
        if action == "save":
            users.update_user(
                workspace, username, role=role, pii=pii is not None, actor=admin.username
            )
            notice = f"Saved {username}."
        elif action in ("disable", "enable"):
            users.update_user(
                workspace, username, disabled=action == "disable", actor=admin.username
            )
            notice = f"{username} is {action}d."
        elif action == "remove":
            users.remove_user(workspace, username, actor=admin.username)
            notice = f"Removed {username} and their tokens."
        elif action == "password":
            users.set_password(workspace, username, password, actor=admin.username)
            if username == admin.username and SESSION_USER in request.session:
                # ends the admin's other sessions, not this one
                request.session[SESSION_STAMP] = users.session_stamp(workspace, admin.id)
            notice = f"Set a new password for {username}."
        else:
            raise Invalid(f"Unknown action {action!r}.")
    except SeedbedError as exc:
        return _users_page(request, workspace, exc.status_code, error=str(exc))
    return _users_page(request, workspace, notice=notice)


@router.get("/ui/admin/tokens")
def all_tokens_page(request: Request, workspace: WorkspaceDep, admin: AdminUser) -> Response:
    return _tokens_page(request, workspace, None)


@router.post("/ui/admin/tokens", dependencies=[CsrfChecked])
def create_any_token_form(
    request: Request,
    workspace: WorkspaceDep,
    admin: AdminUser,
    username: Text,
    name: Text,
    expires_in_days: Text = "",
) -> Response:
    try:
        owner = users.get_user_by_name(workspace, username)
        secret = tokens.create_token(
            workspace, owner, name, _expiry_s(expires_in_days), actor=admin.username
        )
    except SeedbedError as exc:
        return _tokens_page(request, workspace, None, exc.status_code, error=str(exc))
    return _tokens_page(request, workspace, None, secret=secret, secret_owner=owner.username)


@router.post("/ui/admin/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def revoke_any_token_form(
    request: Request, workspace: WorkspaceDep, admin: AdminUser, token_id: int, username: Text
) -> Response:
    try:
        owner = users.get_user_by_name(workspace, username)
        tokens.revoke_token(workspace, owner, token_id, actor=admin.username)
    except SeedbedError as exc:
        return _tokens_page(request, workspace, None, exc.status_code, error=str(exc))
    return _tokens_page(request, workspace, None, notice=f"Revoked token {token_id}.")


@router.get("/ui/tokens")
def my_tokens_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return _tokens_page(request, workspace, user)


@router.post("/ui/tokens", dependencies=[CsrfChecked])
def create_my_token_form(
    request: Request,
    workspace: WorkspaceDep,
    user: CurrentUser,
    name: Text,
    expires_in_days: Text = "",
) -> Response:
    try:
        secret = tokens.create_token(workspace, user, name, _expiry_s(expires_in_days))
    except SeedbedError as exc:
        return _tokens_page(request, workspace, user, exc.status_code, error=str(exc))
    return _tokens_page(request, workspace, user, secret=secret, secret_owner=user.username)


@router.post("/ui/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def revoke_my_token_form(
    request: Request, workspace: WorkspaceDep, user: CurrentUser, token_id: int
) -> Response:
    try:
        tokens.revoke_token(workspace, user, token_id)
    except SeedbedError as exc:
        return _tokens_page(request, workspace, user, exc.status_code, error=str(exc))
    return _tokens_page(request, workspace, user, notice=f"Revoked token {token_id}.")
