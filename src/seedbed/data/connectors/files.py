"""A folder (local path or fsspec URL) of Parquet and CSV files, read with DuckDB's own readers.

Each file is a table named after it (`people.csv` → `people`); each sub-folder of Parquet
(or CSV) parts is one table, with `key=value` folder names read as hive partition columns.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import duckdb
import fsspec
from fsspec.implementations.local import LocalFileSystem

from seedbed.data.connectors.base import (
    Connector,
    TableRef,
    quote_identifier,
    quote_literal,
)
from seedbed.errors import Invalid

Format = Literal["parquet", "csv"]
SUFFIXES: tuple[tuple[str, Format], ...] = (
    (".parquet", "parquet"),
    (".pq", "parquet"),
    (".csv.gz", "csv"),
    (".tsv.gz", "csv"),
    (".csv", "csv"),
    (".tsv", "csv"),
)
# A folder is one table when it holds parts of one of these (Spark's `x.parquet/` included).
PART_SUFFIXES: tuple[tuple[str, Format], ...] = ((".parquet", "parquet"), (".csv", "csv"))


@dataclass(frozen=True)
class FileTable:
    """One table of the folder: where its data lies and how DuckDB reads it."""

    name: str
    format: Format
    location: str
    partitioned: bool

    def reader_sql(self) -> str:
        """The DuckDB table function call that reads this table."""
        if self.partitioned:
            pattern = f"{self.location.rstrip('/')}/**/*.{self.format}"
            options = ", hive_partitioning = true, union_by_name = true"
        else:
            pattern, options = self.location, ""
        function = "read_parquet" if self.format == "parquet" else "read_csv_auto"
        return f"{function}({quote_literal(pattern)}{options})"


class FilesConnector(Connector):
    """Parquet and CSV files under one folder, each file or folder of parts a table."""

    kind: ClassVar[str] = "files"
    default_schema: ClassVar[str] = "main"

    def __init__(self, location: str) -> None:
        if "://" not in location and not location.startswith("/"):
            raise Invalid(
                f"Give the folder as an absolute path or a URL such as s3://bucket/folder, "
                f"not {location!r}."
            )
        try:
            fs, root = fsspec.core.url_to_fs(location)
        except ImportError as exc:
            raise Invalid(f"Cannot open {location}: {exc}.") from None
        except ValueError as exc:
            raise Invalid(f"Cannot open {location}: {exc}.") from None
        self.location = location
        self._fs: Any = fs
        self._root: str = root.rstrip("/") or "/"

    def __repr__(self) -> str:
        return f"FilesConnector(location={self.location!r})"

    @property
    def _is_local(self) -> bool:
        return isinstance(self._fs, LocalFileSystem)

    def tables(self) -> list[FileTable]:
        """The folder's tables, found by listing it (nothing is read)."""
        try:
            if not self._fs.exists(self._root):
                raise Invalid(f"No folder at {self.location}.")
            if not self._fs.isdir(self._root):
                raise Invalid(f"{self.location} is a file: give the folder that holds it.")
            entries = self._fs.ls(self._root, detail=True)
        except OSError as exc:
            raise Invalid(f"Cannot list {self.location}: {exc}.") from None
        found: list[FileTable] = []
        for entry in sorted(entries, key=lambda item: str(item["name"])):
            table = self._table_for(str(entry["name"]), entry["type"] == "directory")
            if table is not None:
                found.append(table)
        return _unique_names(found)

    def list_tables(self) -> list[TableRef]:
        return [TableRef(self.default_schema, table.name) for table in self.tables()]

    def test(self) -> None:
        tables = self.tables()
        if not tables:
            raise Invalid(
                f"The folder {self.location} holds no Parquet or CSV files "
                "(looked for *.parquet, *.csv, *.tsv and folders of them)."
            )
        with self._scratch():  # creating each view makes DuckDB read each table's schema
            pass

    def _attach(self, connection: duckdb.DuckDBPyConnection, alias: str) -> None:
        tables = self.tables()
        if not self._is_local:
            name = self._fs.protocol if isinstance(self._fs.protocol, str) else self._fs.protocol[0]
            if not connection.filesystem_is_registered(name):
                connection.register_filesystem(self._fs)
        connection.execute(f"attach ':memory:' as {quote_identifier(alias)}")
        for table in tables:
            target = TableRef(self.default_schema, table.name).sql(alias)
            connection.execute(f"create view {target} as select * from {table.reader_sql()}")

    def _explain(self, exc: duckdb.Error) -> Invalid:
        return Invalid(f"Cannot read the files under {self.location}: {str(exc).strip()}")

    def _table_for(self, path: str, is_folder: bool) -> FileTable | None:
        base = path.rstrip("/").rsplit("/", 1)[-1]
        if base.startswith((".", "_")):  # _SUCCESS, _delta_log, .DS_Store
            return None
        if not is_folder:
            for suffix, fmt in SUFFIXES:
                if base.lower().endswith(suffix) and len(base) > len(suffix):
                    return FileTable(base[: -len(suffix)], fmt, self._url(path), False)
            return None
        parts = [name.lower() for name in self._fs.find(path)]
        for suffix, fmt in PART_SUFFIXES:
            if any(name.endswith(suffix) for name in parts):
                name = base[: -len(".parquet")] if base.endswith(".parquet") else base
                return FileTable(name, fmt, self._url(path), True)
        return None

    def _url(self, path: str) -> str:
        return path if self._is_local else str(self._fs.unstrip_protocol(path))


def _unique_names(tables: list[FileTable]) -> list[FileTable]:
    """`people.csv` and `people.parquet` side by side become `people_csv` and `people_parquet`."""
    counts = Counter(table.name for table in tables)
    return [
        replace(table, name=re.sub(r"\W", "_", table.location.rstrip("/").rsplit("/", 1)[-1]))
        if counts[table.name] > 1
        else table
        for table in tables
    ]
