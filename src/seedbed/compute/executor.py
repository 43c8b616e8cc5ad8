"""The Executor protocol: what runs jobs, locally or on a Ray cluster, with no change to them.

The jobs service (seedbed.compute.jobs) owns the job records; an executor only runs
processes. It hears of a job through `submit`, reports every change of state through the
listener it was given, and answers for status, logs, cancel and capacity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from seedbed.errors import Invalid

if TYPE_CHECKING:
    from seedbed.workspace import Workspace

# Job states. `queued` and `running` are live; the others are final.
QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"  # a non-zero exit, after its retries
CANCELLED = "cancelled"
TIMED_OUT = "timed_out"
KILLED_MEMORY = "killed_memory"  # went over its memory limit and was killed for it
LOST = "lost"  # its process vanished while nobody watched (a server restart, a dead node)
LIVE = frozenset({QUEUED, RUNNING})
FINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, TIMED_OUT, KILLED_MEMORY, LOST})

# Thread-count variables set to a job's CPUs, so numpy, BLAS, OpenMP and friends do not
# start one thread per core of the machine in every job.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMEXPR_MAX_THREADS",
    "BLIS_NUM_THREADS",
    "RAYON_NUM_THREADS",
    "POLARS_MAX_THREADS",
    "DUCKDB_THREADS",
)


# What a job inherits of the server's environment: nothing else. The server's own variables
# may hold secrets (SEEDBED_DATABASE_URL with its password, cloud keys for the artifact
# store, RAY_AUTH_TOKEN); a job acts through its own token only.
INHERITED = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TERM",
        "VIRTUAL_ENV",
        "CUDA_HOME",
        "LD_LIBRARY_PATH",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "UV_INDEX_URL",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    }
)


def inherited_environment(environ: dict[str, str]) -> dict[str, str]:
    """The part of the server's environment a job may see (locale settings included)."""
    return {k: v for k, v in environ.items() if k in INHERITED or k.startswith("LC_")}


@dataclass(frozen=True)
class Resources:
    """What one job asks for: CPUs, memory and GPUs (whole devices)."""

    cpus: float
    memory_bytes: int
    gpus: int = 0

    def fits_in(self, other: Resources) -> bool:
        return (
            self.cpus <= other.cpus + 1e-9
            and self.memory_bytes <= other.memory_bytes
            and self.gpus <= other.gpus
        )


@dataclass(frozen=True)
class JobSpec:
    """One job as an executor sees it: a command line, its environment and its size."""

    job_id: str
    command: list[str]  # argv; the first item is the program
    env: dict[str, str]  # added to a clean copy of the server's environment
    cwd: Path
    resources: Resources
    log_path: Path  # stdout and stderr together, appended as they come
    timeout_s: float | None = None
    max_retries: int = 0  # further attempts after a non-zero exit (never after a kill)
    state_dir: Path | None = None  # where the executor may keep files of its own for the job
    # Landlock rules for local jobs ({"read": [...], "write": [...]}); None: not confined
    confine: dict[str, list[str]] | None = None


@dataclass
class JobStatus:
    """Where a job stands; `message` says why it ended the way it did."""

    state: str
    attempt: int = 0
    exit_code: int | None = None
    started_at: int | None = None  # epoch ms
    finished_at: int | None = None
    cpu_seconds: float | None = None
    peak_memory_bytes: int | None = None
    gpu_ids: list[int] = field(default_factory=list)
    message: str = ""
    pid: int | None = None  # local jobs: the process group leader

    @property
    def final(self) -> bool:
        return self.state in FINAL


@dataclass(frozen=True)
class Capacity:
    """What an executor can run at most, and what its running jobs hold now."""

    backend: str  # local or ray
    total: Resources
    used: Resources
    running: int
    queued: int
    detail: str = ""  # the Ray address, the machine's name


Listener = Callable[[str, JobStatus], None]
LOG_CHUNK = 4 << 20  # the most of a log one call hands back


def read_log(path: Path, offset: int = 0) -> tuple[bytes, int]:
    """A job's log from byte `offset` on (up to LOG_CHUNK), and the offset to ask from next."""
    start = max(0, offset)
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            data = handle.read(LOG_CHUNK)
    except FileNotFoundError:
        return b"", offset
    return data, start + len(data)


class Executor(Protocol):
    """Runs jobs. Every call returns at once: jobs run in the background."""

    backend: str

    def start(self, listener: Listener) -> None:
        """Begin running; `listener(job_id, status)` hears every change of a job's state."""

    def submit(self, spec: JobSpec) -> JobStatus:
        """Queue a job. Raises Invalid at once when it can never fit in the capacity."""

    def status(self, job_id: str) -> JobStatus:
        """The job's current status; NotFound for a job this executor does not know."""

    def logs(self, job_id: str, offset: int = 0) -> tuple[bytes, int]:
        """The log bytes from `offset` on, and the offset to ask from next time."""

    def cancel(self, job_id: str) -> JobStatus:
        """Stop a queued or running job (its whole process tree)."""

    def capacity(self) -> Capacity:
        """Total and used resources."""

    def reconcile(self, job_id: str, status: JobStatus, spec: JobSpec) -> JobStatus:
        """After a server restart: reattach to a job that still runs, or say it was lost."""

    def close(self) -> None:
        """Stop watching jobs (running jobs go on; the next start reconciles them)."""


def make_executor(workspace: Workspace) -> Executor:
    """The executor the settings choose: local (default) or a Ray cluster."""
    settings = workspace.settings.compute
    if settings.backend == "ray":
        if not settings.ray_address:
            raise Invalid(
                'compute.backend = "ray" needs compute.ray_address, the Ray dashboard URL '
                "(such as http://127.0.0.1:8265)."
            )
        from seedbed.compute.ray_executor import RayExecutor

        return RayExecutor(settings.ray_address)
    from seedbed.compute.local import LocalExecutor

    return LocalExecutor(gpu_ids=settings.gpu_ids)
