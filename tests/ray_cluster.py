"""Start a real, throwaway local Ray head node for tests, reachable on 127.0.0.1 only.

Usage::

    with RayCluster(tmp_path, num_cpus=2) as cluster:
        executor = RayExecutor(cluster.address, token=cluster.token)

How it stays on loopback: `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` makes Ray take 127.0.0.1
as the node's address (what it does on macOS), and its gRPC servers, workers and agents
bind to the node's address; `--node-ip-address` alone is not enough, Ray replaces a
loopback address with the machine's network address. The dashboard binds to
`--dashboard-host`; the two Prometheus endpoints (autoscaler and dashboard metrics) follow
the node's address and get free ports through their environment variables.

Authentication stays on (Ray 2.60's default is token auth): the cluster gets a random
token through `RAY_AUTH_TOKEN`, and clients send it as a bearer token.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["RayCluster", "cluster_listening_sockets"]

_START_TIMEOUT_S = 120
_STOP_GRACE_S = 15
# Ray puts AF_UNIX sockets under <temp>/session_<date>_<pid>/sockets/; a socket path must
# stay under 108 bytes, so the temp dir's own path must stay short.
_MAX_TEMP_DIR_CHARS = 40


def _free_port() -> int:
    # Released before Ray binds it: a race is possible but unlikely, and would show up
    # as a start failure with Ray's log attached.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ray_bin() -> str:
    return str(Path(sys.executable).parent / "ray")


class RayCluster:
    """A Ray head node with `num_cpus` CPUs, its dashboard (Jobs API) at `.address`."""

    def __init__(self, tmp_dir: Path, num_cpus: int = 2, memory_bytes: int = 4 << 30) -> None:
        self.tmp_dir = Path(tmp_dir)
        self.num_cpus = num_cpus
        self.memory_bytes = memory_bytes
        self.token = secrets.token_hex(32)
        self.dashboard_port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._short_dir: Path | None = None  # a short alias of the temp dir, when needed

    @property
    def address(self) -> str:
        """The dashboard's URL: what the Ray Jobs API client connects to."""
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def pid(self) -> int:
        """The `ray start` process: the leader of the cluster's session and process group."""
        if self._process is None:
            raise RuntimeError("RayCluster is not started")
        return self._process.pid

    @property
    def log_path(self) -> Path:
        return self.tmp_dir / "ray-start.log"

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> RayCluster:
        if self._process is not None:
            raise RuntimeError("RayCluster is already started")
        if not Path(_ray_bin()).is_file():
            raise RuntimeError(
                f"No `ray` command next to {sys.executable}: install the test dependencies "
                "(pip install -e '.[dev]', which includes seedbed[ray])."
            )
        temp_dir = self._make_temp_dir()
        self.dashboard_port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env.update(
            RAY_USAGE_STATS_ENABLED="0",
            RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
            RAY_AUTH_MODE="token",
            RAY_AUTH_TOKEN=self.token,
            AUTOSCALER_METRIC_PORT=str(_free_port()),
            DASHBOARD_METRIC_PORT=str(_free_port()),
        )
        command = [
            _ray_bin(),
            "start",
            "--head",
            "--block",
            "--disable-usage-stats",
            "--node-ip-address=127.0.0.1",
            "--dashboard-host=127.0.0.1",
            "--include-dashboard=true",
            "--port=0",
            f"--dashboard-port={self.dashboard_port}",
            f"--dashboard-agent-listen-port={_free_port()}",
            f"--ray-client-server-port={_free_port()}",
            f"--num-cpus={self.num_cpus}",
            "--num-gpus=0",
            f"--memory={self.memory_bytes}",
            f"--object-store-memory={100 << 20}",
            f"--temp-dir={temp_dir}",
        ]
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # Its own session, so that stop() ends the whole tree by its process group.
            self._process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """End every process of the cluster (its process group) and remove its files."""
        process, self._process = self._process, None
        if process is not None:
            self._end_process_group(process)
        if self._short_dir is not None:
            self._short_dir.unlink(missing_ok=True)
            self._short_dir.parent.rmdir()
            self._short_dir = None
        shutil.rmtree(self.tmp_dir / "ray", ignore_errors=True)

    def __enter__(self) -> RayCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers -------------------------------------------------------------

    def _make_temp_dir(self) -> Path:
        """The cluster's files live in tmp_dir/ray; Ray sees them through a short path."""
        real = self.tmp_dir / "ray"
        real.mkdir(parents=True, exist_ok=True)
        if len(str(real)) <= _MAX_TEMP_DIR_CHARS:
            return real
        # A symlink keeps the files inside the test's directory while the socket paths
        # Ray builds from it stay short.
        self._short_dir = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp")) / "t"
        self._short_dir.symlink_to(real)
        return self._short_dir

    def _wait_until_ready(self) -> None:
        """Until the Jobs API answers and the node has registered its CPUs."""
        deadline = time.monotonic() + _START_TIMEOUT_S
        with httpx.Client(base_url=self.address, headers=self.headers, timeout=5) as client:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    raise RuntimeError(f"ray start exited early:\n{self._log_tail()}")
                try:
                    jobs = client.get("/api/jobs/")
                    status = client.get("/api/cluster_status", params={"format": "0"})
                except httpx.TransportError:
                    time.sleep(0.5)
                    continue
                if jobs.status_code == 200 and self._cpus_ready(status):
                    return
                time.sleep(0.5)
        raise RuntimeError(f"Ray did not come up in {_START_TIMEOUT_S} s:\n{self._log_tail()}")

    def _cpus_ready(self, response: httpx.Response) -> bool:
        if response.status_code != 200:
            return False
        report = response.json().get("data", {}).get("clusterStatus", {}) or {}
        usage = (report.get("loadMetricsReport") or {}).get("usage") or {}
        cpu = usage.get("CPU")
        return bool(cpu) and float(cpu[1]) >= self.num_cpus

    def _end_process_group(self, process: subprocess.Popen[bytes]) -> None:
        # The raylet puts each worker in a process group of its own and the Jobs API
        # starts each job's driver in a session of its own, so the whole tree is
        # noted first: the leader's group, and every group a descendant leads.
        tree = _descendants(process.pid)
        groups = {process.pid} | {pgid for pgid in (_pgid(pid) for pid in tree) if pgid in tree}
        # `ray start --block` shuts its children down on SIGTERM; SIGKILL to each group
        # after the grace period ends whatever did not go.
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_S
        while time.monotonic() < deadline and any(_alive(pid) for pid in tree | {process.pid}):
            time.sleep(0.2)
            process.poll()
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        process.wait()

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no ray start log)"
        return "\n".join(text.splitlines()[-lines:])


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of a process, from /proc; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields follow the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[2])


def _alive(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] != "Z"


def _pgid(pid: int) -> int | None:
    stat = _proc_stat(pid)
    return None if stat is None else stat[2]


def _descendants(root: int) -> set[int]:
    """Every live process below `root` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and stat[0] != "Z":
                children.setdefault(stat[1], []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def cluster_listening_sockets(root_pid: int) -> list[tuple[str, str]]:
    """(local address, process) of every TCP socket that `root_pid` or a process below it
    listens on, as `ss -ltnp` reports them."""
    pids = _descendants(root_pid) | {root_pid}
    out = subprocess.run(
        ["ss", "-ltnpH"], check=True, capture_output=True, text=True, timeout=30
    ).stdout
    found = []
    for line in out.splitlines():
        columns = line.split()
        if len(columns) < 6:
            continue
        owners = {
            int(part[4:])
            for part in columns[5].replace(")", ",").split(",")
            if part.startswith("pid=")
        }
        if owners & pids:
            found.append((columns[3], columns[5]))
    return found
