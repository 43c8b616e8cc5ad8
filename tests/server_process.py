"""A real `seedbed up` in a subprocess on a random port, for end-to-end and browser tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

LOGIN_LINE = re.compile(r"Log in: (http://[^\s/]+)/login\?token=(\S+)")


class SeedbedServer:
    """Starts `python -m seedbed up`, waits for the login line and /health, stops by PID."""

    def __init__(
        self,
        workspace: Path,
        demo: bool = False,
        timeout_s: float = 120,
        demo_evaluation: bool = False,
    ) -> None:
        self.workspace = workspace
        self.demo = demo
        # the demo's evaluation runs 11 jobs in the background: only where a test wants it
        self.demo_evaluation = demo_evaluation
        self.timeout_s = timeout_s
        self.url = ""
        self.token = ""
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self.ready_after_s = 0.0

    @property
    def login_url(self) -> str:
        return f"{self.url}/login?token={self.token}"

    def start(self) -> SeedbedServer:
        command = [
            sys.executable,
            "-m",
            "seedbed",
            "up",
            "--workspace",
            str(self.workspace),
            "--port",
            "0",
        ]
        if self.demo:
            command.append("--demo")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDBED_")}
        env["SEEDBED_DEMO_EVALUATION"] = "true" if self.demo_evaluation else "false"
        started = time.monotonic()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        found = threading.Event()
        threading.Thread(target=self._read, args=(found,), daemon=True).start()
        if not found.wait(self.timeout_s):
            self.stop()
            raise RuntimeError("seedbed up printed no login line:\n" + "".join(self.output))
        while time.monotonic() - started < self.timeout_s:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).text == "OK":
                    self.ready_after_s = time.monotonic() - started
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("seedbed never answered /health:\n" + "".join(self.output))

    def _read(self, found: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            match = LOGIN_LINE.search(line)
            if match and not found.is_set():
                self.url, self.token = match.group(1), match.group(2)
                found.set()

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Send `sig` to the server's PID and wait; returns its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> SeedbedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run_cli(
    *args: str, env: dict[str, str], stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m seedbed ARGS` with only the SEEDBED_* variables of `env`, and its output."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SEEDBED_")}
    return subprocess.run(
        [sys.executable, "-m", "seedbed", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=clean | env | {"COLUMNS": "200"},
        cwd=cwd,
        timeout=120,
    )
