"""A locked-down DuckDB database for the SQL of non-admins: no files, no network, no SET.

DuckDB's access settings (`enable_external_access`, `allowed_directories`,
`lock_configuration`, …) belong to a whole database instance, and one process may open a
database file in one instance only. The warehouse's own instance must stay unrestricted:
the server attaches sources there and admins keep full power. So a non-admin's query
runs in a private in-memory instance of its own, opened for that one query:

1. registered sources the query names are attached (PostgreSQL, SQLite) while the
   instance is still unrestricted, since attaching loads the scanner extension from
   the wheel's file;
2. external access is switched off and the configuration locked, so no statement of the
   query can read or write a file, fetch a URL, attach a database, install or load an
   extension, or `SET` any of this back;
3. the warehouse tables it names (and the tables of folder sources) arrive as Arrow
   streams that the server opens on the warehouse (or the folder) itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any

import duckdb
import pyarrow as pa

from seedbed.data.warehouse import Warehouse, quote_identifier

Reader = Callable[[], pa.RecordBatchReader]
SANDBOX_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
}
FEED_BATCH_ROWS = 128 * 1024


class ArrowFeed:
    """A table DuckDB can scan any number of times: each scan opens a fresh Arrow stream.

    DuckDB asks for a stream once per reference (and once more to bind), so a self-join
    reads the table twice instead of finding a spent reader the second time.
    """

    def __init__(self, open_reader: Reader) -> None:
        self._open_reader = open_reader
        self._schema: pa.Schema | None = None

    def _reader(self) -> pa.RecordBatchReader:
        reader = self._open_reader()
        self._schema = reader.schema
        return reader

    def __arrow_c_schema__(self) -> Any:
        if self._schema is None:
            self._reader().close()
        assert self._schema is not None
        return self._schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._reader().__arrow_c_stream__(requested_schema)


class Sandbox:
    """One private, locked DuckDB connection and the warehouse cursors that feed it."""

    def __init__(self, within: Sandbox | None = None) -> None:
        """A new private database; or, `within` a locked one, a cursor of it of our own.

        Opening a database costs ~10 ms, so queries that need no source share one locked
        database, each on its own cursor: what a cursor registers only that cursor sees.
        """
        if within is not None and not within.locked:
            raise RuntimeError("Only a locked sandbox is shared.")
        self.connection: duckdb.DuckDBPyConnection = (
            duckdb.connect(":memory:", config=dict(SANDBOX_CONFIG))
            if within is None
            else within.connection.cursor()
        )
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self.locked: bool = within is not None

    def lock(self) -> None:
        """From here on the connection reaches nothing outside itself, and cannot be unlocked."""
        self.connection.execute("set enable_external_access = false")
        self.connection.execute("set lock_configuration = true")
        self.locked = True

    def feed(self, name: str, open_reader: Reader, catalog: str | None = None) -> None:
        """Make `name` (in `catalog`, a plain in-memory one) scan what `open_reader` returns."""
        if catalog is None:
            self.connection.register(name, ArrowFeed(open_reader))
            return
        hidden = f"__seedbed_{catalog}_{name}"
        self.connection.register(hidden, ArrowFeed(open_reader))
        self.connection.execute(
            f"create or replace view {quote_identifier(catalog)}.main.{quote_identifier(name)} "
            f"as select * from {quote_identifier(hidden)}"
        )

    def feed_warehouse(self, warehouse: Warehouse, tables: Iterable[str]) -> None:
        """Expose warehouse tables (and views) by name, streamed from the warehouse."""
        for table in tables:
            self.feed(table, self.warehouse_reader(warehouse, table))

    def warehouse_reader(self, warehouse: Warehouse, table: str) -> Reader:
        def open_reader() -> pa.RecordBatchReader:
            cursor = warehouse.cursor()
            self._cursors.append(cursor)
            relation = cursor.sql(f"select * from {quote_identifier(table)}")
            return relation.to_arrow_reader(FEED_BATCH_ROWS)

        return open_reader

    def interrupt(self) -> None:
        self.connection.interrupt()
        for cursor in list(self._cursors):
            with suppress(duckdb.Error):
                cursor.interrupt()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        for cursor in self._cursors:
            with suppress(duckdb.Error):
                cursor.close()
        self._cursors.clear()
        self.connection.close()
