"""User administration as the CLI sees it: one interface over the server's /api/v1/users or,
when no server runs, over the workspace itself (the CLI then holds the server lock)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from seedbed.auth import tokens, users
from seedbed.auth.routes import create_token_for, token_out, user_out

if TYPE_CHECKING:
    from seedbed.client import Client
    from seedbed.workspace import Workspace

Row = dict[str, Any]


class UserAdmin(Protocol):
    def list_users(self) -> list[Row]: ...
    def add(
        self, name: str, role: str, pii: bool, password: str | None, display_name: str
    ) -> Row: ...
    def change(
        self, name: str, role: str | None, pii: bool | None, disabled: bool | None
    ) -> Row: ...
    def remove(self, name: str) -> None: ...
    def set_password(self, name: str, password: str) -> None: ...
    def tokens(self, name: str) -> list[Row]: ...
    def create_token(self, name: str, label: str, expires_in_days: float | None) -> Row: ...
    def revoke_token(self, name: str, token_id: int) -> None: ...


def _path(name: str) -> str:
    from urllib.parse import quote

    return "/api/v1/users/" + quote(name, safe="")


class HttpUserAdmin:
    """Through the running server, as the caller's token allows."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def list_users(self) -> list[Row]:
        found: list[Row] = self.client.request("GET", "/api/v1/users").json()
        return found

    def add(self, name: str, role: str, pii: bool, password: str | None, display_name: str) -> Row:
        body = {
            "username": name,
            "role": role,
            "pii": pii,
            "password": password,
            "display_name": display_name,
        }
        created: Row = self.client.request("POST", "/api/v1/users", json=body).json()
        return created

    def change(self, name: str, role: str | None, pii: bool | None, disabled: bool | None) -> Row:
        body = {"role": role, "pii": pii, "disabled": disabled}
        changed: Row = self.client.request("PATCH", _path(name), json=body).json()
        return changed

    def remove(self, name: str) -> None:
        self.client.request("DELETE", _path(name))

    def set_password(self, name: str, password: str) -> None:
        self.client.request("PUT", _path(name) + "/password", json={"password": password})

    def tokens(self, name: str) -> list[Row]:
        found: list[Row] = self.client.request("GET", _path(name) + "/tokens").json()
        return found

    def create_token(self, name: str, label: str, expires_in_days: float | None) -> Row:
        body = {"name": label, "expires_in_days": expires_in_days}
        created: Row = self.client.request("POST", _path(name) + "/tokens", json=body).json()
        return created

    def revoke_token(self, name: str, token_id: int) -> None:
        self.client.request("DELETE", f"{_path(name)}/tokens/{token_id}")


class LocalUserAdmin:
    """On the workspace directly, as its owner; audit events name no user."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @classmethod
    @contextlib.contextmanager
    def open(cls) -> Iterator[LocalUserAdmin]:
        """Open ./workspace (or SEEDBED_WORKSPACE) under the server lock."""
        from seedbed.runtime import ServerLock
        from seedbed.settings import load_settings
        from seedbed.workspace import Workspace

        settings = load_settings()
        if not (settings.workspace / ".seedbed").is_dir():
            from seedbed.errors import NotFound

            raise NotFound(
                f"No workspace at {settings.workspace.resolve()} and no server running; "
                "run `seedbed init` or `seedbed up`, or set SEEDBED_URL and SEEDBED_TOKEN."
            )
        lock = ServerLock(settings.workspace.resolve())
        lock.acquire()
        try:
            with Workspace.open(settings) as workspace:
                yield cls(workspace)
        finally:
            lock.release()

    def list_users(self) -> list[Row]:
        return [user_out(u).model_dump() for u in users.list_users(self.workspace)]

    def add(self, name: str, role: str, pii: bool, password: str | None, display_name: str) -> Row:
        created = users.create_user(self.workspace, name, role, password, display_name, pii)
        return user_out(created).model_dump()

    def change(self, name: str, role: str | None, pii: bool | None, disabled: bool | None) -> Row:
        changed = users.update_user(self.workspace, name, role=role, pii=pii, disabled=disabled)
        return user_out(changed).model_dump()

    def remove(self, name: str) -> None:
        users.remove_user(self.workspace, name)

    def set_password(self, name: str, password: str) -> None:
        users.set_password(self.workspace, name, password)

    def tokens(self, name: str) -> list[Row]:
        owner = users.get_user_by_name(self.workspace, name)
        return [token_out(t).model_dump() for t in tokens.list_tokens(self.workspace, owner)]

    def create_token(self, name: str, label: str, expires_in_days: float | None) -> Row:
        owner = users.get_user_by_name(self.workspace, name)
        created = create_token_for(self.workspace, owner, label, expires_in_days, actor=None)
        return created.model_dump()

    def revoke_token(self, name: str, token_id: int) -> None:
        owner = users.get_user_by_name(self.workspace, name)
        tokens.revoke_token(self.workspace, owner, token_id)
