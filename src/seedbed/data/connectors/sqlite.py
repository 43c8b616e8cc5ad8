"""A SQLite database file, opened read-only through DuckDB's sqlite scanner."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import duckdb

from seedbed.data.connectors.base import Connector, quote_identifier, quote_literal
from seedbed.data.connectors.extensions import load_extension
from seedbed.errors import Invalid


class SqliteConnector(Connector):
    """The tables and views of one SQLite file; the file is never written."""

    kind: ClassVar[str] = "sqlite"
    default_schema: ClassVar[str] = "main"

    def __init__(self, path: Path | str) -> None:
        path = Path(path).expanduser()
        if not path.is_absolute():
            raise Invalid(
                f"Give the SQLite file as an absolute path (the server's working directory "
                f"is not yours), not {str(path)!r}."
            )
        self.path = path

    def __repr__(self) -> str:
        return f"SqliteConnector(path={str(self.path)!r})"

    def _attach(self, connection: duckdb.DuckDBPyConnection, alias: str) -> None:
        self._check_file()
        load_extension(connection, "sqlite_scanner")
        connection.execute(
            f"attach {quote_literal(str(self.path))} as {quote_identifier(alias)} "
            "(type sqlite, read_only)"
        )

    def _check_file(self) -> None:
        # DuckDB attaches SQLite lazily and would only fail at the first query; check first.
        if not self.path.exists():
            raise Invalid(f"No SQLite file at {self.path}.")
        if not self.path.is_file():
            raise Invalid(f"{self.path} is a folder, not a SQLite file.")
        try:
            uri = f"file:{quote(str(self.path))}?mode=ro"
            with closing(sqlite3.connect(uri, uri=True)) as database:
                database.execute("select count(*) from sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise Invalid(f"{self.path} is not a readable SQLite database: {exc}.") from None

    def _explain(self, exc: duckdb.Error) -> Invalid:
        return Invalid(f"Cannot read the SQLite file {self.path}: {str(exc).strip()}")
