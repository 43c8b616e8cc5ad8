"""Pages of the Data section: datasets, uploads, warehouse tables."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from seedbed.data import datasets as dataset_service
from seedbed.data.routes import PREVIEW_ROWS, preview_rows
from seedbed.data.uploads import TYPES
from seedbed.errors import NotFound
from seedbed.web.deps import CurrentUser, EditorUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/ui/data")
def data_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(
        request,
        "data/tables.html",
        tables=workspace.warehouse.tables(),
        datasets=dataset_service.list_datasets(workspace),
    )


@router.get("/ui/data/upload")
def upload_page(request: Request, user: EditorUser) -> Response:
    return render(request, "data/upload.html", types=TYPES)


@router.get("/ui/data/tables/{name}")
def table_page(request: Request, name: str, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    info = workspace.warehouse.describe(name)
    head = workspace.warehouse.head(name, PREVIEW_ROWS)
    return render(
        request, "data/table.html", table=info, columns=head.column_names, rows=preview_rows(head)
    )


@router.get("/ui/data/datasets/{name}")
def dataset_page(
    request: Request,
    name: str,
    workspace: WorkspaceDep,
    user: CurrentUser,
    version: int | None = None,
) -> Response:
    dataset = dataset_service.get_dataset(workspace, name)
    if not dataset.versions:
        raise NotFound(f"Dataset {name!r} has no versions left.")
    current = dataset_service.get_version(workspace, name, version)
    sample = dataset_service.sample(workspace, current, PREVIEW_ROWS)
    return render(
        request,
        "data/dataset.html",
        dataset=dataset,
        current=current,
        columns=sample.column_names,
        rows=preview_rows(sample),
        lineage=dataset_service.lineage(workspace, name, current.version),
    )


@router.get("/ui/sql")
def sql_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(
        request,
        "data/sql.html",
        tables=workspace.warehouse.tables(),
        row_limit=workspace.settings.sql_row_limit,
        timeout_s=workspace.settings.sql_timeout_s,
    )
