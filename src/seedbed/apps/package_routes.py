"""`GET /api/v1/models/{name}/versions/{reference}/package`: a model's container build
context as a tar.gz stream (what `seedbed package` unpacks)."""

from __future__ import annotations

import shutil

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from seedbed.apps import packaging
from seedbed.web.deps import CurrentUser, WorkspaceDep

router = APIRouter()


@router.get(
    "/api/v1/models/{name}/versions/{reference}/package",
    tags=["registry"],
    response_class=FileResponse,
    responses={200: {"content": {"application/gzip": {}}}},
)
async def api_package(
    name: str, reference: str, workspace: WorkspaceDep, user: CurrentUser
) -> FileResponse:
    """The build context (Dockerfile, pinned requirements, model folder, serving app) of a
    version given by number, 'latest' or alias, as a tar.gz file."""
    archive = await run_in_threadpool(
        packaging.write_archive, workspace, f"{name}@{reference}", user.username
    )
    return FileResponse(
        archive,
        media_type="application/gzip",
        filename=f"{name}-{reference}-context.tar.gz",
        background=BackgroundTask(shutil.rmtree, archive.parent, ignore_errors=True),
    )
