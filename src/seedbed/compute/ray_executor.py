"""The Ray executor: each job a Ray job, submitted through the Ray Jobs API of a cluster.

The server talks to the cluster's dashboard over HTTP only (it never joins the cluster
with `ray.init`): jobs go in with `JobSubmissionClient.submit_job`, a poller thread follows
their state and copies their logs into `spec.log_path`, so the jobs UI reads the same file
whichever executor ran the job.

Environment: a job runs the command the jobs service built, which names the server's own
interpreter (`sys.executable`), in its working folder (`spec.cwd`), with that
interpreter's folder first on PATH. On a cluster started on this machine from the
workspace's environment that is the very same Python and the same files. A remote
cluster must see the workspace folder and the Python environment at the same paths on
every node (a shared filesystem, or nodes built from the same image): seedbed never asks
Ray to install packages (no `pip`, `uv` or `conda` runtime environments), so nothing is
downloaded when a job starts; a node without them fails the job at once with
"No such file or directory" in its log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from seedbed.compute.executor import (
    CANCELLED,
    FAILED,
    LOST,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    THREAD_VARIABLES,
    TIMED_OUT,
    Capacity,
    JobSpec,
    JobStatus,
    Listener,
    Resources,
    read_log,
)
from seedbed.errors import Invalid, NotFound, SeedbedError

logger = logging.getLogger(__name__)

POLL_S = 0.25  # how often live jobs' states are asked for
LOG_SYNC_S = 1.0  # how often a running job's log is copied into its log file
_MESSAGE_CHARS = 2000

# Ray's job states, and the protocol's for them (STOPPED depends on who stopped it).
_STATES = {"PENDING": QUEUED, "RUNNING": RUNNING, "SUCCEEDED": SUCCEEDED, "FAILED": FAILED}


class ClusterUnavailable(SeedbedError):
    """The Ray cluster's dashboard did not answer."""

    status_code = 503
    code = "cluster_unavailable"


def _job_submission() -> Any:
    """The ray.job_submission module, imported only when a Ray executor is made."""
    try:
        from ray import job_submission
    except ImportError as exc:
        raise Invalid(
            'compute.backend = "ray" needs Ray on the server: '
            "pip install 'seedbed[ray]' (it installs ray[default])."
        ) from exc
    return job_submission


@dataclass
class _Job:
    spec: JobSpec
    status: JobStatus
    submission_id: str
    started_monotonic: float | None = None
    stop_reason: str = ""  # "cancel" or "timeout" once we asked Ray to stop it
    log_bytes: int = 0  # how much of the Ray log is in spec.log_path already
    log_synced_at: float = 0.0


