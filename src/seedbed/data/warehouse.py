"""The embedded DuckDB warehouse: tables, schemas, previews and Arrow query results."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from seedbed.errors import Invalid, NotFound


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class TableInfo:
    name: str
    rows: int
    columns: list[Column]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Warehouse:
    """One DuckDB database file, opened once by the server; each call uses its own cursor."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.path = path
        # Locked from the start: SQL on the warehouse can read and write its own tables and
        # nothing else (no files, URLs, ATTACH or extensions), whoever sends it, and cannot
        # SET its way out. Registered sources are queried in a sandbox of their own
        # (seedbed.data.sandbox); uploads and datasets use DuckDB instances of their own.
        config: dict[str, str | bool | int | float | list[str]] = {
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "lock_configuration": True,
        }
        if threads:
            config["threads"] = threads
        try:
            self._connection = duckdb.connect(str(path), config=config)
        except duckdb.IOException as exc:
            raise Invalid(
                f"Cannot open the warehouse {path}: {exc}. Is another seedbed process using it?"
            ) from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        self._connection.close()

    @property
    def catalog(self) -> str:
        """The database's own catalog name (the file name without its extension)."""
        row = self.cursor().execute("select current_database()").fetchone()
        return str(row[0]) if row else "main"

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:  # cursor() on a shared connection is not thread-safe in itself
            return self._connection.cursor()

    def table_names(self) -> list[str]:
        rows = (
            self.cursor()
            .execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'main' and table_catalog = current_database() "
                "order by table_name"
            )
            .fetchall()
        )
        return [row[0] for row in rows]

    def has_table(self, name: str) -> bool:
        return name in self.table_names()

    def describe(self, name: str) -> TableInfo:
        """Schema and row count of one table; NotFound names the tables that exist."""
        if not self.has_table(name):
            known = ", ".join(self.table_names()) or "none yet"
            raise NotFound(f"No warehouse table {name!r}. Tables: {known}.")
        cursor = self.cursor()
        columns = [
            Column(name=row[0], type=row[1], nullable=row[2] == "YES")
            for row in cursor.execute(
                "select column_name, data_type, is_nullable from information_schema.columns "
                "where table_schema = 'main' and table_name = ? "
                "and table_catalog = current_database() order by ordinal_position",
                [name],
            ).fetchall()
        ]
        count = cursor.execute(f"select count(*) from {quote_identifier(name)}").fetchone()
        return TableInfo(name=name, rows=int(count[0]) if count else 0, columns=columns)

    def tables(self) -> list[TableInfo]:
        return [self.describe(name) for name in self.table_names()]

    def head(self, name: str, limit: int = 50) -> pa.Table:
        """The first `limit` rows of a table, as Arrow."""
        self.describe(name)
        if limit < 0:
            raise Invalid("limit must be zero or more.")
        return (
            self.cursor()
            .sql(f"select * from {quote_identifier(name)} limit {int(limit)}")
            .to_arrow_table()
        )

    def query(self, sql: str) -> pa.Table:
        """Run one SQL statement and return its result as Arrow."""
        if not sql.strip():
            raise Invalid("The query is empty: give one SQL statement.")
        try:
            relation = self.cursor().sql(sql)
            return pa.table({}) if relation is None else relation.to_arrow_table()
        except duckdb.Error as exc:
            raise Invalid(f"The warehouse rejected the query: {exc}") from exc

    def load_dataframe(self, name: str, frame: pd.DataFrame) -> None:
        """Create or replace table `name` with the rows of `frame`, atomically."""
        cursor = self.cursor()
        cursor.register("incoming_frame", frame)
        try:
            cursor.execute("begin")
            cursor.execute(
                f"create or replace table {quote_identifier(name)} as select * from incoming_frame"
            )
            cursor.execute("commit")
        except duckdb.Error:
            cursor.execute("rollback")
            raise
        finally:
            cursor.unregister("incoming_frame")
