"""`seedbed users …`: users and their API tokens, through the server (or the workspace when
no server runs)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seedbed.cli_output import console, emit, fail
from seedbed.errors import Invalid, SeedbedError

if TYPE_CHECKING:
    from seedbed.auth.user_admin import UserAdmin

app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens of a user.", no_args_is_help=True)
app.add_typer(token_app, name="token")
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Name = Annotated[str, typer.Argument(help="Username.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


@contextlib.contextmanager
def user_admin() -> Iterator[UserAdmin]:
    """The running server over HTTP; without one, the local workspace (locked meanwhile)."""
    # Imported here: the server's modules load only for `seedbed users`, not every command.
    from seedbed.auth.user_admin import HttpUserAdmin, LocalUserAdmin
    from seedbed.client import connect
    from seedbed.errors import ServerNotFound

    try:
        client = connect()
    except ServerNotFound:
        if os.environ.get("SEEDBED_URL"):
            raise
        client = None
    if client is not None:
        with client:
            yield HttpUserAdmin(client)
        return
    with LocalUserAdmin.open() as local:
        yield local


def _password(from_stdin: bool, what: str = "Password") -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise Invalid("No terminal to ask for the password: pass it with --password-stdin.")
    value: str = typer.prompt(what, hide_input=True, confirmation_prompt=True)
    return value


@app.command("add")
def add(
    name: Name,
    role: Annotated[str, typer.Option(help="viewer, editor or admin.")] = "editor",
    pii: Annotated[bool, typer.Option("--pii", help="May read personal information.")] = False,
    display_name: Annotated[str, typer.Option(help="Name shown in the UI.")] = "",
    password_stdin: PasswordStdin = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Token login only; no password.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Add a user; asks for a password (at least 8 characters) unless told otherwise.

    Example: seedbed users add ada --role viewer --password-stdin
    """
    try:
        password = None if no_password else _password(password_stdin)
        with user_admin() as admin:
            created = admin.add(name, role, pii, password, display_name)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        emit([created], True)
        return
    console.print(f"Added {created['username']} ({created['role']}{', pii' if pii else ''}).")


@app.command("remove")
def remove(name: Name) -> None:
    """Remove a user and their tokens (never the last admin).

    Example: seedbed users remove ada
    """
    try:
        with user_admin() as admin:
            admin.remove(name)
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print(f"Removed {name}.")


@app.command("list")
def list_users(as_json: Json = False) -> None:
    """List users with their role, pii permission and state.

    Example: seedbed users list --json
    """
    try:
        with user_admin() as admin:
            found = admin.list_users()
    except SeedbedError as exc:
        raise fail(exc) from None
    emit(found if as_json else [_user_row(u) for u in found], as_json, "Users")


def _user_row(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "user": user["username"],
        "name": user["display_name"],
        "role": user["role"],
        "pii": "yes" if user["pii"] else "",
        "state": "disabled" if user["disabled"] else "active",
    }


@app.command("set")
def set_user(
    name: Name,
    role: Annotated[str | None, typer.Option(help="New role: viewer, editor or admin.")] = None,
    pii: Annotated[
        bool | None, typer.Option("--pii/--no-pii", help="Grant or take the pii permission.")
    ] = None,
    disabled: Annotated[
        bool | None, typer.Option("--disable/--enable", help="Disable or enable the user.")
    ] = None,
) -> None:
    """Change a user's role, pii permission or state; a disabled user's tokens stop at once.

    Example: seedbed users set ada --role editor --pii
    """
    try:
        with user_admin() as admin:
            changed = admin.change(name, role=role, pii=pii, disabled=disabled)
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print(", ".join(f"{k}: {v}" for k, v in _user_row(changed).items()))


@app.command("reset-password")
def reset_password(name: Name, password_stdin: PasswordStdin = False) -> None:
    """Set a new password for a user (asked twice, or read with --password-stdin).

    Example: seedbed users reset-password ada --password-stdin
    """
    try:
        password = _password(password_stdin, "New password")
        with user_admin() as admin:
            admin.set_password(name, password)
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print(f"Set a new password for {name}.")


@token_app.command("create")
def token_create(
    name: Name,
    label: Annotated[str, typer.Option("--name", help="What the token is for.")] = "cli",
    expires_in: Annotated[
        float | None, typer.Option("--expires-in", help="Days until it expires (default never).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Create an API token for a user and print it once.

    Example: seedbed users token create ada --name laptop --expires-in 30
    """
    try:
        with user_admin() as admin:
            created = admin.create_token(name, label, expires_in)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        emit([created], True)
        return
    console.print(f"Token {created['info']['id']} for {name}; copy it now, it is not shown again:")
    typer.echo(created["token"])


@token_app.command("list")
def token_list(name: Name, as_json: Json = False) -> None:
    """List a user's tokens: prefix, created, last used, expiry, state.

    Example: seedbed users token list ada --json
    """
    try:
        with user_admin() as admin:
            found = admin.tokens(name)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        emit(found, True)
        return
    emit([_token_row(t) for t in found], False, "Tokens")


def _token_row(token: dict[str, Any]) -> dict[str, Any]:
    from seedbed.web.templating import format_ms

    state = "revoked" if token["revoked"] else "expired" if token["expired"] else "active"
    return {
        "id": token["id"],
        "name": token["name"],
        "starts with": token["prefix"] + "…",
        "created": format_ms(token["created_at"]),
        "last used": format_ms(token["last_used_at"]),
        "expires": format_ms(token["expires_at"]),
        "state": state,
    }


@token_app.command("revoke")
def token_revoke(
    name: Name, token_id: Annotated[int, typer.Argument(help="Token id (from token list).")]
) -> None:
    """Revoke one of a user's tokens; it stops working at once.

    Example: seedbed users token revoke ada 3
    """
    try:
        with user_admin() as admin:
            admin.revoke_token(name, token_id)
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print(f"Revoked token {token_id} of {name}.")
