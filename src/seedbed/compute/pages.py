"""Pages of the Jobs section: the jobs (queued, running, finished) with the capacity of the
backend, and one job with its live log, resources and the runs it logged."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from seedbed.auth.permissions import can
from seedbed.compute import profiles
from seedbed.compute.routes import job_service
from seedbed.web.deps import CsrfChecked, CurrentUser, EditorUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/ui/jobs")
def jobs_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    service = job_service(request)
    listed = service.list_jobs(limit=300)
    return render(
        request,
        "compute/jobs.html",
        live=[j for j in listed if not j.final],
        finished=[j for j in listed if j.final],
        capacity=service.capacity(),
        profiles=profiles.list_profiles(workspace).values(),
    )


@router.get("/ui/jobs/{job_id}")
def job_page(request: Request, job_id: str, user: CurrentUser) -> Response:
    service = job_service(request)
    job = service.get(job_id)
    can_see = job.submitted_by == user.username or can(user, "admin")
    return render(
        request,
        "compute/job.html",
        job=job,
        runs=service.runs_of(job.id),
        can_see=can_see,
        can_cancel=can_see and user.can_write() and not job.final,
    )


@router.post("/ui/jobs/{job_id}/cancel", dependencies=[CsrfChecked])
def cancel_job(request: Request, job_id: str, user: EditorUser) -> Response:
    job_service(request).cancel(job_id, user)
    return RedirectResponse(f"/ui/jobs/{job_id}", status_code=303)
