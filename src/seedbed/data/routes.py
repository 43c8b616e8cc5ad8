"""Data routes: warehouse tables as JSON and pages, and SQL results streamed as Arrow IPC."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from seedbed.data.warehouse import TableInfo
from seedbed.errors import Forbidden
from seedbed.web.deps import CurrentUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter()
ARROW_STREAM = "application/vnd.apache.arrow.stream"
PREVIEW_ROWS = 50


class SqlRequest(BaseModel):
    query: str = Field(..., description="One SQL statement for the DuckDB warehouse.")
    limit: int | None = Field(None, ge=0, description="Return at most this many rows.")


def arrow_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def preview_rows(table: pa.Table) -> list[list[Any]]:
    columns = table.to_pydict()
    return [[columns[name][i] for name in table.column_names] for i in range(table.num_rows)]


@router.get("/api/v1/tables", tags=["data"])
def api_tables(workspace: WorkspaceDep, user: CurrentUser) -> list[TableInfo]:
    """Warehouse tables with their schemas and row counts."""
    return workspace.warehouse.tables()


@router.get("/api/v1/tables/{name}", tags=["data"])
def api_table(name: str, workspace: WorkspaceDep, user: CurrentUser) -> TableInfo:
    """Schema and row count of one warehouse table."""
    return workspace.warehouse.describe(name)


@router.get(
    "/api/v1/tables/{name}/rows", tags=["data"], responses={200: {"content": {ARROW_STREAM: {}}}}
)
def api_table_rows(
    name: str, workspace: WorkspaceDep, user: CurrentUser, limit: int = PREVIEW_ROWS
) -> Response:
    """The first `limit` rows of a table, as an Arrow IPC stream."""
    return Response(arrow_bytes(workspace.warehouse.head(name, limit)), media_type=ARROW_STREAM)


@router.post("/api/v1/sql", tags=["data"], responses={200: {"content": {ARROW_STREAM: {}}}})
def api_sql(body: SqlRequest, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    """Run SQL on the warehouse; the result comes back as an Arrow IPC stream."""
    if not user.is_admin:
        # Read-only execution for other roles arrives with the data-access work.
        raise Forbidden("Only admins may run SQL on the warehouse for now.")
    table = workspace.warehouse.query(body.query)
    if body.limit is not None:
        table = table.slice(0, body.limit)
    return Response(arrow_bytes(table), media_type=ARROW_STREAM)


@router.get("/ui/data", include_in_schema=False)
def data_page(request: Request, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    return render(request, "data/tables.html", tables=workspace.warehouse.tables())


@router.get("/ui/data/tables/{name}", include_in_schema=False)
def table_page(request: Request, name: str, workspace: WorkspaceDep, user: CurrentUser) -> Response:
    info = workspace.warehouse.describe(name)
    head = workspace.warehouse.head(name, PREVIEW_ROWS)
    return render(
        request, "data/table.html", table=info, columns=head.column_names, rows=preview_rows(head)
    )
