"""The Notebooks page: the workspace's notebooks, a read-only view of one, and the way
into JupyterLab (started for the user on demand)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from seedbed.notebooks import notebook_files as files
from seedbed.notebooks.notebook_routes import JupyterDep
from seedbed.web.deps import CsrfChecked, CurrentUser, EditorUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/ui/notebooks")
def notebooks_page(
    request: Request, workspace: WorkspaceDep, jupyter: JupyterDep, user: CurrentUser
) -> Response:
    return render(
        request,
        "notebooks/notebooks.html",
        notebooks=files.list_notebooks(workspace),
        folder=workspace.notebooks_dir,
        lab=jupyter.status(user) if user.can_write() else None,
    )


@router.get("/ui/notebooks/view/{path:path}")
def notebook_page(
    request: Request, path: str, workspace: WorkspaceDep, user: CurrentUser
) -> Response:
    notebook = files.read(files.notebook_path(workspace, path))
    kernel = str(files.kernelspec(notebook).get("display_name", ""))
    return render(
        request, "notebooks/notebook.html", path=path, cells=files.cells(notebook), kernel=kernel
    )


@router.post("/ui/notebooks/open", dependencies=[CsrfChecked])
async def open_in_lab(
    request: Request, workspace: WorkspaceDep, jupyter: JupyterDep, user: EditorUser
) -> Response:
    """Start the user's JupyterLab if need be, then send the browser to it (or a notebook)."""
    form = await request.form()
    path = str(form.get("path") or "")
    if path:
        files.notebook_path(workspace, path)  # refuses paths outside notebooks/
    info = await run_in_threadpool(jupyter.start, user)
    return RedirectResponse(info.notebook_url(path) if path else info.url, status_code=303)