class RayExecutor:
    """Runs jobs on a Ray cluster through its Jobs API at `address` (the dashboard's URL).

    `token` is the cluster's auth token (Ray 2.60 turns token auth on by default); without
    one, Ray's own lookup applies: RAY_AUTH_MODE=token with RAY_AUTH_TOKEN,
    RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token in the server's environment.
    """

    backend = "ray"

    def __init__(self, address: str, token: str | None = None, poll_s: float = POLL_S) -> None:
        self._module = _job_submission()
        self.address = address.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else None
        self._poll_s = poll_s
        self._client_: Any = None
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.RLock()
        self._listener: Listener = lambda job_id, status: None
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    # -- the protocol ------------------------------------------------------------------

    def start(self, listener: Listener) -> None:
        self._listener = listener
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll, name="seedbed-ray-jobs", daemon=True)
        self._poller.start()

    def submit(self, spec: JobSpec) -> JobStatus:
        total = self._cluster_usage()[0]
        if not spec.resources.fits_in(total):
            raise Invalid(_never_fits(spec.resources, total, self.address))
        with self._lock:
            if spec.job_id in self._jobs:
                raise Invalid(f"Job {spec.job_id} was submitted already.")
            job = _Job(spec, JobStatus(state=QUEUED), submission_id=spec.job_id)
            self._submit(job)
            self._jobs[spec.job_id] = job
        return replace(job.status)

    def status(self, job_id: str) -> JobStatus:
        with self._lock:
            return replace(self._job(job_id).status)

    def logs(self, job_id: str, offset: int = 0) -> tuple[bytes, int]:
        job = self._job(job_id)
        if not job.status.final:
            with contextlib.suppress(Exception):  # the file holds what we have so far
                self._sync_log(job, final=False)
        return read_log(job.spec.log_path, offset)

    def cancel(self, job_id: str) -> JobStatus:
        with self._lock:
            job = self._job(job_id)
            if job.status.final:
                return replace(job.status)
            job.stop_reason = job.stop_reason or "cancel"
        self._stop_ray_job(job)
        return self.status(job_id)

    def capacity(self) -> Capacity:
        total, used = self._cluster_usage()
        with self._lock:
            states = [job.status.state for job in self._jobs.values()]
        return Capacity(
            backend=self.backend,
            total=total,
            used=used,
            running=states.count(RUNNING),
            queued=states.count(QUEUED),
            detail=self.address,
        )

    def reconcile(self, job_id: str, status: JobStatus, spec: JobSpec) -> JobStatus:
        """Ask the cluster about the job: follow it again while it is live, take its final
        state when it ended, and call it lost when the cluster does not know it.

        A queued job the cluster does not know (the server stopped before it reached Ray)
        is submitted now with `spec`. One Ray still queues keeps the environment it was
        submitted with: Ray does not stop a job that waits for resources until it gets
        them, so it cannot be withdrawn and submitted anew."""
        job = _Job(spec, replace(status), submission_id=_submission_id(job_id, status.attempt))
        try:
            info = self._client().get_job_info(job.submission_id)
        except RuntimeError as exc:
            if "status code 404" not in str(exc):
                raise
            info = None
        if status.state == QUEUED and info is None:
            with self._lock:
                job.status = JobStatus(state=QUEUED, attempt=status.attempt)
                self._submit(job)
                self._jobs[job_id] = job
                return replace(job.status)
        if info is None:
            return JobStatus(
                state=LOST,
                attempt=status.attempt,
                started_at=status.started_at,
                finished_at=int(time.time() * 1000),
                message=f"The Ray cluster at {self.address} does not know this job "
                "(the cluster was restarted, or the job was deleted).",
            )
        with self._lock:
            self._jobs[job_id] = job
            self._update(job, info)
            if job.status.state == RUNNING and info.start_time:
                # Its timeout counts from when Ray started it, not from the reattach.
                ran_s = max(0.0, time.time() - info.start_time / 1000)
                job.started_monotonic = time.monotonic() - ran_s
            return replace(job.status)

    def close(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=10)
            self._poller = None

    # -- talking to Ray ------------------------------------------------------------------

    def _client(self) -> Any:
        if self._client_ is None:
            try:
                self._client_ = self._module.JobSubmissionClient(
                    self.address, headers=self._headers
                )
            except ConnectionError as exc:
                raise ClusterUnavailable(
                    f"No Ray cluster answers at {self.address}: check compute.ray_address "
                    "(the dashboard's URL, such as http://127.0.0.1:8265) and that the "
                    "cluster runs."
                ) from exc
        return self._client_

    def _submit(self, job: _Job) -> None:
        spec = job.spec
        self._client().submit_job(
            entrypoint=_entrypoint(spec),
            submission_id=job.submission_id,
            runtime_env={"env_vars": _env_vars(spec), "py_executable": sys.executable},
            entrypoint_num_cpus=spec.resources.cpus,
            entrypoint_num_gpus=spec.resources.gpus,
            entrypoint_memory=spec.resources.memory_bytes,
            metadata={"seedbed_job_id": spec.job_id, "attempt": str(job.status.attempt)},
        )
        job.log_bytes = 0
        job.log_synced_at = 0.0

    def _stop_ray_job(self, job: _Job) -> None:
        try:
            self._client().stop_job(job.submission_id)
        except Exception as exc:  # the poller tries again while the job lives
            logger.warning("Could not stop Ray job %s: %s", job.submission_id, exc)

    def _cluster_usage(self) -> tuple[Resources, Resources]:
        """(total, used) of the whole cluster, from the dashboard's cluster status."""
        # The dashboard's own REST endpoint, through the client so it carries the auth
        # header: the Jobs SDK has no public call for the cluster's resources.
        response = self._client()._do_request("GET", "/api/cluster_status?format=0")
        if response.status_code != 200:
            raise ClusterUnavailable(
                f"The Ray cluster at {self.address} did not give its resources "
                f"(HTTP {response.status_code})."
            )
        status = response.json().get("data", {}).get("clusterStatus") or {}
        usage = (status.get("loadMetricsReport") or {}).get("usage") or {}

        def pair(name: str) -> tuple[float, float]:
            used, total = usage.get(name, (0.0, 0.0))
            return float(used), float(total)

        cpus, memory, gpus = pair("CPU"), pair("memory"), pair("GPU")
        return (
            Resources(cpus[1], int(memory[1]), int(gpus[1])),
            Resources(cpus[0], int(memory[0]), int(gpus[0])),
        )

    # -- following jobs ------------------------------------------------------------------

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_s):
            with self._lock:
                live = [job for job in self._jobs.values() if not job.status.final]
            for job in live:
                try:
                    self._follow(job)
                except Exception as exc:  # the cluster may be restarting: ask again later
                    logger.warning("Could not follow Ray job %s: %s", job.submission_id, exc)

    def _follow(self, job: _Job) -> None:
        info = self._client().get_job_info(job.submission_id)
        with self._lock:
            self._update(job, info)
        if job.status.state == RUNNING and not job.stop_reason and self._timed_out(job):
            job.stop_reason = "timeout"
            self._stop_ray_job(job)
        if not job.status.final and time.monotonic() - job.log_synced_at >= LOG_SYNC_S:
            self._sync_log(job, final=False)

    def _timed_out(self, job: _Job) -> bool:
        limit = job.spec.timeout_s
        started = job.started_monotonic
        return limit is not None and started is not None and time.monotonic() - started > limit

    def _update(self, job: _Job, info: Any) -> None:
        """Take Ray's view of the job; tell the listener when its state changed."""
        ray_state = str(info.status)
        old = job.status
        new = replace(
            old,
            state=self._state(job, ray_state),
            exit_code=info.driver_exit_code,
            started_at=info.start_time or old.started_at,
            finished_at=info.end_time if ray_state in ("SUCCEEDED", "FAILED", "STOPPED") else None,
            message=self._message(job, ray_state, info),
        )
        if new.state == RUNNING and job.started_monotonic is None:
            job.started_monotonic = time.monotonic()
        if old.state == QUEUED and new.state not in (QUEUED, RUNNING):
            # It ran, and ended, between two polls: say it ran, as it happened.
            ran = replace(new, state=RUNNING, exit_code=None, finished_at=None, message="")
            self._listener(job.spec.job_id, ran)
        if new.state == FAILED and job.stop_reason == "" and old.attempt < job.spec.max_retries:
            self._sync_log(job, final=True)
            job.status = replace(
                new,
                state=QUEUED,
                attempt=old.attempt + 1,
                exit_code=None,
                finished_at=None,
                message=f"{new.message} Trying again.",
            )
            job.submission_id = _submission_id(job.spec.job_id, job.status.attempt)
            job.started_monotonic = None
            try:
                self._submit(job)
            except Exception as exc:
                job.status = replace(new, message=f"{new.message} Could not try again: {exc}")
                self._listener(job.spec.job_id, replace(job.status))
                return
            self._listener(job.spec.job_id, replace(job.status))
            return
        if new.final:
            self._sync_log(job, final=True)
        if new.state != old.state:
            job.status = new
            self._listener(job.spec.job_id, replace(new))
        else:
            job.status = new

    def _state(self, job: _Job, ray_state: str) -> str:
        if ray_state == "STOPPED":
            return TIMED_OUT if job.stop_reason == "timeout" else CANCELLED
        return _STATES.get(ray_state, job.status.state)

    def _message(self, job: _Job, ray_state: str, info: Any) -> str:
        if ray_state == "STOPPED":
            if job.stop_reason == "timeout":
                return f"Stopped after its timeout of {job.spec.timeout_s:g} s."
            return "Cancelled." if job.stop_reason == "cancel" else "Stopped on the Ray cluster."
        if ray_state != "FAILED":
            return ""
        code = info.driver_exit_code
        if code is not None and code < 0:
            return f"Killed by signal {signal.Signals(-code).name}."
        if code is not None:
            tries = job.status.attempt + 1
            return f"Exited with status {code}" + (
                f" after {tries} attempts." if tries > 1 else "."
            )
        # It never ran: its runtime environment or its supervisor failed. Ray's message
        # says which; the log it appends is in the job's log file already.
        text = str(info.message or "Failed on the Ray cluster.").split("\n", 1)[0]
        return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + " …"

    def _sync_log(self, job: _Job, final: bool) -> None:
        """Append what Ray logged since the last copy to spec.log_path. While the job runs,
        only whole lines are copied, so a character cut at the end is never copied half."""
        text = self._client().get_job_logs(job.submission_id)
        data = text.encode("utf-8", errors="replace")
        if not final:
            data = data[: data.rfind(b"\n") + 1]
        new = data[job.log_bytes :]
        job.log_synced_at = time.monotonic()
        if not new:
            return
        job.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with job.spec.log_path.open("ab") as handle:
            handle.write(new)
        job.log_bytes = len(data)

    def _job(self, job_id: str) -> _Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"No job {job_id} on this executor.")
        return job


