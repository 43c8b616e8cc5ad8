"""Source routes: register, browse and snapshot external sources; query results to datasets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from seedbed.data import sources
from seedbed.data.dataset_routes import Published
from seedbed.data.sources import Source
from seedbed.web.deps import AdminUser, CurrentUser, EditorUser, QueryRunnerDep, WorkspaceDep

router = APIRouter(tags=["sources"])


class SourceCreate(BaseModel):
    name: str = Field(..., description="Name to query it by: `name.schema.table` in SQL.")
    kind: str = Field(..., description="postgres, sqlite or files.")
    config: dict[str, Any] = Field(
        ..., description="postgres: host, database, user, port, sslmode; sqlite and files: path."
    )
    secret: str | None = Field(None, description="The password; stored encrypted, never shown.")


class SnapshotRequest(BaseModel):
    dataset: str = Field(..., description="Dataset to publish the rows as (a new version).")
    table: str | None = Field(None, description="`table` or `schema.table` of the source.")
    query: str | None = Field(None, description="Or one SELECT in the source's tables.")


class QuerySnapshot(BaseModel):
    query: str = Field(..., description="A warehouse query; sources appear as catalogs.")


class TableEntry(BaseModel):
    schema_name: str
    name: str


class ColumnEntry(BaseModel):
    name: str
    type: str


@router.post("/api/v1/sources", status_code=201)
def api_register(body: SourceCreate, workspace: WorkspaceDep, user: AdminUser) -> Source:
    """Register a source after checking that it answers with these settings (admins)."""
    return sources.register(
        workspace, body.name, body.kind, body.config, body.secret, user.username
    )


@router.get("/api/v1/sources")
def api_sources(workspace: WorkspaceDep, user: CurrentUser) -> list[Source]:
    """Registered sources, without their credentials."""
    return sources.list_sources(workspace)


@router.get("/api/v1/sources/{name}")
def api_source(name: str, workspace: WorkspaceDep, user: CurrentUser) -> Source:
    return sources.get_source(workspace, name)


@router.delete("/api/v1/sources/{name}", status_code=204)
def api_remove(name: str, workspace: WorkspaceDep, user: AdminUser) -> None:
    """Forget a source and its stored credential (admins)."""
    sources.remove(workspace, name, user.username)


@router.get("/api/v1/sources/{name}/tables")
def api_tables(name: str, workspace: WorkspaceDep, user: CurrentUser) -> list[TableEntry]:
    """The source's tables and views."""
    return [TableEntry(schema_name=t.schema, name=t.name) for t in sources.tables(workspace, name)]


@router.get("/api/v1/sources/{name}/tables/{table}")
def api_describe(
    name: str, table: str, workspace: WorkspaceDep, user: CurrentUser
) -> list[ColumnEntry]:
    """Columns of one table (`table` or `schema.table`) with their DuckDB types."""
    return [ColumnEntry(name=c, type=t) for c, t in sources.describe(workspace, name, table)]


@router.post("/api/v1/sources/{name}/snapshot", status_code=201)
def api_snapshot(
    name: str, body: SnapshotRequest, workspace: WorkspaceDep, user: EditorUser
) -> Published:
    """Copy a source table or query into the next version of a dataset."""
    version, created = sources.snapshot(
        workspace, name, body.dataset, body.table, body.query, user.username
    )
    return Published(created=created, version=version)


@router.post("/api/v1/datasets/{dataset}/from-query", status_code=201)
def api_from_query(
    dataset: str,
    body: QuerySnapshot,
    workspace: WorkspaceDep,
    runner: QueryRunnerDep,
    user: EditorUser,
) -> Published:
    """Publish the result of a warehouse query as the next version of a dataset."""
    version, created = sources.snapshot_query(workspace, runner, body.query, dataset, user)
    return Published(created=created, version=version)
