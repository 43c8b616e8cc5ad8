"""What every connector offers: test, browse, attach into DuckDB, and stream a table or query out.

A connector describes an external source; it holds no open connection. Each call that
reads the source opens a private in-memory DuckDB database with the source attached, so
browsing and snapshots never touch the warehouse's own connection. `attach` is the one
call that changes a caller's connection: afterwards the source's tables are queryable
there as `alias.schema.table`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import ClassVar

import duckdb
import pyarrow as pa

from seedbed.errors import Conflict, Invalid, NotFound

DEFAULT_BATCH_ROWS = 65_536
ALIAS_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")
RESERVED_ALIASES = frozenset({"memory", "system", "temp", "main", "source", "datasets"})
SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog"})
SCRATCH_ALIAS = "source"
# Scratch databases only read the source: nothing may be fetched from the internet.
SCRATCH_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}

Column = tuple[str, str]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True, order=True)
class TableRef:
    """A table (or view) of a source, by schema and name."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"

    @classmethod
    def parse(cls, text: str, default_schema: str) -> TableRef:
        """`schema.table`, or a bare `table` in `default_schema`."""
        schema, dot, name = text.partition(".")
        if not dot:
            schema, name = default_schema, text
        if not schema or not name:
            raise Invalid(f"{text!r} is not a table name: write `table` or `schema.table`.")
        return cls(schema, name)

    def sql(self, catalog: str) -> str:
        """The quoted, fully qualified name inside DuckDB catalog `catalog`."""
        return ".".join(quote_identifier(part) for part in (catalog, self.schema, self.name))


def check_alias(alias: str) -> None:
    if not ALIAS_PATTERN.match(alias) or alias.lower() in RESERVED_ALIASES:
        raise Invalid(
            f"{alias!r} cannot name an attached source: use letters, digits and underscores, "
            f"start with a letter, and avoid {', '.join(sorted(RESERVED_ALIASES))}."
        )


def tables_in(connection: duckdb.DuckDBPyConnection, catalog: str) -> list[TableRef]:
    """User tables and views of one attached catalog, sorted."""
    rows = connection.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = $catalog "
        "union select schema_name, view_name from duckdb_views() "
        "where database_name = $catalog and not internal",
        {"catalog": catalog},
    ).fetchall()
    return sorted(TableRef(row[0], row[1]) for row in rows if row[0] not in SYSTEM_SCHEMAS)


def is_attached(connection: duckdb.DuckDBPyConnection, alias: str) -> bool:
    row = connection.execute(
        "select count(*) from duckdb_databases() where database_name = ?", [alias]
    ).fetchone()
    return bool(row and row[0])


