"""The local executor: each job a subprocess of this machine, admitted when it fits.

Admission control counts CPUs, memory and GPU ids: a job waits in the queue until what it
asks for is free (first fit, in order of submission), and a job that could never fit in the
machine is refused at once. Each job runs under a shim (seedbed/compute/shim.py) that leads
its process group, enforces its memory limit and timeout, retries it, and writes how it
ended to a file, so jobs outlive a server restart and are reattached afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from seedbed.compute.executor import (
    CANCELLED,
    LOST,
    QUEUED,
    RUNNING,
    THREAD_VARIABLES,
    Capacity,
    JobSpec,
    JobStatus,
    Listener,
    Resources,
    inherited_environment,
    read_log,
)
from seedbed.compute.shim import descendants
from seedbed.errors import Invalid, NotFound

SHIM = Path(__file__).with_name("shim.py")
KILL_GRACE_S = 5.0
REATTACH_POLL_S = 0.5


def machine_resources(gpu_ids: list[int] | None = None) -> tuple[Resources, list[int]]:
    """This machine's CPUs (those the process may use), memory and GPU ids."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    ids = gpu_ids if gpu_ids is not None else _visible_gpus()
    return Resources(cpus=float(cpus or 1), memory_bytes=memory, gpus=len(ids)), ids


def _visible_gpus() -> list[int]:
    """GPU ids from `nvidia-smi -L`; none where there is no NVIDIA driver."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [index for index, line in enumerate(listed.splitlines()) if line.startswith("GPU ")]


def job_environment(spec: JobSpec, gpu_ids: list[int]) -> dict[str, str]:
    """The job's environment: what it may inherit of the server's (never its secrets),
    the spec's, its GPUs and its thread counts."""
    env = inherited_environment(dict(os.environ))
    env.update(spec.env)
    threads = str(max(1, int(spec.resources.cpus)))
    for name in THREAD_VARIABLES:
        env[name] = threads
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in gpu_ids)  # "": no GPU at all
    env["SEEDBED_JOB_ID"] = spec.job_id
    env["SEEDBED_JOB_CPUS"] = threads
    env["SEEDBED_JOB_MEMORY_BYTES"] = str(spec.resources.memory_bytes)
    return env


@dataclass
class _Job:
    spec: JobSpec
    status: JobStatus
    shim: subprocess.Popen[bytes] | None = None
    cancel_requested: bool = False


