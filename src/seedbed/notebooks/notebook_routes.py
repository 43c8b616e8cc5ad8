"""Notebooks over /api/v1: list them, and start, show or stop the caller's JupyterLab."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from seedbed.notebooks.jupyter import JupyterService
from seedbed.notebooks.notebook_files import list_notebooks
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep

router = APIRouter()


async def get_jupyter(request: Request) -> JupyterService:
    service: JupyterService = request.app.state.jupyter
    return service


JupyterDep = Annotated[JupyterService, Depends(get_jupyter)]


class StartLab(BaseModel):
    port: int = Field(0, ge=0, le=65535, description="Port on 127.0.0.1; 0 picks a free one.")


@router.get("/api/v1/notebooks", tags=["notebooks"])
def api_notebooks(workspace: WorkspaceDep, user: CurrentUser) -> list[dict[str, Any]]:
    """The workspace's notebooks, paths relative to notebooks/."""
    return [asdict(n) for n in list_notebooks(workspace)]


@router.post("/api/v1/notebooks/server", tags=["notebooks"])
def api_start_lab(
    jupyter: JupyterDep, user: EditorUser, body: StartLab | None = None
) -> dict[str, Any]:
    """Start the caller's JupyterLab (or find it running) and answer once it is ready.

    A kernel runs code as the server's account, so only editors may start one."""
    return jupyter.describe(jupyter.start(user, body.port if body else 0))


@router.get("/api/v1/notebooks/server", tags=["notebooks"])
def api_lab(jupyter: JupyterDep, user: EditorUser) -> dict[str, Any]:
    """The caller's JupyterLab; `running` is false when none runs."""
    info = jupyter.status(user)
    return {"running": False} if info is None else {"running": True, **jupyter.describe(info)}


@router.delete("/api/v1/notebooks/server", tags=["notebooks"], status_code=204)
def api_stop_lab(jupyter: JupyterDep, user: EditorUser) -> Response:
    """Stop the caller's JupyterLab; its kernels stop and their token is revoked."""
    jupyter.stop(user)
    return Response(status_code=204)
