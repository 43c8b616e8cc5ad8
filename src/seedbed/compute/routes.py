"""Jobs and compute over /api/v1: submit, list, follow logs, cancel, results, capacity and
resource profiles."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from seedbed.compute import profiles, runners
from seedbed.compute.job_records import Job, Size, forbid_unless_owner
from seedbed.compute.jobs import JobService
from seedbed.errors import Invalid
from seedbed.settings import ProfileSpec
from seedbed.web.deps import AdminUser, CurrentUser, EditorUser, WorkspaceDep

router = APIRouter(tags=["compute"])


def job_service(request: Request) -> JobService:
    service: JobService = request.app.state.jobs
    service.ensure_started()
    return service


class SizeFields(BaseModel):
    profile: str | None = Field(None, description="A resource profile (default: the default).")
    cpus: float | None = Field(None, gt=0, description="CPUs, instead of the profile's.")
    memory: str | int | None = Field(None, description="Bytes, '2GiB' or '50%'.")
    gpus: int | None = Field(None, ge=0)
    environment: str = Field("default", description="The workspace environment to run in.")
    timeout_s: float | None = Field(None, gt=0)
    max_retries: int = Field(0, ge=0, le=10)
    name: str = Field("", max_length=250)

    def size(self) -> Size:
        return Size(self.profile, self.cpus, self.memory, self.gpus, self.environment)


class JobRequest(SizeFields):
    kind: Literal["script", "notebook", "function"] = "script"
    filename: str = Field("", description="The script's or notebook's file name.")
    content: str = Field(
        "",
        description="Script source or notebook JSON (text); for functions, base64 of "
        "the cloudpickled (function, args, kwargs).",
    )
    args: list[str] = Field(default_factory=list, description="Script arguments.")


class JobOut(BaseModel):
    job: dict[str, Any]
    runs: list[dict[str, Any]] = Field(default_factory=list)


def _out(service: JobService, job: Job) -> dict[str, Any]:
    data = dict(job.__dict__)
    data["seconds"] = job.seconds
    data["final"] = job.final
    return data


@router.post("/api/v1/jobs", status_code=201)
def api_submit(body: JobRequest, request: Request, user: EditorUser) -> JobOut:
    """Submit a script, a notebook or a function; it queues until its resources are free."""
    service = job_service(request)
    if body.kind == "script":
        job = service.submit_script(
            user,
            body.filename,
            body.content.encode("utf-8"),
            body.args,
            body.size(),
            body.name,
            body.timeout_s,
            body.max_retries,
        )
    elif body.kind == "notebook":
        job = runners.submit_notebook(
            service,
            user,
            body.filename,
            body.content,
            body.size(),
            body.name,
            body.timeout_s,
            body.max_retries,
        )
    else:
        try:
            payload = base64.b64decode(body.content, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("A function job's content must be base64 of its pickle.") from None
        job = runners.submit_function(
            service, user, payload, body.size(), body.name, body.timeout_s, body.max_retries
        )
    return JobOut(job=_out(service, job))


@router.get("/api/v1/jobs")
def api_jobs(
    request: Request,
    user: CurrentUser,
    status: Annotated[str | None, Query(description="live, finished, or one state")] = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Jobs, newest first."""
    service = job_service(request)
    return [_out(service, job) for job in service.list_jobs(status, limit)]


@router.get("/api/v1/jobs/{job_id}")
def api_job(job_id: str, request: Request, user: CurrentUser) -> JobOut:
    """One job with the runs it logged."""
    service = job_service(request)
    job = service.get(job_id)
    return JobOut(job=_out(service, job), runs=service.runs_of(job.id))


@router.get("/api/v1/jobs/{job_id}/logs", response_class=Response)
def api_logs(job_id: str, request: Request, user: CurrentUser, offset: int = 0) -> Response:
    """The log from byte `offset` on; `x-seedbed-offset` is where to ask from next and
    `x-seedbed-status` the job's state (stop following once it is final)."""
    service = job_service(request)
    job = service.get(job_id)
    forbid_unless_owner(job, user)
    data, following = service.logs(job.id, offset)
    job = service.get(job.id)
    return Response(
        data,
        media_type="text/plain; charset=utf-8",
        headers={"x-seedbed-offset": str(following), "x-seedbed-status": job.status},
    )


@router.post("/api/v1/jobs/{job_id}/cancel")
def api_cancel(job_id: str, request: Request, user: EditorUser) -> JobOut:
    """Stop a queued or running job (yours; admins may stop anyone's)."""
    service = job_service(request)
    return JobOut(job=_out(service, service.cancel(job_id, user)))


@router.get("/api/v1/jobs/{job_id}/result", response_class=Response)
def api_result(job_id: str, request: Request, user: CurrentUser) -> Response:
    """A function job's pickled outcome (its value, or the exception it raised)."""
    service = job_service(request)
    job = service.get(job_id)
    forbid_unless_owner(job, user)
    return Response(runners.function_result(service, job), media_type="application/octet-stream")


@router.get("/api/v1/compute/capacity")
def api_capacity(request: Request, user: CurrentUser) -> dict[str, Any]:
    """What the backend can run, and what its running jobs hold now."""
    capacity = job_service(request).capacity()
    return {
        "backend": capacity.backend,
        "detail": capacity.detail,
        "total": capacity.total.__dict__,
        "used": capacity.used.__dict__,
        "running": capacity.running,
        "queued": capacity.queued,
    }


@router.get("/api/v1/compute/profiles")
def api_profiles(workspace: WorkspaceDep, user: CurrentUser) -> list[dict[str, Any]]:
    """The resource profiles jobs may name."""
    return [p.__dict__ for p in profiles.list_profiles(workspace).values()]


@router.put("/api/v1/compute/profiles/{name}")
def api_set_profile(
    name: str, body: ProfileSpec, workspace: WorkspaceDep, admin: AdminUser
) -> dict[str, Any]:
    """Add or change a profile (admins)."""
    return profiles.set_profile(workspace, name, body, admin.username).__dict__


@router.delete("/api/v1/compute/profiles/{name}", status_code=204)
def api_remove_profile(name: str, workspace: WorkspaceDep, admin: AdminUser) -> None:
    """Remove a profile an admin added (settings' profiles are changed in seedbed.toml)."""
    profiles.remove_profile(workspace, name, admin.username)