class Connector(ABC):
    """An external source seedbed can browse, query through DuckDB and snapshot."""

    kind: ClassVar[str]
    #: Where a bare table name (`people`) and unqualified names in queries resolve.
    default_schema: ClassVar[str] = "main"

    # -- what each source defines ---------------------------------------------

    @abstractmethod
    def _attach(self, connection: duckdb.DuckDBPyConnection, alias: str) -> None:
        """Attach the source to `connection` as catalog `alias`, read-only; raise Invalid."""

    def _forget(self, connection: duckdb.DuckDBPyConnection, alias: str) -> None:  # noqa: B027
        """Drop whatever `_attach` left in `connection` besides the catalog itself."""

    def _explain(self, exc: duckdb.Error) -> Invalid:
        """The user-facing error for a DuckDB error raised while reading the source."""
        return Invalid(f"The {self.kind} source failed: {self._scrub(str(exc))}")

    def _secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in a message (passwords)."""
        return ()

    # -- the interface ----------------------------------------------------------

    def test(self) -> None:
        """Connect and read the source's catalog; Invalid says what is wrong (host, password, …)."""
        self.list_tables()

    def list_tables(self) -> list[TableRef]:
        """The source's tables and views, by schema and name (system schemas left out)."""
        with self._scratch() as connection, self._translated():
            return tables_in(connection, SCRATCH_ALIAS)

    def describe(self, table: TableRef | str) -> list[Column]:
        """(column, DuckDB type) pairs of one table, in order; NotFound names the tables."""
        ref = self._ref(table)
        with self._scratch() as connection, self._translated():
            rows = connection.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_catalog = ? and table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [SCRATCH_ALIAS, ref.schema, ref.name],
            ).fetchall()
            if not rows:
                raise self._not_found(ref, tables_in(connection, SCRATCH_ALIAS))
        return [(row[0], row[1]) for row in rows]

    def attach(self, connection: duckdb.DuckDBPyConnection, alias: str) -> None:
        """Make the source's tables queryable in `connection` as `alias.schema.table`."""
        check_alias(alias)
        if is_attached(connection, alias):
            raise Conflict(
                f"A database named {alias!r} is already attached: detach it or pick another name."
            )
        try:
            with self._translated():
                self._attach(connection, alias)
                # Some sources attach lazily; reading the catalog now surfaces a bad source
                # here instead of breaking every later catalog query on this connection.
                tables_in(connection, alias)
        except BaseException:
            with suppress(duckdb.Error):
                self.detach(connection, alias)
            raise

    def detach(self, connection: duckdb.DuckDBPyConnection, alias: str) -> None:
        """Undo `attach`; detaching a name that is not attached does nothing."""
        check_alias(alias)
        connection.execute(f"detach database if exists {quote_identifier(alias)}")
        self._forget(connection, alias)

    def read(
        self, source: TableRef | str, batch_size: int = DEFAULT_BATCH_ROWS
    ) -> pa.RecordBatchReader:
        """Stream a table (a TableRef) or one SELECT query (a str, in DuckDB SQL) as Arrow.

        In a query, unqualified table names resolve in the source's default schema.
        """
        if batch_size < 1:
            raise Invalid("batch_size must be at least 1.")
        sql = self._select_table(source) if isinstance(source, TableRef) else _one_select(source)
        connection = self._open_scratch()
        try:
            with self._translated():
                if isinstance(source, TableRef):
                    known = tables_in(connection, SCRATCH_ALIAS)
                    if source not in known:
                        raise self._not_found(source, known)
                reader = connection.sql(sql).to_arrow_reader(batch_size)
        except BaseException:
            connection.close()
            raise
        return pa.RecordBatchReader.from_batches(reader.schema, self._batches(reader, connection))

    # -- helpers ----------------------------------------------------------------

    def _batches(
        self, reader: pa.RecordBatchReader, connection: duckdb.DuckDBPyConnection
    ) -> Iterator[pa.RecordBatch]:
        try:
            with self._translated():
                yield from reader
        finally:
            connection.close()

    def _open_scratch(self) -> duckdb.DuckDBPyConnection:
        """A private in-memory DuckDB with the source attached as the default catalog."""
        connection = duckdb.connect(config=SCRATCH_CONFIG)
        try:
            with self._translated():
                self._attach(connection, SCRATCH_ALIAS)
                connection.execute(f"use {quote_identifier(SCRATCH_ALIAS)}")
        except BaseException:
            connection.close()
            raise
        return connection

    @contextmanager
    def _scratch(self) -> Iterator[duckdb.DuckDBPyConnection]:
        connection = self._open_scratch()
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except duckdb.Error as exc:
            # `from None`: the driver's own message is scrubbed into ours, never chained.
            raise self._explain(exc) from None

    def _ref(self, table: TableRef | str) -> TableRef:
        return table if isinstance(table, TableRef) else TableRef.parse(table, self.default_schema)

    def _select_table(self, table: TableRef) -> str:
        return f"select * from {table.sql(SCRATCH_ALIAS)}"

    def _not_found(self, ref: TableRef, known: list[TableRef]) -> NotFound:
        names = ", ".join(str(table) for table in known) or "none"
        return NotFound(f"The {self.kind} source has no table {ref}. Tables: {names}.")

    def _scrub(self, text: str) -> str:
        for secret in self._secrets():
            if secret:
                text = text.replace(secret, "***")
        return text.strip()


def _one_select(query: str) -> str:
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise Invalid(f"The query does not parse: {exc}") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise Invalid("Give exactly one SELECT statement to read from a source.")
    return query
