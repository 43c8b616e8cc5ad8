"""Start-up benchmark: seedbed's first demo start and restart vs the MLflow tracking server.

Targets (issue 2): `seedbed up` on an existing workspace answers /health within 3 s; a
first `seedbed up --demo` is ready within 60 s on 2 cores. The peer is `mlflow server`
with its default SQLite backend, started the same way and timed to its first /health.
Prints each time and the ratios. Run with `make bench` or `python bench/startup.py`.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from peers import mlflow_installed, mlflow_server
from server_process import SeedbedServer

REPEATS = 3


def time_seedbed(workspace: Path, demo: bool) -> float:
    server = SeedbedServer(workspace, demo=demo, timeout_s=300)
    server.start()
    elapsed = server.ready_after_s
    server.stop()
    return elapsed


def time_mlflow(folder: Path) -> float | None:
    """Seconds until a fresh `mlflow server` answers /health, or None without mlflow."""
    if not mlflow_installed():
        return None
    started = time.monotonic()
    with mlflow_server(folder):
        return time.monotonic() - started


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        first_demo = time_seedbed(root / "demo", demo=True)
        restarts = [time_seedbed(root / "demo", demo=True) for _ in range(REPEATS)]
        plain = [time_seedbed(root / "demo", demo=False) for _ in range(REPEATS)]
        mlflow_times = []
        for index in range(REPEATS):
            (root / f"mlflow{index}").mkdir()
            measured = time_mlflow(root / f"mlflow{index}")
            if measured is not None:
                mlflow_times.append(measured)
    restart = statistics.median(restarts)
    print(f"seedbed first `up --demo` to /health: {first_demo:.2f} s (target 60 s)")
    print(
        f"seedbed `up --demo` on the built workspace: median {restart:.2f} s "
        f"of {[round(t, 2) for t in restarts]} (target 3 s)"
    )
    print(
        f"seedbed `up` on an existing workspace: median {statistics.median(plain):.2f} s "
        f"of {[round(t, 2) for t in plain]} (target 3 s)"
    )
    if mlflow_times:
        peer = statistics.median(mlflow_times)
        print(
            f"mlflow server (fresh SQLite store) to /health: median {peer:.2f} s "
            f"of {[round(t, 2) for t in mlflow_times]}"
        )
        print(f"ratio mlflow / seedbed restart: {peer / restart:.2f}x")
    else:
        print("mlflow server: not installed in this environment; no peer ratio.")


if __name__ == "__main__":
    main()
