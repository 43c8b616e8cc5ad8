"""Environments over /api/v1 and the Environment page: list, create, add and remove
packages, lock and sync."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from seedbed.errors import Invalid
from seedbed.notebooks import environments as envs
from seedbed.notebooks.environments import Environment
from seedbed.web.deps import CsrfChecked, CurrentUser, EditorUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter()


class NewEnvironment(BaseModel):
    name: str = Field(..., description="Lower-case letters, digits, '_' or '-'.")


class PackageSpec(BaseModel):
    spec: str = Field(..., description="NAME, NAME==VERSION or any PEP 508 requirement.")


def _out(environment: Environment, with_packages: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": environment.name,
        "python": str(environment.python),
        "requirements": environment.requirements,
        "lock_hash": environment.lock_hash,
    }
    if with_packages:
        data["packages"] = [asdict(p) for p in envs.packages(environment)]
    return data


@router.get("/api/v1/environments", tags=["environments"])
def api_environments(workspace: WorkspaceDep, user: CurrentUser) -> list[dict[str, Any]]:
    """The workspace's environments (default first)."""
    return [_out(e) for e in envs.list_environments(workspace)]


@router.post("/api/v1/environments", tags=["environments"], status_code=201)
def api_create(body: NewEnvironment, workspace: WorkspaceDep, user: EditorUser) -> dict[str, Any]:
    """Make an environment over the server's Python."""
    return _out(envs.create(workspace, body.name))


@router.get("/api/v1/environments/{name}", tags=["environments"])
def api_environment(name: str, workspace: WorkspaceDep, user: CurrentUser) -> dict[str, Any]:
    """One environment with every package it sees (`own`: installed in it)."""
    return _out(envs.get(workspace, name), with_packages=True)


@router.post("/api/v1/environments/{name}/packages", tags=["environments"])
def api_add(
    name: str, body: PackageSpec, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, Any]:
    """Install a package with uv; on failure the resolver's message comes back (400)."""
    return _out(envs.add(workspace, name, body.spec))


@router.delete("/api/v1/environments/{name}/packages/{package}", tags=["environments"])
def api_remove(
    name: str, package: str, workspace: WorkspaceDep, user: EditorUser
) -> dict[str, Any]:
    """Uninstall a package the environment added."""
    return _out(envs.remove(workspace, name, package))


@router.post("/api/v1/environments/{name}/lock", tags=["environments"])
def api_lock(name: str, workspace: WorkspaceDep, user: EditorUser) -> dict[str, Any]:
    """Write the lock file from what the environment has now."""
    return _out(envs.lock(workspace, name))


@router.post("/api/v1/environments/{name}/sync", tags=["environments"])
def api_sync(name: str, workspace: WorkspaceDep, user: EditorUser) -> dict[str, Any]:
    """Make the environment match its lock file; `changed` says what was done."""
    environment, changed = envs.sync(workspace, name)
    return {**_out(environment), "changed": changed}


@router.get("/ui/environment", include_in_schema=False)
def environment_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return _page(request, workspace, error=None)


def _page(request: Request, workspace: WorkspaceDep, error: str | None) -> Response:
    shown = [(e, envs.packages(e)) for e in envs.list_environments(workspace)]
    return render(
        request,
        "notebooks/environment.html",
        status_code=400 if error else 200,
        environments=shown,
        error=error,
    )


@router.post("/ui/environment/{name}/packages", include_in_schema=False, dependencies=[CsrfChecked])
async def add_package(
    request: Request, name: str, workspace: WorkspaceDep, user: EditorUser
) -> Response:
    form = await request.form()
    try:
        envs.add(workspace, name, str(form.get("spec") or "").strip())
    except Invalid as exc:
        return _page(request, workspace, error=str(exc))
    return RedirectResponse(f"/ui/environment#env-{name}", status_code=303)
