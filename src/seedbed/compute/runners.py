"""Notebook and function jobs: what the server prepares for them and keeps after them.

A notebook job executes an .ipynb headless (nbclient, the workspace's Python as kernel) and
keeps the executed copy, outputs and errors included, as an artifact. A function job runs a
cloudpickled (function, args, kwargs) and leaves its pickled outcome for the SDK. The
server never unpickles what a client sent: only the job's own process does.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from seedbed.auth.users import User
from seedbed.compute.job_records import Job, Size
from seedbed.compute.jobs import JobService
from seedbed.errors import Invalid, NotFound

HERE = Path(__file__).parent
NOTEBOOK_OUT = "executed.ipynb"
FUNCTION_IN = "function.pkl"
FUNCTION_OUT = "result.pkl"


def submit_notebook(
    service: JobService,
    user: User,
    filename: str,
    content: str,
    size: Size,
    name: str = "",
    timeout_s: float | None = None,
    max_retries: int = 0,
) -> Job:
    notebook = Path(filename).name
    if not notebook.endswith(".ipynb"):
        raise Invalid(f"{filename!r} is not a notebook: give an .ipynb file.")
    try:
        parsed = json.loads(content)
    except ValueError as exc:
        raise Invalid(f"{notebook} is not notebook JSON: {exc}.") from None
    if not isinstance(parsed, dict) or "cells" not in parsed:
        raise Invalid(f"{notebook} has no cells: is it a Jupyter notebook?")
    python = service.python(size.environment)
    job_id = uuid.uuid4().hex
    folder = service.work_dir(job_id)
    folder.mkdir(parents=True)
    (folder / notebook).write_text(content, encoding="utf-8")
    command = [
        python,
        "-P",  # run by path without importing seedbed, its folder kept off sys.path
        str(HERE / "notebook_job.py"),
        str(folder / notebook),
        str(folder / NOTEBOOK_OUT),
    ]
    return service.submit_command(
        user, "notebook", command, name or notebook, size, timeout_s, max_retries, job_id=job_id
    )


def submit_function(
    service: JobService,
    user: User,
    payload: bytes,
    size: Size,
    name: str = "",
    timeout_s: float | None = None,
    max_retries: int = 0,
) -> Job:
    if not payload:
        raise Invalid("A function job needs its pickled (function, args, kwargs).")
    python = service.python(size.environment)
    job_id = uuid.uuid4().hex
    folder = service.work_dir(job_id)
    folder.mkdir(parents=True)
    (folder / FUNCTION_IN).write_bytes(payload)
    command = [
        python,
        "-P",  # run by path without importing seedbed, its folder kept off sys.path
        str(HERE / "function_job.py"),
        str(folder / FUNCTION_IN),
        str(folder / FUNCTION_OUT),
    ]
    return service.submit_command(
        user, "function", command, name or "function", size, timeout_s, max_retries, job_id=job_id
    )


def function_result(service: JobService, job: Job) -> bytes:
    if job.kind != "function":
        raise Invalid(f"Job {job.id} is a {job.kind} job; only function jobs have a result.")
    if not job.final:
        raise Invalid(f"Job {job.id} is still {job.status}; wait for it to end.")
    path = service.work_dir(job.id) / FUNCTION_OUT
    if not path.is_file():
        raise NotFound(
            f"Job {job.id} left no result ({job.status}: {job.message or 'no message'})."
        )
    return path.read_bytes()


def keep_outputs(service: JobService, job: Job) -> dict[str, str]:
    """After a job ends: the executed notebook goes to the artifact store."""
    if job.kind != "notebook":
        return {}
    executed = service.work_dir(job.id) / NOTEBOOK_OUT
    if not executed.is_file():
        return {}
    key = f"jobs/{job.id}/{Path(job.name).stem or 'notebook'}.executed.ipynb"
    service.workspace.artifacts.put_bytes(key, executed.read_bytes())
    return {"notebook": key}
