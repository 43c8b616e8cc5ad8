"""What a job is: the size a submitter asks for, the job record as the service and the API
show it (one row of table `jobs`), and who may see a job's log and result."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from seedbed.auth.permissions import can
from seedbed.auth.users import User
from seedbed.compute import executor as states
from seedbed.db import now_ms
from seedbed.errors import Forbidden

KINDS = ("script", "notebook", "function", "evaluation")


@dataclass(frozen=True)
class Size:
    """What a submitter asks for: a profile, or explicit numbers (which win)."""

    profile: str | None = None
    cpus: float | None = None
    memory: str | int | None = None
    gpus: int | None = None
    environment: str = "default"  # the workspace environment whose Python runs the job


@dataclass
class Job:
    id: str
    name: str
    kind: str
    status: str
    backend: str
    profile: str | None
    cpus: float
    memory_bytes: int
    gpus: int
    command: list[str]
    timeout_s: float | None
    max_retries: int
    submitted_by: str
    created_at: int
    started_at: int | None
    finished_at: int | None
    attempt: int
    exit_code: int | None
    cpu_seconds: float | None
    peak_memory_bytes: int | None
    gpu_ids: list[int]
    message: str
    outputs: dict[str, str] = field(default_factory=dict)
    pid: int | None = None  # local jobs: the shim leading the job's process group
    environment: str = "default"  # the workspace environment it runs in
    environment_lock: str | None = None  # "sha256:…" of that environment's lock at submission
    python_version: str | None = None
    lib_version: str | None = None  # "sha256:…" of the workspace's lib/ at submission

    @property
    def final(self) -> bool:
        return self.status in states.FINAL

    @property
    def seconds(self) -> float | None:
        if self.started_at is None:
            return None
        return ((self.finished_at or now_ms()) - self.started_at) / 1000


def job_from_row(row: Any) -> Job:
    return Job(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        status=row["status"],
        backend=row["backend"],
        profile=row["profile"],
        cpus=row["cpus"],
        memory_bytes=row["memory_bytes"],
        gpus=row["gpus"],
        command=json.loads(row["command"]),
        timeout_s=row["timeout_s"],
        max_retries=row["max_retries"],
        submitted_by=row["submitted_by"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        attempt=row["attempt"],
        exit_code=row["exit_code"],
        cpu_seconds=row["cpu_seconds"],
        peak_memory_bytes=row["peak_memory_bytes"],
        gpu_ids=json.loads(row["gpu_ids"]),
        message=row["message"],
        outputs=json.loads(row["outputs"]),
        pid=row.get("pid"),
        environment=row.get("environment") or "default",
        environment_lock=row.get("environment_lock"),
        python_version=row.get("python_version"),
        lib_version=row.get("lib_version"),
    )


def forbid_unless_owner(job: Job, user: User) -> None:
    """Jobs are visible to everyone who may read; logs and results to their owner and admins."""
    if job.submitted_by != user.username and not can(user, "admin"):
        raise Forbidden(f"Job {job.id} is {job.submitted_by}'s; only they and admins may see that.")
