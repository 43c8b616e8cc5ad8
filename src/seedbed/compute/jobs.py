"""Jobs: scripts, notebooks and Python functions run on the executor at a chosen size.

The service owns the job records (table `jobs`); the executor runs the processes and tells
the service of every change. A job acts as the user who submitted it: it gets a token of
that user's, made for it and revoked when it ends, in `SEEDBED_TOKEN`, with `SEEDBED_URL`,
so `sb.connect()` inside it works and can do no more than that user. Runs it logs carry
the tag `seedbed.job_id`, which links them to it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from seedbed.auth import audit, tokens
from seedbed.auth.permissions import require
from seedbed.auth.users import User, get_user_by_name
from seedbed.compute import executor as states
from seedbed.compute.executor import (
    Capacity,
    Executor,
    JobSpec,
    JobStatus,
    Resources,
    read_log,
)
from seedbed.compute.job_records import KINDS, Job, Size, job_from_row
from seedbed.compute.profiles import get_profile, memory_bytes
from seedbed.compute.tables import jobs
from seedbed.db import now_ms
from seedbed.errors import Invalid, NotFound
from seedbed.run_context import JOB_TAG, lib_version
from seedbed.tracking.tables import run_tags, runs
from seedbed.workspace import Workspace

log = logging.getLogger(__name__)
MAX_SCRIPT_BYTES = 8 << 20


class JobService:
    """Submits, follows and stops jobs; one per server, around one executor."""

    def __init__(self, workspace: Workspace, executor: Executor, server_url: str) -> None:
        self.workspace = workspace
        self.executor = executor
        self.server_url = server_url
        self._lock = threading.Lock()
        self._started = False

    @property
    def jobs_dir(self) -> Path:
        return self.workspace.runtime_dir / "jobs"

    def state_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def python(self, environment: str) -> str:
        """The Python of a workspace environment (made on first use for `default`)."""
        from seedbed.notebooks import environments  # notebooks build on compute's jobs

        return str(environments.get(self.workspace, environment).python)

    def work_dir(self, job_id: str) -> Path:
        """The job's own folder: its inputs, its outputs, its HOME; all it may write to."""
        return self.state_dir(job_id) / "work"

    def confined(self) -> bool:
        """Whether local jobs run under Landlock (settings compute.confine)."""
        from seedbed.compute import confinement

        return self.executor.backend == "local" and confinement.wanted(self.workspace)

    def ensure_started(self) -> None:
        """Start on first use (the server starts it at once, to reconcile)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        self.start()

    def start(self) -> None:
        """Start the executor and reconcile the jobs a previous server left live."""
        self._started = True
        self.executor.start(self._heard)
        with self.workspace.engine.connect() as connection:
            live = [
                job_from_row(row)
                for row in connection.execute(
                    select(jobs).where(jobs.c.status.in_(sorted(states.LIVE)))
                ).mappings()
            ]
        for job in sorted(live, key=lambda j: j.created_at):
            status = JobStatus(
                state=job.status,
                attempt=job.attempt,
                started_at=job.started_at,
                gpu_ids=job.gpu_ids,
                pid=self._pid(job.id),
            )
            try:
                # the environment it was given (its token included) serves again: a job
                # that was still queued starts with it, one Ray still holds keeps it
                env = self._load_environment(job.id)
                found = self.executor.reconcile(job.id, status, self._spec(job, env))
            except Exception as exc:  # one job's trouble must not stop the server
                log.exception("Could not reconcile job %s", job.id)
                found = JobStatus(state=states.LOST, message=f"Could not reconcile: {exc}")
            self._heard(job.id, found)

    def close(self) -> None:
        self.executor.close()

    # -- submitting --------------------------------------------------------------------

    def resources(self, size: Size) -> tuple[str | None, Resources]:
        """The profile named (or the default one), with explicit numbers laid over it."""
        total = self.executor.capacity().total
        explicit = size.cpus is not None or size.memory is not None or size.gpus is not None
        name = size.profile or (
            None if explicit else self.workspace.settings.compute.default_profile
        )
        base = get_profile(self.workspace, name).resolve(total) if name else Resources(1, 2 << 30)
        cpus = float(size.cpus) if size.cpus is not None else base.cpus
        if cpus <= 0:
            raise Invalid(f"cpus must be more than 0, not {size.cpus}.")
        if size.gpus is not None and size.gpus < 0:
            raise Invalid(f"gpus must be 0 or more, not {size.gpus}.")
        memory = (
            memory_bytes(size.memory, total.memory_bytes)
            if size.memory is not None
            else base.memory_bytes
        )
        gpus = size.gpus if size.gpus is not None else base.gpus
        return name, Resources(cpus=cpus, memory_bytes=memory, gpus=gpus)

    def submit_script(
        self,
        user: User,
        filename: str,
        content: bytes,
        args: list[str] | None = None,
        size: Size | None = None,
        name: str = "",
        timeout_s: float | None = None,
        max_retries: int = 0,
    ) -> Job:
        """Run a Python script (its content, sent by the client) with `args`."""
        script = Path(filename).name
        if not script.endswith(".py") or script in (".py", ""):
            raise Invalid(f"{filename!r} is not a Python script: give a .py file.")
        if len(content) > MAX_SCRIPT_BYTES:
            raise Invalid(f"The script is over {MAX_SCRIPT_BYTES >> 20} MiB; keep code in lib/.")
        python = self.python((size or Size()).environment)
        job_id = uuid.uuid4().hex
        folder = self.work_dir(job_id)
        folder.mkdir(parents=True)
        (folder / script).write_bytes(content)
        command = [python, str(folder / script), *(args or [])]
        return self._submit(
            user, job_id, "script", name or script, command, size, timeout_s, max_retries
        )

    def submit_command(
        self,
        user: User,
        kind: str,
        command: list[str],
        name: str,
        size: Size | None = None,
        timeout_s: float | None = None,
        max_retries: int = 0,
        job_id: str | None = None,
    ) -> Job:
        """Run a prepared command (notebook and function jobs build theirs)."""
        return self._submit(
            user, job_id or uuid.uuid4().hex, kind, name, command, size, timeout_s, max_retries
        )

    def _submit(
        self,
        user: User,
        job_id: str,
        kind: str,
        name: str,
        command: list[str],
        size: Size | None,
        timeout_s: float | None,
        max_retries: int,
    ) -> Job:
        require(user, "write")
        if kind not in KINDS:
            raise Invalid(f"Job kind {kind!r} is unknown; use one of {', '.join(KINDS)}.")
        if not 0 <= max_retries <= 10:
            raise Invalid(f"max_retries must be from 0 to 10, not {max_retries}.")
        if timeout_s is not None and timeout_s <= 0:
            raise Invalid(f"timeout_s must be more than 0, not {timeout_s}.")
        try:
            profile, wanted = self.resources(size or Size())
        except Exception:
            shutil.rmtree(self.state_dir(job_id), ignore_errors=True)
            raise
        timeout = (
            timeout_s if timeout_s is not None else self.workspace.settings.compute.job_timeout_s
        )
        row = {
            "id": job_id,
            "name": name[:250],
            "kind": kind,
            "status": states.QUEUED,
            "backend": self.executor.backend,
            "profile": profile,
            "cpus": wanted.cpus,
            "memory_bytes": wanted.memory_bytes,
            "gpus": wanted.gpus,
            "command": json.dumps(command),
            "timeout_s": timeout,
            "max_retries": max_retries,
            "submitted_by": user.username,
            "created_at": now_ms(),
            "attempt": 0,
            "gpu_ids": "[]",
            "message": "",
            "outputs": "{}",
        }
        from seedbed.notebooks import environments  # notebooks build on compute's jobs

        chosen = environments.get(self.workspace, (size or Size()).environment)
        row["environment"] = chosen.name
        row["environment_lock"] = f"sha256:{chosen.lock_hash}" if chosen.lock_hash else None
        row["python_version"] = platform.python_version()  # environments share its Python
        row["lib_version"] = lib_version(self.workspace.lib_dir)
        env, row["token_id"] = self._environment(user, job_id, profile)
        self._save_environment(job_id, env)
        unset = ("started_at", "finished_at", "exit_code", "cpu_seconds", "peak_memory_bytes")
        job = job_from_row(row | dict.fromkeys(unset))
        with self.workspace.engine.begin() as connection:
            connection.execute(jobs.insert().values(**row))
            audit.append(
                connection,
                user.username,
                "job.submit",
                job_id,
                kind=kind,
                name=name,
                profile=profile,
            )
        try:
            self.executor.submit(self._spec(job, env))
        except Invalid:
            self._withdraw(job)  # refused at once (it can never fit): no trace is left
            raise
        except Exception as exc:
            self._heard(job_id, JobStatus(state=states.FAILED, message=str(exc)))
            raise
        return self.get(job_id)

    def _withdraw(self, job: Job) -> None:
        self._revoke(job)
        with self.workspace.engine.begin() as connection:
            connection.execute(jobs.delete().where(jobs.c.id == job.id))
        shutil.rmtree(self.state_dir(job.id), ignore_errors=True)

    def _environment(
        self, user: User, job_id: str, profile: str | None
    ) -> tuple[dict[str, str], int | None]:
        """What a job needs to act as `user`: the server's URL and a token of its own."""
        name = f"job {job_id}"
        token, token_id = tokens.issue_token(self.workspace, user, name)
        env = {
            "SEEDBED_URL": self.server_url,
            "SEEDBED_TOKEN": token,
            "SEEDBED_PROFILE": profile or "custom",
            "PYTHONPATH": str(self.workspace.lib_dir),
            "PYTHONUNBUFFERED": "1",
        }
        return env, token_id

    def _save_environment(self, job_id: str, env: dict[str, str]) -> None:
        """Keep the job's environment (its token is in it: owner-only) for a restart."""
        folder = self.state_dir(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder / "env.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(env, handle)

    def _load_environment(self, job_id: str) -> dict[str, str]:
        try:
            found: dict[str, str] = json.loads(
                (self.state_dir(job_id) / "env.json").read_text(encoding="utf-8")
            )
        except (FileNotFoundError, ValueError):
            return {}
        return found

    def _spec(self, job: Job, env: dict[str, str]) -> JobSpec:
        from seedbed.compute import confine

        folder = self.state_dir(job.id)
        work = self.work_dir(job.id)
        work.mkdir(parents=True, exist_ok=True)
        rules = None
        if self.confined():
            workspace = self.workspace
            readable = [
                workspace.lib_dir,
                workspace.notebooks_dir,
                workspace.features_dir,
                workspace.root / "environments",
            ]
            rules = confine.rules_for(workspace.root, work, readable)
            scratch = work / "tmp"
            scratch.mkdir(exist_ok=True)
            # where IPython, Jupyter, matplotlib and tempfile keep their files
            env = {**env, "HOME": str(work), "TMPDIR": str(scratch)}
        return JobSpec(
            confine=rules,
            job_id=job.id,
            command=job.command,
            env=env,
            cwd=self.workspace.root,
            resources=Resources(job.cpus, job.memory_bytes, job.gpus),
            log_path=folder / "log.txt",
            timeout_s=job.timeout_s,
            max_retries=job.max_retries,
            state_dir=folder,
        )

    def _pid(self, job_id: str) -> int | None:
        with self.workspace.engine.connect() as connection:
            pid = connection.execute(select(jobs.c.pid).where(jobs.c.id == job_id)).scalar()
        return int(pid) if pid is not None else None

    # -- hearing from the executor -------------------------------------------------------

    def _heard(self, job_id: str, status: JobStatus) -> None:
        values: dict[str, Any] = {"status": status.state, "message": status.message}
        for column in (
            "attempt",
            "exit_code",
            "started_at",
            "finished_at",
            "cpu_seconds",
            "peak_memory_bytes",
            "pid",
        ):
            value = getattr(status, column)
            if value is not None:
                values[column] = value
        if status.gpu_ids:
            values["gpu_ids"] = json.dumps(status.gpu_ids)
        with self._lock, self.workspace.engine.begin() as connection:
            row = connection.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
            if row is None:
                return
            if row["status"] in states.FINAL:
                return  # a final state is never overwritten
            connection.execute(jobs.update().where(jobs.c.id == job_id).values(**values))
        if status.final:
            self._ended(job_from_row(row), status)

    def _ended(self, job: Job, status: JobStatus) -> None:
        """Revoke the job's token, keep what it left, write its end to the audit log."""
        from seedbed.compute.runners import keep_outputs  # runners build on this module

        self._revoke(job)
        for secret in ("env.json", "spec.json"):  # they hold its (now revoked) token
            (self.state_dir(job.id) / secret).unlink(missing_ok=True)
        try:
            outputs = keep_outputs(self, job)
        except Exception:
            log.exception("Could not keep the outputs of job %s", job.id)
            outputs = {}
        if outputs:
            with self.workspace.engine.begin() as connection:
                connection.execute(
                    jobs.update().where(jobs.c.id == job.id).values(outputs=json.dumps(outputs))
                )
        audit.record(self.workspace, job.submitted_by, "job.end", job.id, state=status.state)

    def _revoke(self, job: Job) -> None:
        with self.workspace.engine.connect() as connection:
            token_id = connection.execute(
                select(jobs.c.token_id).where(jobs.c.id == job.id)
            ).scalar()
        if token_id is not None:
            # already revoked, or the user is gone (and their tokens with them)
            with contextlib.suppress(NotFound, Invalid):
                tokens.revoke_token(
                    self.workspace,
                    get_user_by_name(self.workspace, job.submitted_by),
                    token_id,
                    "system",
                )

    # -- reading ---------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        """A job by its id, or by a prefix of at least 6 characters that only it has."""
        with self.workspace.engine.connect() as connection:
            row = connection.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
            if row is None and 6 <= len(job_id) < 32 and job_id.isalnum():
                found = (
                    connection.execute(select(jobs).where(jobs.c.id.startswith(job_id)).limit(2))
                    .mappings()
                    .all()
                )
                if len(found) > 1:
                    raise Invalid(f"More than one job starts with {job_id!r}: give more of it.")
                row = found[0] if found else None
        if row is None:
            raise NotFound(f"No job {job_id!r}; `seedbed jobs list` shows the jobs.")
        return job_from_row(row)

    def list_jobs(self, status: str | None = None, limit: int = 200) -> list[Job]:
        query = select(jobs).order_by(jobs.c.created_at.desc()).limit(min(max(1, limit), 1000))
        if status == "live":
            query = query.where(jobs.c.status.in_(sorted(states.LIVE)))
        elif status == "finished":
            query = query.where(jobs.c.status.in_(sorted(states.FINAL)))
        elif status:
            query = query.where(jobs.c.status == status)
        with self.workspace.engine.connect() as connection:
            return [job_from_row(row) for row in connection.execute(query).mappings()]

    def logs(self, job_id: str, offset: int = 0) -> tuple[bytes, int]:
        job = self.get(job_id)
        job_id = job.id
        if job.backend == self.executor.backend:
            try:
                return self.executor.logs(job_id, offset)
            except NotFound:
                pass  # a job of an earlier server: its log file is all there is
        return read_log(self.state_dir(job_id) / "log.txt", offset)

    def cancel(self, job_id: str, user: User) -> Job:
        job = self.get(job_id)
        job_id = job.id
        if job.submitted_by != user.username:
            require(user, "admin")
        else:
            require(user, "write")
        if job.final:
            raise Invalid(f"Job {job_id} has ended already ({job.status}).")
        try:
            self.executor.cancel(job_id)
        except NotFound:
            self._heard(job_id, JobStatus(state=states.CANCELLED, message="Cancelled."))
        audit.record(self.workspace, user.username, "job.cancel", job_id)
        return self.get(job_id)

    def wait(self, job_id: str, timeout_s: float = 60.0) -> Job:
        """The job once it has ended (or as it is when the timeout passes)."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.get(job_id)
            if job.final or time.monotonic() > deadline:
                return job
            time.sleep(0.05)

    def capacity(self) -> Capacity:
        return self.executor.capacity()

    def runs_of(self, job_id: str) -> list[dict[str, Any]]:
        """The runs the job logged (tagged with its id)."""
        query = (
            select(runs.c.id, runs.c.name, runs.c.experiment_id, runs.c.status)
            .join(run_tags, run_tags.c.run_id == runs.c.id)
            .where(run_tags.c.key == JOB_TAG, run_tags.c.value == job_id)
            .order_by(runs.c.start_time)
        )
        with self.workspace.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]
