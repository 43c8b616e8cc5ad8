"""Compute benchmark: seedbed's local executor (and Ray's, where installed) against plain
subprocesses on the same machine, in the same run.

Targets (issue 6): local per-job overhead at most 150 ms; 40 one-CPU jobs of CPU-bound work
on 2 cores finish in at most 0.55x of the serial time; Ray's overhead reported beside it.

- Overhead: a trivial job (`python -c pass`) from submit to its final status as the
  executor reports it, minus the same command run by `subprocess.run`, the peer (median of
  N). The jobs service adds its bookkeeping (a DB row, a token, the audit log): measured
  too, from submit_command to the final row, polled every 2 ms.
- Throughput: 40 jobs of ~0.4 s of pure-Python work, one CPU each, on the executor with the
  machine's CPUs; the serial time is the same 40 commands run one after another.

Run with `make bench` or `python bench/compute.py [--ray]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from seedbed.auth.users import create_user  # noqa: E402
from seedbed.compute.executor import JobSpec, JobStatus, Resources  # noqa: E402
from seedbed.compute.job_records import Size  # noqa: E402
from seedbed.compute.jobs import JobService  # noqa: E402
from seedbed.compute.local import LocalExecutor  # noqa: E402
from seedbed.settings import load_settings  # noqa: E402
from seedbed.workspace import Workspace  # noqa: E402

TRIVIAL = [sys.executable, "-c", "pass"]
WORK = [sys.executable, "-c", "s = 0\nfor i in range(6_000_000): s += i * i\n"]
OVERHEAD_JOBS = 20
PARALLEL_JOBS = 40


class Finals:
    def __init__(self) -> None:
        self.done: dict[str, float] = {}
        self.changed = threading.Condition()

    def __call__(self, job_id: str, status: JobStatus) -> None:
        if status.final:
            with self.changed:
                self.done[job_id] = time.perf_counter()
                self.changed.notify_all()

    def wait(self, job_ids: list[str], timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not all(j in self.done for j in job_ids):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"jobs did not end: {set(job_ids) - set(self.done)}")
                self.changed.wait(left)


def spec(folder: Path, job_id: str, command: list[str], cpus: float = 1) -> JobSpec:
    return JobSpec(
        job_id=job_id,
        command=command,
        env={},
        cwd=folder,
        resources=Resources(cpus, 1 << 30),
        log_path=folder / job_id / "log.txt",
        state_dir=folder / job_id,
    )


def raw_seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def executor_overhead(executor: object, folder: Path, prefix: str, jobs: int) -> list[float]:
    """Seconds from submit to the final status, one job at a time."""
    finals = Finals()
    executor.start(finals)  # type: ignore[attr-defined]
    took = []
    for index in range(jobs):
        job_id = f"{prefix}{index}"
        started = time.perf_counter()
        executor.submit(spec(folder, job_id, TRIVIAL))  # type: ignore[attr-defined]
        finals.wait([job_id])
        took.append(finals.done[job_id] - started)
    executor.close()  # type: ignore[attr-defined]
    return took


def service_overhead(folder: Path, jobs: int) -> list[float]:
    """Seconds from JobService.submit_command to the job's final row in the metadata DB."""
    settings = load_settings(workspace=folder / "ws", port=0)
    took = []
    with Workspace.open(settings) as workspace:
        user = create_user(workspace, "bench", role="editor")
        service = JobService(workspace, LocalExecutor(), "http://127.0.0.1:1")
        service.start()
        for _ in range(jobs):
            started = time.perf_counter()
            job = service.submit_command(user, "script", TRIVIAL, "trivial", Size(cpus=1))
            while not service.get(job.id).final:
                time.sleep(0.002)
            took.append(time.perf_counter() - started)
        service.close()
    return took


def parallel(folder: Path, cpus: int) -> tuple[float, float]:
    """Serial seconds of PARALLEL_JOBS work commands, and the executor's wall seconds."""
    serial = sum(raw_seconds(WORK) for _ in range(PARALLEL_JOBS))
    executor = LocalExecutor(total=Resources(float(cpus), 64 << 30))
    finals = Finals()
    executor.start(finals)
    started = time.perf_counter()
    ids = [f"w{index}" for index in range(PARALLEL_JOBS)]
    for job_id in ids:
        executor.submit(spec(folder, job_id, WORK))
    finals.wait(ids)
    wall = time.perf_counter() - started
    executor.close()
    return serial, wall


def ray_overhead(folder: Path, jobs: int) -> list[float] | None:
    try:
        import ray  # noqa: F401
    except ImportError:
        return None
    from ray_cluster import RayCluster

    from seedbed.compute.ray_executor import RayExecutor

    with RayCluster(folder / "ray", num_cpus=2) as cluster:
        executor = RayExecutor(cluster.address, token=cluster.token)
        return executor_overhead(executor, folder / "ray-jobs", "r", jobs)


def summary(name: str, seconds: list[float], base: float) -> float:
    median = statistics.median(seconds)
    overhead = median - base
    print(
        f"{name}: median {median * 1000:.0f} ms per trivial job "
        f"(min {min(seconds) * 1000:.0f}, max {max(seconds) * 1000:.0f}); "
        f"overhead over subprocess.run {overhead * 1000:.0f} ms"
    )
    return overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ray", action="store_true", help="Also measure a local Ray cluster.")
    args = parser.parse_args()
    cpus = len(os.sched_getaffinity(0))
    print(
        f"machine: {platform.machine()}, {cpus} cores, Python {platform.python_version()}, "
        f"{platform.platform()}; load {os.getloadavg()[0]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="seedbed-bench-") as name:
        folder = Path(name)
        base = statistics.median(raw_seconds(TRIVIAL) for _ in range(OVERHEAD_JOBS))
        print(f"peer: subprocess.run(python -c pass): median {base * 1000:.0f} ms")
        local = summary(
            "seedbed LocalExecutor",
            executor_overhead(LocalExecutor(), folder, "l", OVERHEAD_JOBS),
            base,
        )
        service = summary(
            "seedbed JobService (DB, token)", service_overhead(folder, OVERHEAD_JOBS), base
        )
        print(
            f"  target: overhead <= 150 ms: executor {'met' if local <= 0.15 else 'MISSED'}, "
            f"service {'met' if service <= 0.15 else 'MISSED'}"
        )
        serial, wall = parallel(folder, cpus)
        ratio = wall / serial
        verdict = "met" if ratio <= 0.55 else "MISSED"
        print(
            f"{PARALLEL_JOBS} one-CPU jobs on {cpus} cores: serial {serial:.1f} s, seedbed "
            f"{wall:.1f} s, ratio {ratio:.2f} (target <= 0.55: {verdict})"
        )
        if args.ray:
            measured = ray_overhead(folder, 10)
            if measured is None:
                print("ray: not installed (pip install 'seedbed[ray]')")
            else:
                summary("Ray Jobs API (local 2-CPU cluster)", measured, base)


if __name__ == "__main__":
    main()
