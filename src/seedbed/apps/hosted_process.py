"""One hosted app's process: streamlit on a port of its own, its token, its log.

The process acts as the user who started it through a token made for it (revoked when it
stops) and, where the kernel has Landlock (settings `compute.confine`), is confined as jobs
are: it reads the workspace's code (`lib/`, `features/`, its own folder) but not the metadata
DB, the warehouse, the artifacts or the keys, and writes only its own `home/`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from seedbed.auth import tokens
from seedbed.auth.users import User
from seedbed.compute import confine, confinement
from seedbed.compute.executor import inherited_environment
from seedbed.errors import Invalid, NotFound, SeedbedError
from seedbed.notebooks.jupyter import free_port
from seedbed.supervised import last_lines, wait_or_kill
from seedbed.workspace import Workspace

HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
TOKEN_PREFIX = "hosted-app "  # the names of the tokens apps get: "hosted-app NAME abc123"


def app_folder(workspace: Workspace, name: str) -> Path:
    return workspace.root / "apps" / name


class AppProcess:
    """One running app: its subprocess, log file and the token it was given."""

    def __init__(self, workspace: Workspace, user: User, name: str) -> None:
        self.workspace = workspace
        self.user = user
        self.name = name
        self.folder = app_folder(workspace, name)
        self.port = free_port()
        self.token_id: int | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / "app.log"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, server_url: str) -> None:
        """Start streamlit and wait until its health endpoint answers."""
        token = self._mint_token()
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.address", HOST,
            "--server.port", str(self.port),
            "--server.baseUrlPath", f"apps/{self.name}",
            "--server.headless", "true",
            "--server.fileWatcherType", "none",
            "--server.runOnSave", "false",
            "--browser.gatherUsageStats", "false",
            "--global.developmentMode", "false",
        ]  # fmt: skip
        env = inherited_environment(dict(os.environ))
        env.update(SEEDBED_URL=server_url, SEEDBED_TOKEN=token, PYTHONUNBUFFERED="1")
        home = self.folder / "home"  # streamlit's ~/.streamlit stays the app's own
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        env.update(HOME=str(home), TMPDIR=str(home / "tmp"))
        rules = self._confinement(home)
        if rules is not None:
            command = [sys.executable, "-P", str(confine.SCRIPT), str(rules), "--", *command]
        try:
            with self.log_path.open("wb") as log_file:
                self.process = subprocess.Popen(
                    command,
                    cwd=self.folder,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # the server's Ctrl-C is ours to pass on
                )
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _confinement(self, home: Path) -> Path | None:
        """The Landlock rules of the app (compute.confine), as a file; None when it runs
        unconfined. Like a job, it reads the workspace's code but not its internals (the
        metadata DB, warehouse, artifacts, keys): its data comes through its token."""
        if not confinement.wanted(self.workspace):
            return None
        workspace = self.workspace
        readable = [workspace.lib_dir, workspace.features_dir, self.folder]
        rules = confine.rules_for(workspace.root, home, readable)
        path = self.folder / "confine.json"
        path.write_text(json.dumps(rules), encoding="utf-8")
        return path

    def _mint_token(self) -> str:
        label = f"{TOKEN_PREFIX}{self.name} {secrets.token_hex(3)}"
        value, self.token_id = tokens.issue_token(self.workspace, self.user, label)
        return value

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        health = f"http://{HOST}:{self.port}/apps/{self.name}/_stcore/health"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SeedbedError(f"App {self.name} stopped while starting:\n{self.tail()}")
            try:
                if httpx.get(health, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise SeedbedError(
            f"App {self.name} did not answer within {READY_TIMEOUT_S:.0f} s.\n{self.tail()}"
        )

    def tail(self, lines: int = 20) -> str:
        return last_lines(self.log_path, lines)

    def terminate(self) -> None:
        """Ask the process (and what it started) to end; `stop` waits for it."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL) and revoke its token."""
        process = self.process
        if process is not None and process.poll() is None:
            self.terminate()
            wait_or_kill(process, STOP_TIMEOUT_S)
        if self.token_id is not None:
            with contextlib.suppress(NotFound, Invalid):
                tokens.revoke_token(self.workspace, self.user, self.token_id)
            self.token_id = None
