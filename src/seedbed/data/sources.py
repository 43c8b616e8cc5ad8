"""External sources (PostgreSQL, SQLite, folders of files): registered once, browsed in the
catalog, queried through the warehouse and snapshotted into datasets.

Credentials are encrypted with the workspace key and never leave this module in the clear.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import RowMapping, select
from sqlalchemy.exc import IntegrityError

from seedbed.auth import audit
from seedbed.auth.permissions import can
from seedbed.auth.users import User
from seedbed.data.connectors import Connector, TableRef, make_connector
from seedbed.data.connectors.base import check_alias, quote_identifier
from seedbed.data.connectors.files import FilesConnector
from seedbed.data.datasets import DatasetVersion, check_name, publish_parquet
from seedbed.data.sandbox import Sandbox
from seedbed.data.secrets import secret_box
from seedbed.data.sql import QueryRunner
from seedbed.data.tables import connectors as sources_table
from seedbed.db import now_ms
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    config: dict[str, Any]  # never holds the credential
    has_secret: bool
    created_by: str
    created_at: int


def _source(row: RowMapping) -> Source:
    return Source(
        name=row["name"],
        kind=row["kind"],
        config=json.loads(row["config"]),
        has_secret=bool(row["secret"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


def register(
    workspace: Workspace,
    name: str,
    kind: str,
    config: Mapping[str, Any],
    secret: str | None = None,
    user: str = "",
) -> Source:
    """Check that the source answers, then store it with its credential encrypted."""
    check_alias(name)
    if workspace.warehouse.has_table(name):
        raise Conflict(f"{name!r} already names a warehouse table; pick another source name.")
    connector = make_connector(kind, config, secret)
    connector.test()
    try:
        with workspace.engine.begin() as connection:
            connection.execute(
                sources_table.insert().values(
                    name=name,
                    kind=kind,
                    config=json.dumps(dict(config)),
                    secret=secret_box(workspace).encrypt(secret) if secret else None,
                    created_by=user,
                    created_at=now_ms(),
                )
            )
    except IntegrityError as exc:
        raise Conflict(f"A source named {name!r} already exists.") from exc
    audit.record(workspace, user or None, "source.register", name, kind=kind)
    return get_source(workspace, name)


def _row(workspace: Workspace, name: str) -> RowMapping:
    with workspace.engine.connect() as connection:
        row = (
            connection.execute(select(sources_table).where(sources_table.c.name == name))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"No source named {name!r}. Registered sources are listed under Data.")
    return row


def get_source(workspace: Workspace, name: str) -> Source:
    return _source(_row(workspace, name))


def list_sources(workspace: Workspace) -> list[Source]:
    with workspace.engine.connect() as connection:
        rows = (
            connection.execute(select(sources_table).order_by(sources_table.c.name))
            .mappings()
            .all()
        )
    return [_source(row) for row in rows]


def remove(workspace: Workspace, name: str, user: str = "") -> None:
    get_source(workspace, name)
    with workspace.engine.begin() as connection:
        connection.execute(sources_table.delete().where(sources_table.c.name == name))
    audit.record(workspace, user or None, "source.remove", name)


def connector(workspace: Workspace, name: str) -> Connector:
    """A live connector for a registered source, its credential decrypted in memory only."""
    row = _row(workspace, name)
    secret = secret_box(workspace).decrypt(row["secret"]) if row["secret"] else None
    return make_connector(row["kind"], json.loads(row["config"]), secret)


def tables(workspace: Workspace, name: str) -> list[TableRef]:
    return connector(workspace, name).list_tables()


def describe(workspace: Workspace, name: str, table: str) -> list[tuple[str, str]]:
    return connector(workspace, name).describe(table)


def snapshot(
    workspace: Workspace,
    name: str,
    dataset: str,
    table: str | None = None,
    query: str | None = None,
    user: str = "",
) -> tuple[DatasetVersion, bool]:
    """Copy a source table, or one SELECT over the source, into the next dataset version."""
    check_name(dataset)
    if (table is None) == (query is None):
        raise Invalid("Give either a table or a query to snapshot, not both.")
    live = connector(workspace, name)
    reader = live.read(TableRef.parse(table, live.default_schema) if table else str(query))
    detail = {"source": name, "kind": live.kind, "table": table, "query": query}
    return publish_stream(workspace, dataset, reader, "connector", detail, user)


def publish_stream(
    workspace: Workspace,
    dataset: str,
    reader: pa.RecordBatchReader,
    source: str,
    detail: Mapping[str, Any],
    user: str,
    parents: list[str] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Write Arrow batches to Parquet as they come, then publish with a content fingerprint."""
    with tempfile.TemporaryDirectory(prefix="seedbed-snapshot-") as folder:
        path = Path(folder) / "data.parquet"
        with pq.ParquetWriter(path, reader.schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch)
        return publish_parquet(
            workspace,
            dataset,
            path,
            content_fingerprint(path),
            source,
            dict(detail),
            author=user,
            parents=parents,
        )


def content_fingerprint(path: Path) -> str:
    """A hash of a Parquet file's schema and rows that ignores row order and batching.

    Sources scanned in parallel return the same rows in varying order and chunks, so
    hashing the bytes would see a change where there is none.
    """
    with duckdb.connect() as connection:
        described = connection.execute(
            "describe select * from read_parquet(?)", [str(path)]
        ).fetchall()
        row = connection.execute(
            "select count(*), coalesce(sum(hash(t)::hugeint), 0) from read_parquet(?) t",
            [str(path)],
        ).fetchone()
    schema = json.dumps([[name, kind] for name, kind, *_ in described])
    return hashlib.sha256(f"{schema}|{row}".encode()).hexdigest()


def _table_reader(live: Connector, table: TableRef) -> Callable[[], pa.RecordBatchReader]:
    return lambda: live.read(table)


class SourceAttachments:
    """Makes registered sources queryable in a query's own sandbox.

    The warehouse is locked (no ATTACH), so a query that names a source runs in a sandbox:
    PostgreSQL and SQLite sources are attached to it before it is locked; a folder source
    is not attached (its views read files, which the locked sandbox refuses) but streamed
    in table by table from the connector's own private database.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def names(self) -> set[str]:
        return {source.name for source in list_sources(self.workspace)}

    def attach_private(self, sandbox: Sandbox, names: set[str]) -> None:
        """Make the registered sources among `names` queryable in an unlocked sandbox."""
        if sandbox.locked:
            raise RuntimeError("Sources are attached before the sandbox is locked.")
        for name in sorted(names & self.names()):
            live = connector(self.workspace, name)
            if isinstance(live, FilesConnector):
                sandbox.connection.execute(f"attach ':memory:' as {quote_identifier(name)}")
                for table in live.list_tables():
                    sandbox.feed(table.name, _table_reader(live, table), catalog=name)
            else:
                live.attach(sandbox.connection, name)


def snapshot_query(
    workspace: Workspace,
    runner: QueryRunner,
    sql: str,
    dataset: str,
    user: User,
) -> tuple[DatasetVersion, bool]:
    """Run a warehouse query (sources and datasets included) and publish its result as a
    dataset version; the datasets it read become the version's parents."""
    check_name(dataset)
    parents = runner.dataset_parents(sql)
    table = runner.run(
        sql, user.username, can(user, "admin"), workspace.settings.sql_timeout_s, reader=user
    )
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    return publish_stream(
        workspace, dataset, reader, "query", {"query": sql}, user.username, parents
    )
