"""Data routes: warehouse tables as JSON and pages, and SQL results streamed as Arrow IPC."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import Any, Literal

import pyarrow as pa
from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from seedbed.auth.permissions import can
from seedbed.data.warehouse import TableInfo
from seedbed.web.deps import CurrentUser, QueryRunnerDep, WorkspaceDep

router = APIRouter()
ARROW_STREAM = "application/vnd.apache.arrow.stream"
PREVIEW_ROWS = 50


class SqlRequest(BaseModel):
    query: str = Field(..., description="One SQL statement for the DuckDB warehouse.")
    limit: int | None = Field(None, ge=0, description="Return at most this many rows.")
    timeout_s: float | None = Field(
        None, gt=0, description="Statement timeout (default: the sql_timeout_s setting)."
    )
    query_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{8,64}$", description="Your id for it, to cancel it."
    )
    format: Literal["arrow", "json"] = Field(
        "arrow",
        description="arrow (an IPC stream) or json (rows for the console, capped "
        "at the sql_row_limit setting).",
    )


class JsonResult(BaseModel):
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool


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


@router.post(
    "/api/v1/sql",
    tags=["data"],
    response_model=None,
    responses={200: {"content": {ARROW_STREAM: {}}}},
)
def api_sql(
    body: SqlRequest, workspace: WorkspaceDep, runner: QueryRunnerDep, user: CurrentUser
) -> Response | JsonResult:
    """Run SQL on the warehouse (read-only for all but admins); the result comes back as an
    Arrow IPC stream, or as JSON rows for the console."""
    settings = workspace.settings
    timeout_s = body.timeout_s or settings.sql_timeout_s
    if body.format == "arrow":
        schema, batches = runner.stream(
            body.query,
            user.username,
            can(user, "admin"),
            timeout_s,
            body.query_id,
            limit=body.limit,
            reader=user,
        )
        return StreamingResponse(arrow_stream(schema, batches), media_type=ARROW_STREAM)
    limit = min(
        body.limit if body.limit is not None else settings.sql_row_limit, settings.sql_row_limit
    )
    # One row more than shown tells whether the limit cut the result.
    table = runner.run(
        body.query,
        user.username,
        can(user, "admin"),
        timeout_s,
        body.query_id,
        limit=limit + 1,
        reader=user,
    )
    truncated = table.num_rows > limit
    table = table.slice(0, limit)
    return JsonResult(
        columns=table.column_names,
        types=[str(t) for t in table.schema.types],
        rows=[[_jsonable(v) for v in row] for row in preview_rows(table)],
        truncated=truncated,
    )


class _Collector(io.RawIOBase):
    """A write-only file the Arrow IPC writer writes into, emptied after every batch."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(self.parts[-1])

    def drain(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def arrow_stream(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """An Arrow IPC stream sent batch by batch, while DuckDB still makes the next ones."""
    sink = _Collector()
    with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), schema) as writer:
        yield sink.drain()
        for batch in batches:
            writer.write_batch(batch)
            yield sink.drain()
    yield sink.drain()


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


@router.post("/api/v1/sql/{query_id}/cancel", tags=["data"], status_code=204)
def api_cancel_sql(query_id: str, runner: QueryRunnerDep, user: CurrentUser) -> None:
    """Stop a running query started with this query_id (yours, or any for admins)."""
    runner.cancel(query_id, user.username, can(user, "admin"))