class LocalExecutor:
    """Runs jobs as subprocesses of this machine, within its CPUs, memory and GPUs."""

    backend = "local"

    def __init__(self, total: Resources | None = None, gpu_ids: list[int] | None = None) -> None:
        machine, ids = machine_resources(gpu_ids)
        self.total = total or machine
        self.gpu_ids = ids[: self.total.gpus] if total is None else (gpu_ids or [])
        self._jobs: dict[str, _Job] = {}
        self._queue: list[str] = []
        self._free_gpus = list(self.gpu_ids)
        self._used = Resources(0.0, 0, 0)
        self._lock = threading.Condition()
        self._listener: Listener = lambda job_id, status: None
        self._scheduler: threading.Thread | None = None
        self._closed = False

    # -- the protocol ------------------------------------------------------------------

    def start(self, listener: Listener) -> None:
        self._listener = listener
        self._scheduler = threading.Thread(target=self._schedule, name="seedbed-jobs", daemon=True)
        self._scheduler.start()

    def submit(self, spec: JobSpec) -> JobStatus:
        wanted = spec.resources
        if not wanted.fits_in(self.total):
            raise Invalid(self._never_fits(wanted))
        if spec.state_dir is None:
            raise Invalid("A local job needs a state folder.")
        status = JobStatus(state=QUEUED)
        with self._lock:
            if spec.job_id in self._jobs:
                raise Invalid(f"Job {spec.job_id} was submitted already.")
            self._jobs[spec.job_id] = _Job(spec, status)
            self._queue.append(spec.job_id)
            self._lock.notify_all()
        return replace(status)

    def status(self, job_id: str) -> JobStatus:
        with self._lock:
            return replace(self._job(job_id).status)

    def logs(self, job_id: str, offset: int = 0) -> tuple[bytes, int]:
        return read_log(self._job(job_id).spec.log_path, offset)

    def cancel(self, job_id: str) -> JobStatus:
        with self._lock:
            job = self._job(job_id)
            if job.status.final:
                return replace(job.status)
            job.cancel_requested = True
            if job.status.state == QUEUED:
                self._queue.remove(job_id)
                self._finish(job, JobStatus(state=CANCELLED, message="Cancelled before it ran."))
                return replace(job.status)
            pid = job.status.pid
        if pid is not None:
            threading.Thread(target=self._stop_group, args=(pid,), daemon=True).start()
        return self.status(job_id)

    def capacity(self) -> Capacity:
        with self._lock:
            running = sum(1 for j in self._jobs.values() if j.status.state == RUNNING)
            return Capacity(
                backend=self.backend,
                total=self.total,
                used=self._used,
                running=running,
                queued=len(self._queue),
                detail=os.uname().nodename,
            )

    def reconcile(self, job_id: str, status: JobStatus, spec: JobSpec) -> JobStatus:
        """A job the previous server started: reattach to its shim while it lives, else read
        how it ended from its status file, else call it lost."""
        ended = _read_status(spec)
        if ended is not None and ended.final:
            return ended
        pid = status.pid
        if status.state == RUNNING and pid is not None and _is_our_shim(pid, spec):
            job = _Job(spec, replace(status))
            with self._lock:
                self._jobs[job_id] = job
                self._hold(spec.resources, status.gpu_ids)
            threading.Thread(target=self._follow, args=(job,), daemon=True).start()
            return replace(status)
        if status.state == QUEUED:
            self.submit(spec)
            return JobStatus(state=QUEUED)
        return JobStatus(
            state=LOST,
            message="Its process ended while the server was down and left no exit status.",
            started_at=status.started_at,
            finished_at=int(time.time() * 1000),
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    # -- inside ------------------------------------------------------------------------

    def _job(self, job_id: str) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"No job {job_id} on this executor.")
        return job

    def _never_fits(self, wanted: Resources) -> str:
        missing = []
        if wanted.cpus > self.total.cpus:
            missing.append(f"{wanted.cpus:g} CPUs (the machine has {self.total.cpus:g})")
        if wanted.memory_bytes > self.total.memory_bytes:
            missing.append(
                f"{wanted.memory_bytes / 2**30:.1f} GiB of memory "
                f"(the machine has {self.total.memory_bytes / 2**30:.1f} GiB)"
            )
        if wanted.gpus > self.total.gpus:
            missing.append(f"{wanted.gpus} GPUs (the machine has {self.total.gpus})")
        return (
            f"This job can never run here: it asks for {' and '.join(missing)}. Pick a smaller "
            'profile, or run it on a Ray cluster (compute.backend = "ray").'
        )

    def _free(self) -> Resources:
        return Resources(
            self.total.cpus - self._used.cpus,
            self.total.memory_bytes - self._used.memory_bytes,
            len(self._free_gpus),
        )

    def _hold(self, wanted: Resources, gpu_ids: list[int] | None = None) -> list[int]:
        taken = [i for i in (gpu_ids or []) if i in self._free_gpus] or self._free_gpus[
            : wanted.gpus
        ]
        for gpu in taken:
            self._free_gpus.remove(gpu)
        self._used = Resources(
            self._used.cpus + wanted.cpus,
            self._used.memory_bytes + wanted.memory_bytes,
            self._used.gpus + wanted.gpus,
        )
        return taken

    def _release(self, job: _Job) -> None:
        wanted = job.spec.resources
        self._free_gpus = sorted(self._free_gpus + job.status.gpu_ids)
        self._used = Resources(
            max(0.0, self._used.cpus - wanted.cpus),
            max(0, self._used.memory_bytes - wanted.memory_bytes),
            max(0, self._used.gpus - wanted.gpus),
        )

    def _schedule(self) -> None:
        while True:
            with self._lock:
                while not self._closed and not self._admissible():
                    self._lock.wait()
                if self._closed:
                    return
                job = self._admissible()
                assert job is not None
                self._queue.remove(job.spec.job_id)
                gpus = self._hold(job.spec.resources)
                job.status = JobStatus(state=RUNNING, gpu_ids=gpus, attempt=1)
            self._launch(job)

    def _admissible(self) -> _Job | None:
        free = self._free()
        for job_id in self._queue:
            job = self._jobs[job_id]
            if job.spec.resources.fits_in(free):
                return job
        return None

    def _launch(self, job: _Job) -> None:
        spec = job.spec
        assert spec.state_dir is not None
        spec.state_dir.mkdir(parents=True, exist_ok=True)
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        described = {
            "command": spec.command,
            "cwd": str(spec.cwd),
            "env": job_environment(spec, job.status.gpu_ids),
            "memory_bytes": spec.resources.memory_bytes,
            "timeout_s": spec.timeout_s,
            "max_retries": spec.max_retries,
            "log_path": str(spec.log_path),
            "job_id": spec.job_id,
            "confine": spec.confine,
        }
        path = spec.state_dir / "spec.json"
        # the spec holds the job's token: readable by the server's user only
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(described, handle)
        (spec.state_dir / "status.json").unlink(missing_ok=True)
        try:
            shim = subprocess.Popen(
                [sys.executable, "-I", "-S", str(SHIM), str(spec.state_dir), spec.job_id],
                start_new_session=True,  # its own process group: cancel reaches every child
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=spec.log_path.open("ab"),
                close_fds=True,
            )
        except OSError as exc:
            with self._lock:
                self._finish(job, JobStatus(state="failed", message=f"Could not start: {exc}"))
            return
        with self._lock:
            job.shim = shim
            job.status = replace(job.status, pid=shim.pid, started_at=int(time.time() * 1000))
            status = replace(job.status)
            stop = job.cancel_requested  # cancelled while it was being started
        self._listener(spec.job_id, status)
        if stop:
            threading.Thread(target=self._stop_group, args=(shim.pid,), daemon=True).start()
        threading.Thread(target=self._wait, args=(job, shim), daemon=True).start()

    def _wait(self, job: _Job, shim: subprocess.Popen[bytes]) -> None:
        shim.wait()
        self._ended(job)

    def _follow(self, job: _Job) -> None:
        """Watch a shim this process did not start (after a restart) until it ends."""
        pid = job.status.pid
        assert pid is not None
        while _is_our_shim(pid, job.spec):
            time.sleep(REATTACH_POLL_S)
        self._ended(job)

    def _ended(self, job: _Job) -> None:
        ended = _read_status(job.spec)
        with self._lock:
            if ended is None or not ended.final:
                state = CANCELLED if job.cancel_requested else LOST
                message = (
                    "Cancelled." if job.cancel_requested else "Its process ended without a status."
                )
                ended = replace(job.status, state=state, message=message)
            elif job.cancel_requested and ended.state not in (CANCELLED,):
                ended = replace(ended, state=CANCELLED, message="Cancelled.")
            ended.gpu_ids = job.status.gpu_ids
            self._finish(job, ended)

    def _finish(self, job: _Job, status: JobStatus) -> None:
        """Record a final status (the lock held), free what the job held, tell the listener."""
        was_running = job.status.state == RUNNING
        if status.finished_at is None:
            status.finished_at = int(time.time() * 1000)
        job.status = status
        if was_running:
            self._release(job)
        self._lock.notify_all()
        self._listener(job.spec.job_id, replace(status))

    def _stop_group(self, pid: int) -> None:
        """SIGTERM the job's process group and tree (a notebook kernel has a session of its
        own), then SIGKILL what is left after a grace period."""
        tree = [p for p in descendants(pid) if p != pid]
        for member in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGTERM)
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + KILL_GRACE_S
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        for member in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def _read_status(spec: JobSpec) -> JobStatus | None:
    if spec.state_dir is None:
        return None
    try:
        data = json.loads((spec.state_dir / "status.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return JobStatus(
        state=data["state"],
        attempt=data.get("attempt", 0),
        exit_code=data.get("exit_code"),
        started_at=data.get("started_at"),
        finished_at=data.get("finished_at"),
        cpu_seconds=data.get("cpu_seconds"),
        peak_memory_bytes=data.get("peak_memory_bytes"),
        message=data.get("message", ""),
        pid=data.get("shim_pid"),
    )


def _is_our_shim(pid: int, spec: JobSpec) -> bool:
    """Whether `pid` is still the shim of this job (pids are reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(SHIM).encode() in cmdline and spec.job_id.encode() in cmdline
