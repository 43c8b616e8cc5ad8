"""Hosted apps: Streamlit scripts the server runs as managed subprocesses under /apps/NAME/.

The server owns the processes, as it owns JupyterLab (seedbed.notebooks.jupyter): each app
listens on 127.0.0.1 on a port of its own with `--server.baseUrlPath apps/NAME`, so the
reverse proxy (seedbed.apps.proxy) forwards paths unchanged. Its script lives in
`<workspace>/apps/NAME/app.py` and its log next to it. It gets SEEDBED_URL and a seedbed token
of the user who started it (made for it, revoked when it stops), so `seedbed.connect()` in the
app reads what that user may read, and no more. The server stops every app when it stops; a
server that starts finds the rows an earlier one left "running" and marks them stopped (its
processes, if any survived, are ended): `seedbed apps restart NAME` starts one again.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import logging
import os
import re
import secrets
import shutil
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update

from seedbed.apps.hosted_process import TOKEN_PREFIX, AppProcess, app_folder
from seedbed.apps.tables import hosted_apps
from seedbed.auth import audit, tokens, users
from seedbed.auth.permissions import require
from seedbed.auth.users import User
from seedbed.db import now_ms
from seedbed.errors import Conflict, Invalid, NotFound, SeedbedError
from seedbed.supervised import last_lines
from seedbed.workspace import Workspace

log = logging.getLogger(__name__)

KIND = "streamlit"
MAX_SCRIPT_BYTES = 1_000_000
NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?")
STATUSES = ("starting", "running", "stopped", "failed")


@dataclass(frozen=True)
class HostedApp:
    """One hosted app as its row records it."""

    name: str
    kind: str
    status: str
    message: str
    port: int | None
    pid: int | None
    started_by: str
    created_at: int
    updated_at: int

    @property
    def path(self) -> str:
        """Where the app answers on the seedbed server."""
        return f"/apps/{self.name}/"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "message": self.message,
            "port": self.port,
            "pid": self.pid,
            "started_by": self.started_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "path": self.path,
        }


def check_name(name: str) -> str:
    """The name, if it is one a URL path can hold; else Invalid saying what a name may be."""
    if not NAME.fullmatch(name):
        raise Invalid(
            f"{name!r} is not a valid app name: use 1 to 50 lower-case letters, digits and "
            "dashes, starting and ending with a letter or digit (e.g. 'delay-explorer')."
        )
    return name


def check_script(script: str, filename: str = "app.py") -> None:
    """Refuse a script that is empty, too big, not Python, or imports what is not installed."""
    if not script.strip():
        raise Invalid("The app's script is empty: give a Streamlit script such as app.py.")
    if len(script.encode("utf-8")) > MAX_SCRIPT_BYTES:
        raise Invalid(f"The app's script is over {MAX_SCRIPT_BYTES:,} bytes; keep data out of it.")
    try:
        tree = ast.parse(script, filename=filename)
        compile(tree, filename, "exec")
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        raise Invalid(
            f"{filename} has a syntax error at {where}: {exc.msg}. Fix it and serve it again."
        ) from None
    missing = sorted(m for m in _imported_modules(tree) if importlib.util.find_spec(m) is None)
    if missing:
        raise Invalid(
            f"{filename} imports {', '.join(missing)}, which the server's Python does not have. "
            "Install it in the server's environment (pip install …) and serve the app again."
        )


def _imported_modules(tree: ast.Module) -> set[str]:
    """Packages the script imports unconditionally (not inside try/if or a function, where
    a missing one may be what the script expects; relative imports are its own)."""
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _from_row(row: Any) -> HostedApp:
    return HostedApp(
        name=row["name"],
        kind=row["kind"],
        status=row["status"],
        message=row["message"] or "",
        port=row["port"],
        pid=row["pid"],
        started_by=row["started_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class HostedApps:
    """The hosted apps of one server: started on request, stopped with the server."""

    def __init__(self, workspace: Workspace, server_url: str) -> None:
        self.workspace = workspace
        self.server_url = server_url
        self._running: dict[str, AppProcess] = {}
        self._lock = threading.RLock()
        self._closed = False
        self._reconcile()

    # -- reading ------------------------------------------------------------------------

    def list(self) -> list[HostedApp]:
        """Every app, by name; an app whose process died reads "failed"."""
        self._notice_deaths()
        with self.workspace.engine.connect() as connection:
            rows = connection.execute(select(hosted_apps).order_by(hosted_apps.c.name))
            return [_from_row(r) for r in rows.mappings()]

    def get(self, name: str) -> HostedApp:
        self._notice_deaths()
        with self.workspace.engine.connect() as connection:
            row = (
                connection.execute(select(hosted_apps).where(hosted_apps.c.name == name))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"No app named {name!r}: `seedbed apps list` shows the apps there are.")
        return _from_row(row)

    def port_of(self, name: str) -> int | None:
        """Where the app listens while it runs (no database read: the proxy asks per request)."""
        running = self._running.get(name)
        return running.port if running is not None and running.alive() else None

    def logs(self, name: str, lines: int = 200) -> str:
        """The last lines the app printed (streamlit's output and the script's errors)."""
        self.get(name)
        text = last_lines(app_folder(self.workspace, name) / "app.log", lines)
        return text + "\n" if text else ""

    # -- changing -----------------------------------------------------------------------

    def serve(self, user: User, name: str, script: str, replace: bool = False) -> HostedApp:
        """Save the script as app NAME and start it; waits until it answers.

        A running app of that name is a Conflict unless `replace`; a stopped one is replaced.
        """
        require(user, "write")
        check_name(name)
        check_script(script)
        with self._lock:
            if self._closed:
                raise SeedbedError("The server is stopping; serve the app once it runs again.")
            existing = self._row(name)
            if existing is not None and existing.status in ("starting", "running"):
                if not replace:
                    raise Conflict(
                        f"An app named {name!r} is already running (started by "
                        f"{existing.started_by}). Stop it first, choose another name, or "
                        "replace it (--replace)."
                    )
                self._stop_process(name)
            _write_atomically(app_folder(self.workspace, name) / "app.py", script)
            app = self._start(user, name, script, created=existing is None)
        audit.record(self.workspace, user.username, "app.serve", name)
        return app

    def restart(self, user: User, name: str) -> HostedApp:
        """Start the app again from its saved script, acting for `user`."""
        require(user, "write")
        with self._lock:
            self.get(name)
            self._stop_process(name)
            script = (app_folder(self.workspace, name) / "app.py").read_text(encoding="utf-8")
            started = self._start(user, name, script, created=False)
        audit.record(self.workspace, user.username, "app.restart", name)
        return started

    def stop(self, user: User, name: str) -> HostedApp:
        """Stop the app's process and revoke its token; the app stays listed as stopped."""
        require(user, "write")
        with self._lock:
            self.get(name)
            self._stop_process(name)
            self._set(name, status="stopped", message=f"stopped by {user.username}", pid=None)
        audit.record(self.workspace, user.username, "app.stop", name)
        return self.get(name)

    def delete(self, user: User, name: str) -> None:
        """Stop the app and forget it: its row and its folder go."""
        require(user, "write")
        with self._lock:
            self.get(name)
            self._stop_process(name)
            # the folder first (links the app made are removed, never followed), then the row
            shutil.rmtree(app_folder(self.workspace, name), ignore_errors=True)
            with self.workspace.engine.begin() as connection:
                connection.execute(delete(hosted_apps).where(hosted_apps.c.name == name))
        audit.record(self.workspace, user.username, "app.delete", name)

    def close(self) -> None:
        """Stop every app (the server stops)."""
        with self._lock:
            self._closed = True
            running = list(self._running.items())
            self._running.clear()
            for _name, process in running:
                process.terminate()  # all at once: each takes a moment to exit
            for name, process in running:
                with contextlib.suppress(Exception):  # the workspace may be closing too
                    process.stop()
                    self._set(name, status="stopped", message="the server stopped", pid=None)

    # -- internals ----------------------------------------------------------------------

    def _start(self, user: User, name: str, script: str, created: bool) -> HostedApp:
        process = AppProcess(self.workspace, user, name)
        values = dict(
            kind=KIND, script=script, status="starting", message="", port=process.port,
            pid=None, started_by=user.username, updated_at=now_ms(),
        )  # fmt: skip
        with self.workspace.engine.begin() as connection:
            if created:
                connection.execute(
                    insert(hosted_apps).values(name=name, created_at=now_ms(), **values)
                )
            else:
                connection.execute(
                    update(hosted_apps).where(hosted_apps.c.name == name).values(**values)
                )
        try:
            process.start(self.server_url)
        except SeedbedError as exc:
            self._set(name, status="failed", message=str(exc), pid=None)
            raise
        self._running[name] = process
        assert process.process is not None
        self._set(name, status="running", pid=process.process.pid)
        return self.get(name)

    def _stop_process(self, name: str) -> None:
        process = self._running.pop(name, None)
        if process is not None:
            process.stop()

    def _row(self, name: str) -> HostedApp | None:
        try:
            return self.get(name)
        except NotFound:
            return None

    def _set(self, name: str, **values: Any) -> None:
        with self.workspace.engine.begin() as connection:
            connection.execute(
                update(hosted_apps)
                .where(hosted_apps.c.name == name)
                .values(updated_at=now_ms(), **values)
            )

    def _notice_deaths(self) -> None:
        """An app whose process ended on its own is marked failed, with its last log lines."""
        if not self._lock.acquire(blocking=False):
            return  # an app is starting or stopping: look next time rather than wait
        try:
            for name, process in list(self._running.items()):
                if process.alive():
                    continue
                self._running.pop(name)
                tail = process.tail()
                process.stop()  # revokes its token
                self._set(name, status="failed", message=f"the app exited:\n{tail}", pid=None)
        finally:
            self._lock.release()

    def _reconcile(self) -> None:
        """Rows an earlier server left starting/running: end stray processes, mark stopped."""
        with self.workspace.engine.connect() as connection:
            rows = connection.execute(
                select(hosted_apps.c.name, hosted_apps.c.pid, hosted_apps.c.started_by).where(
                    hosted_apps.c.status.in_(("starting", "running"))
                )
            ).all()
        for name, pid, _started_by in rows:
            if pid and _is_our_app(pid, app_folder(self.workspace, name)):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGTERM)
            self._set(
                name,
                status="stopped",
                pid=None,
                message="the server restarted; `seedbed apps restart NAME` starts it again",
            )
        _revoke_leftover_tokens(self.workspace)


def _is_our_app(pid: int, folder: Path) -> bool:
    """Whether `pid` is still a streamlit run inside `folder` (not a reused pid)."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return Path(cwd) == folder and b"streamlit" in cmdline


def _revoke_leftover_tokens(workspace: Workspace) -> None:
    """Tokens made for apps of an earlier server (killed before it could revoke them)."""
    for info in tokens.list_tokens(workspace):
        if info.revoked or not info.name.startswith(TOKEN_PREFIX):
            continue
        with contextlib.suppress(NotFound, Invalid):
            owner = users.get_user_by_name(workspace, info.username)
            tokens.revoke_token(workspace, owner, info.id)