def _submission_id(job_id: str, attempt: int) -> str:
    """Ray's id of one attempt: the job's id, and a suffix for each retry."""
    return job_id if attempt == 0 else f"{job_id}-retry{attempt}"


def _entrypoint(spec: JobSpec) -> str:
    # The job runs in place, as a local job does: Ray's `working_dir` would copy the
    # folder (for the jobs service, the whole workspace) into the cluster on each change,
    # and the job would write into that copy.
    return f"cd {shlex.quote(str(spec.cwd))} && exec {shlex.join(spec.command)}"


def _env_vars(spec: JobSpec) -> dict[str, str]:
    """What a job adds to the cluster's environment: the spec's, its thread counts, and
    the workspace's Python first on PATH. Ray expands $NAME in these values."""
    threads = str(max(1, int(spec.resources.cpus)))
    env = dict(spec.env)
    env.update({name: threads for name in THREAD_VARIABLES})
    if spec.resources.gpus == 0:
        env["CUDA_VISIBLE_DEVICES"] = ""  # Ray sets it for jobs that were given GPUs
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}${{PATH}}"
    env["SEEDBED_JOB_ID"] = spec.job_id
    env["SEEDBED_JOB_CPUS"] = threads
    env["SEEDBED_JOB_MEMORY_BYTES"] = str(spec.resources.memory_bytes)
    return env


def _never_fits(wanted: Resources, total: Resources, address: str) -> str:
    missing = []
    if wanted.cpus > total.cpus + 1e-9:
        missing.append(f"{wanted.cpus:g} CPUs (the cluster has {total.cpus:g})")
    if wanted.memory_bytes > total.memory_bytes:
        missing.append(
            f"{wanted.memory_bytes / 2**30:.1f} GiB of memory "
            f"(the cluster has {total.memory_bytes / 2**30:.1f} GiB)"
        )
    if wanted.gpus > total.gpus:
        missing.append(f"{wanted.gpus} GPUs (the cluster has {total.gpus})")
    host = urlparse(address).hostname or address
    return (
        f"This job can never run on the Ray cluster at {host}: it asks for "
        f"{' and '.join(missing)}. Pick a smaller profile, or add nodes to the cluster."
    )
