"""Peers the benchmarks start beside seedbed: MLflow's own tracking server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def mlflow_installed() -> bool:
    return (Path(sys.executable).parent / "mlflow").exists()


@contextmanager
def served(
    command: list[str], port: int, name: str, timeout_s: float, cwd: Path | None = None
) -> Iterator[str]:
    """Run a peer's server `command`, listening on 127.0.0.1:`port`, in its own process
    group until GET /health answers; yield its URL; stop the group by its PID."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{name} did not answer /health within {timeout_s} s")
            time.sleep(0.05)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and the workers of its group
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def mlflow_server(folder: Path, timeout_s: float = 300) -> Iterator[str]:
    """A fresh `mlflow server` (SQLite backend, one worker) until /health answers; its URL."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination",
        str(folder / "artifacts"),
    ]
    with served(command, port, "mlflow server", timeout_s) as url:
        yield url
