"""JupyterLab as a managed subprocess of the server, one per user who asks for it.

Each JupyterLab listens on 127.0.0.1 with a token of its own, has the workspace's
`notebooks/` as its root, keeps its config, data, runtime and IPython folders inside the
workspace (`.seedbed/jupyter/USER/`), and offers the workspace's environments as its
kernels and no others. A kernel's environment holds SEEDBED_URL and a seedbed token of the
user who started JupyterLab, made for it and revoked when it stops, so `sb.connect()` needs
no arguments. A supervisor thread starts JupyterLab again when it dies; the server stops
every JupyterLab when it stops.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from seedbed.auth import tokens
from seedbed.auth.users import User
from seedbed.compute import confine, confinement
from seedbed.compute.executor import inherited_environment
from seedbed.errors import Conflict, Invalid, NotFound, SeedbedError
from seedbed.notebooks import environments as envs
from seedbed.notebooks.export import KERNEL_DISPLAY_PREFIX
from seedbed.supervised import last_lines, wait_or_kill
from seedbed.workspace import Workspace

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
SUPERVISE_EVERY_S = 0.5
MAX_RESTARTS = 5  # within RESTART_WINDOW_S; past that JupyterLab is left stopped
RESTART_WINDOW_S = 60.0
_PORT_IN_USE = ("already in use", "Address already in use", "Errno 98")


@dataclass(frozen=True)
class LabInfo:
    """Where a running JupyterLab answers, and who it acts for."""

    username: str
    port: int
    pid: int
    url: str  # with its token: what a browser opens
    restarts: int
    kernel_events: tuple[str, ...] = ()  # kernels that died (and what became of them)

    def notebook_url(self, path: str) -> str:
        base, _, query = self.url.partition("?")
        return f"{base.removesuffix('/lab')}/lab/tree/{quote(path)}?{query}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as JupyterLab binds
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


class _Lab:
    """One user's JupyterLab: its folders, process, tokens and supervisor thread."""

    def __init__(self, workspace: Workspace, server_url: str, user: User, port: int) -> None:
        self.workspace = workspace
        self.server_url = server_url
        self.user = user
        self.requested_port = port
        self.port = port
        self.home = workspace.runtime_dir / "jupyter" / user.username
        self.lab_token = secrets.token_urlsafe(32)
        self.token_id: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts: list[float] = []
        self.stopping = threading.Event()
        self.lock = threading.RLock()
        self.supervisor: threading.Thread | None = None

    @property
    def log_path(self) -> Path:
        return self.home / "jupyterlab.log"

    def info(self) -> LabInfo:
        assert self.process is not None
        return LabInfo(
            self.user.username,
            self.port,
            self.process.pid,
            f"http://{HOST}:{self.port}/lab?token={self.lab_token}",
            len(self.restarts),
            kernel_events(self.log_path),
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- starting -------------------------------------------------------------------------

    def start(self) -> None:
        """Start JupyterLab and wait until it answers; the first start makes its token."""
        seedbed_token = self._mint_token()
        try:
            kernels = self._write_kernelspecs(seedbed_token)
            self._write_config(kernels)
            self._launch()
        except BaseException:
            self._revoke_token()
            raise
        self.supervisor = threading.Thread(
            target=self._supervise, name=f"jupyterlab-{self.user.username}", daemon=True
        )
        self.supervisor.start()

    def _mint_token(self) -> str:
        name = f"jupyterlab {secrets.token_hex(4)}"
        value, self.token_id = tokens.issue_token(self.workspace, self.user, name)
        return value

    def _revoke_token(self) -> None:
        if self.token_id is None:
            return
        with contextlib.suppress(NotFound, Invalid):
            tokens.revoke_token(self.workspace, self.user, self.token_id)
        self.token_id = None

    def _folder(self, name: str) -> Path:
        path = self.home / name
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def _write_kernelspecs(self, seedbed_token: str) -> list[str]:
        """One kernelspec per workspace environment, under this JupyterLab's JUPYTER_PATH."""
        kernels_dir = self._folder("path") / "kernels"
        shutil.rmtree(kernels_dir, ignore_errors=True)  # environments removed since go too
        names = []
        confined = self._kernel_confinement()
        for environment in envs.list_environments(self.workspace):
            folder = kernels_dir / environment.name
            folder.mkdir(parents=True, mode=0o700)
            python = str(environment.python)
            argv = [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            env = {
                "SEEDBED_URL": self.server_url,
                "SEEDBED_TOKEN": seedbed_token,
                "SEEDBED_ENVIRONMENT": environment.name,
            }
            if confined is not None:
                # the kernel gives up reading the workspace's internals before it starts
                argv = [python, "-P", str(confine.SCRIPT), str(confined), "--", *argv]
                home = self._folder("home")
                env.update(HOME=str(home), TMPDIR=str(home))
            spec = {
                "argv": argv,
                "display_name": f"{KERNEL_DISPLAY_PREFIX}{environment.name})",
                "language": "python",
                "env": env,
                "metadata": {"debugger": True},
            }
            _write_private(folder / "kernel.json", json.dumps(spec, indent=1))
            names.append(environment.name)
        return names

    def _kernel_confinement(self) -> Path | None:
        """The Landlock rules of this user's kernels (compute.confine), as a file; None when
        kernels run unconfined. Kernels read what jobs read, and write the notebooks
        folder (where notebooks save their files) and a home of their own."""
        if not confinement.wanted(self.workspace):
            return None
        workspace = self.workspace
        readable = [
            workspace.lib_dir,
            workspace.features_dir,
            workspace.root / "environments",
            self._folder("runtime"),  # the kernel's connection file
            self._folder("path"),
        ]
        rules = confine.rules_for(workspace.root, self._folder("home"), readable)
        rules["write"] += [str(workspace.notebooks_dir), str(self._folder("ipython"))]
        path = self.home / "confine.json"
        _write_private(path, json.dumps(rules))
        return path

    def _write_config(self, kernels: list[str]) -> None:
        # The token goes in a file only this user reads, not on the command line (ps shows it).
        config = {
            "IdentityProvider": {"token": self.lab_token},
            "ServerApp": {
                "ip": HOST,
                "open_browser": False,
                "root_dir": str(self.workspace.notebooks_dir),
                "port_retries": 0,
            },
            "KernelSpecManager": {"allowed_kernelspecs": kernels, "ensure_native_kernel": False},
            "MappingKernelManager": {"default_kernel_name": envs.DEFAULT},
            # nothing reaches out to the internet: no news, no update checks
            "LabApp": {
                "news_url": None,
                "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                "extension_manager": "readonly",
            },
        }
        _write_private(self._folder("config") / "jupyter_server_config.json", json.dumps(config))

    def _environment(self) -> dict[str, str]:
        env = inherited_environment(dict(os.environ))
        env.update(
            JUPYTER_CONFIG_DIR=str(self._folder("config")),
            JUPYTER_DATA_DIR=str(self._folder("data")),
            JUPYTER_RUNTIME_DIR=str(self._folder("runtime")),
            JUPYTER_PATH=str(self._folder("path")),
            IPYTHONDIR=str(self._folder("ipython")),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _launch(self) -> None:
        self.workspace.notebooks_dir.mkdir(parents=True, exist_ok=True)
        if self.requested_port:
            if port_in_use(self.requested_port):
                raise _port_conflict(self.requested_port)
            self.port = self.requested_port
        elif not self.port or port_in_use(self.port):
            self.port = free_port()
        command = [sys.executable, "-m", "jupyterlab", f"--port={self.port}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # JupyterLab refuses root without it
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                command,
                cwd=self.workspace.notebooks_dir,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the server's Ctrl-C is ours to pass on, not the tty's
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        status_url = f"http://{HOST}:{self.port}/api/status"
        headers = {"Authorization": f"token {self.lab_token}"}
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._failed()
            try:
                if httpx.get(status_url, headers=headers, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self._terminate()
        raise SeedbedError(
            f"JupyterLab did not answer within {READY_TIMEOUT_S:.0f} s.\n{self._tail()}"
        )

    def _failed(self) -> SeedbedError:
        tail = self._tail()
        if any(marker in tail for marker in _PORT_IN_USE):
            return _port_conflict(self.port)
        return SeedbedError(f"JupyterLab stopped while starting:\n{tail}")

    def _tail(self, lines: int = 15) -> str:
        return last_lines(self.log_path, lines)

    # -- supervising and stopping ---------------------------------------------------------

    def _supervise(self) -> None:
        while not self.stopping.wait(SUPERVISE_EVERY_S):
            with self.lock:
                if self.stopping.is_set() or self.alive():
                    continue
                now = time.monotonic()
                self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW_S]
                if len(self.restarts) >= MAX_RESTARTS:
                    log.error(
                        "JupyterLab of %s died %d times in a minute; leaving it stopped. "
                        "Its log: %s",
                        self.user.username,
                        MAX_RESTARTS,
                        self.log_path,
                    )
                    self._revoke_token()
                    return
                log.warning("JupyterLab of %s died; starting it again.", self.user.username)
                self.restarts.append(now)
                try:
                    self._launch()
                except SeedbedError:
                    log.exception("Could not start JupyterLab of %s again", self.user.username)

    def stop(self) -> None:
        self.stopping.set()
        if self.supervisor is not None and self.supervisor is not threading.current_thread():
            self.supervisor.join(timeout=STOP_TIMEOUT_S + READY_TIMEOUT_S)
        with self.lock:
            self._terminate()
            self._revoke_token()

    def _terminate(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        # SIGTERM lets JupyterLab shut its kernels down before it exits
        process.send_signal(signal.SIGTERM)
        wait_or_kill(process, STOP_TIMEOUT_S)


# What JupyterLab's kernel manager logs when a kernel's process dies: its restarter brings
# it back (up to 5 times), or gives up and the kernel is gone.
_KERNEL_DIED = re.compile(
    r"^\[\w (?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)[^\]]*\] "
    r"(?P<what>\w*KernelRestarter: restarting kernel \(\d+/\d+\)|Kernel \S+ died.*"
    r"|\w*KernelRestarter: restart failed.*)"
)


def kernel_events(log_path: Path, limit: int = 20) -> tuple[str, ...]:
    """The latest kernel deaths JupyterLab logged, newest last, as "TIME: what happened"."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ()
    found = []
    for line in text.splitlines():
        match = _KERNEL_DIED.match(line)
        if match is None:
            continue
        what = match.group("what")
        if "restarting kernel" in what:
            what = "a kernel died; JupyterLab restarted it " + what[what.index("(") :]
        elif "restart failed" in what:
            what = "a kernel died and could not be restarted: " + what.split(":", 1)[1].strip()
        found.append(f"{match.group('at')}: {what}")
    return tuple(found[-limit:])


def _port_conflict(port: int) -> Conflict:
    return Conflict(
        f"Port {port} on {HOST} is in use, so JupyterLab cannot listen there. "
        "Stop what uses it, or ask for another port (or none: a free one is picked)."
    )


def _write_private(path: Path, text: str) -> None:
    """Write a file only the server's user reads (it holds a token)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


class JupyterService:
    """The JupyterLabs of a server, started on demand and stopped with it."""

    def __init__(self, workspace: Workspace, server_url: str) -> None:
        self.workspace = workspace
        self.server_url = server_url
        self._labs: dict[int, _Lab] = {}
        self._lock = threading.Lock()

    def start(self, user: User, port: int = 0) -> LabInfo:
        """The user's running JupyterLab, started first if need be (`port` 0: a free one)."""
        with self._lock:
            lab = self._labs.get(user.id)
            if lab is not None and not lab.stopping.is_set():
                with lab.lock:
                    if lab.alive():
                        return lab.info()
                lab.stop()  # it gave up restarting; start afresh
            lab = _Lab(self.workspace, self.server_url, user, port)
            lab.start()
            self._labs[user.id] = lab
            return lab.info()

    def status(self, user: User) -> LabInfo | None:
        """The user's JupyterLab if it runs, else None."""
        lab = self._labs.get(user.id)
        if lab is None or lab.stopping.is_set():
            return None
        with lab.lock:
            return lab.info() if lab.alive() else None

    def stop(self, user: User) -> bool:
        """Stop the user's JupyterLab and revoke its token; False if none ran."""
        with self._lock:
            lab = self._labs.pop(user.id, None)
        if lab is None:
            return False
        lab.stop()
        return True

    def close(self) -> None:
        """Stop every JupyterLab (the server stops)."""
        with self._lock:
            labs = list(self._labs.values())
            self._labs.clear()
        for lab in labs:
            lab.stop()

    def describe(self, info: LabInfo) -> dict[str, Any]:
        return {
            "url": info.url,
            "port": info.port,
            "pid": info.pid,
            "user": info.username,
            "restarts": info.restarts,
            "kernel_events": list(info.kernel_events),
        }
