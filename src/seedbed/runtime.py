"""The runtime file and lock that say which server owns a workspace (like Jupyter's)."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import IO, Any

from seedbed.errors import Conflict

RUNTIME_FILE = "server.json"
LOCK_FILE = "server.lock"


def runtime_path(workspace_root: Path) -> Path:
    return workspace_root / ".seedbed" / RUNTIME_FILE


class ServerLock:
    """An exclusive flock on the workspace: the OS releases it if the server dies."""

    def __init__(self, workspace_root: Path) -> None:
        self.root = workspace_root
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        path = self.root / ".seedbed" / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            running = read_runtime(self.root) or {}
            where = f" at {running['url']} (pid {running['pid']})" if running else ""
            raise Conflict(
                f"A seedbed server already serves the workspace {self.root}{where}. "
                "Stop it first (Ctrl+C in its terminal), or start this one with "
                "another --workspace."
            ) from None
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def write_runtime(workspace_root: Path, url: str, token_path: Path) -> None:
    path = runtime_path(workspace_root)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(
        json.dumps({"url": url, "pid": os.getpid(), "token_path": str(token_path)}),
        encoding="utf-8",
    )
    temporary.replace(path)


def read_runtime(workspace_root: Path) -> dict[str, Any] | None:
    path = runtime_path(workspace_root)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def remove_runtime(workspace_root: Path) -> None:
    runtime_path(workspace_root).unlink(missing_ok=True)
