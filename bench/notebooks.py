"""Notebooks and environments benchmark: seedbed against the plain tools, in the same run.

Targets (issue 7): `seedbed notebook` ready within 10 s; adding a small pure-Python package
to an environment within 10 s once the uv cache is warm.

- JupyterLab: a plain `python -m jupyterlab` (the peer) from start to `/api/status`, and
  seedbed's `POST /api/v1/notebooks/server` (kernelspecs for the workspace's environments,
  a token, the supervisor) from the request to its answer, which comes once JupyterLab is
  ready; then the `seedbed notebook` CLI against the running one.
- Packages: `pip install tabulate` into a fresh venv of this Python (the peer), and
  `seedbed env add tabulate` through the server (uv with the machine's pip settings; warm
  uv cache after a first add and remove).

Run with `make bench` or `python bench/notebooks.py`.
"""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from server_process import SeedbedServer  # noqa: E402

REPEATS = 3
PACKAGE = "tabulate"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def plain_jupyterlab(folder: Path) -> float:
    """Seconds from starting `python -m jupyterlab` to its /api/status answering."""
    port = free_port()
    folder.mkdir(parents=True)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(folder / "config"),
        "JUPYTER_DATA_DIR": str(folder / "data"),
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        "IPYTHONDIR": str(folder / "ipython"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--port={port}",
        "--ip=127.0.0.1",
        "--no-browser",
        "--IdentityProvider.token=bench",
        f"--ServerApp.root_dir={folder}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/api/status", params={"token": "bench"}, timeout=2
                )
                if answer.status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > 120:
                raise TimeoutError("JupyterLab did not start")
            time.sleep(0.05)
    finally:
        process.terminate()
        process.wait(timeout=20)


def pip_install(folder: Path) -> float:
    """Seconds for `pip install PACKAGE` into a fresh venv (made beforehand, not timed)."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    started = time.perf_counter()
    subprocess.run(
        [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", PACKAGE],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}; load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="seedbed-bench-") as name:
        root = Path(name)
        peer_lab = [plain_jupyterlab(root / f"lab{i}") for i in range(REPEATS)]
        peer_pip = [pip_install(root / f"venv{i}") for i in range(REPEATS)]
        with SeedbedServer(root / "ws") as server:
            api = httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {server.token}"},
                timeout=300,
            )
            api.get("/api/v1/environments/default")  # the default environment exists
            labs, clis = [], []
            for _ in range(REPEATS):
                started = time.perf_counter()
                answer = api.post("/api/v1/notebooks/server")
                answer.raise_for_status()
                labs.append(time.perf_counter() - started)
                started = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "seedbed", "notebook"],
                    check=True,
                    capture_output=True,
                    env={**os.environ, "SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token},
                )
                clis.append(time.perf_counter() - started)
                api.delete("/api/v1/notebooks/server").raise_for_status()
            # warm uv's cache with one add and remove, then time adds
            api.post("/api/v1/environments/default/packages", json={"spec": PACKAGE})
            api.delete(f"/api/v1/environments/default/packages/{PACKAGE}")
            adds = []
            for _ in range(REPEATS):
                started = time.perf_counter()
                api.post(
                    "/api/v1/environments/default/packages", json={"spec": PACKAGE}
                ).raise_for_status()
                adds.append(time.perf_counter() - started)
                api.delete(f"/api/v1/environments/default/packages/{PACKAGE}").raise_for_status()
    lab, peer = statistics.median(labs), statistics.median(peer_lab)
    print(f"peer: plain JupyterLab to /api/status: median {peer:.2f} s")
    print(
        f"seedbed: JupyterLab ready through the API: median {lab:.2f} s "
        f"(ratio {lab / peer:.2f}x the plain start; target <= 10 s: "
        f"{'met' if lab <= 10 else 'MISSED'})"
    )
    cli = statistics.median(clis)
    print(f"seedbed notebook (CLI, JupyterLab already running): median {cli:.2f} s")
    add, pip = statistics.median(adds), statistics.median(peer_pip)
    print(f"peer: pip install {PACKAGE} into a fresh venv: median {pip:.2f} s")
    print(
        f"seedbed env add {PACKAGE} (warm uv cache): median {add:.2f} s "
        f"(ratio {add / pip:.2f}x pip; target <= 10 s: {'met' if add <= 10 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
