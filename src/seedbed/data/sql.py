"""SQL on the warehouse: read-only checking for non-admins, statement timeouts and cancel."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from seedbed.data.warehouse import Warehouse
from seedbed.errors import Forbidden, Invalid, NotFound

# Makes the named external sources queryable for the duration of one query.
Attach = Callable[[set[str]], AbstractContextManager[None]]

# Table functions a read-only user may call: none of them reads files or the network.
SAFE_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "duckdb_tables",
        "duckdb_columns",
        "duckdb_views",
        "duckdb_schemas",
    }
)
PATH_LIKE = re.compile(
    r"[/\\]|://|\.(csv|tsv|parquet|json|jsonl|ndjson|txt|gz|zst|xlsx|db)$", re.IGNORECASE
)


def _relations(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("TABLE_FUNCTION", "BASE_TABLE"):
            yield node
        for value in node.values():
            yield from _relations(value)
    elif isinstance(node, list):
        for value in node:
            yield from _relations(value)


def _tree(sql: str) -> dict[str, Any]:
    with duckdb.connect() as scratch:
        row = scratch.execute("select json_serialize_sql(?)", [sql]).fetchone()
    tree: dict[str, Any] = json.loads(row[0]) if row else {}
    return tree


def referenced_names(sql: str) -> set[str]:
    """Catalog and schema names a query's tables are qualified with (sources are catalogs)."""
    names: set[str] = set()
    for relation in _relations(_tree(sql)):
        if relation["type"] == "BASE_TABLE":
            names.update(
                n for n in (relation.get("catalog_name"), relation.get("schema_name")) if n
            )
    return names


def check_read_only(sql: str) -> None:
    """Refuse anything but SELECTs over tables, and any reading of files or URLs."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise Invalid(f"The query does not parse: {exc}") from exc
    if not statements:
        raise Invalid("The query is empty: give one SQL statement.")
    for statement in statements:
        if statement.type != duckdb.StatementType.SELECT:
            raise Forbidden(
                f"Only admins may run {statement.type.name} statements; "
                "your role may run SELECT queries."
            )
    tree = _tree(sql)
    if tree.get("error"):
        raise Invalid(f"The query does not parse: {tree.get('error_message', '')}")
    for relation in _relations(tree):
        if relation["type"] == "TABLE_FUNCTION":
            name = (relation.get("function") or {}).get("function_name", "")
            if name.lower() not in SAFE_TABLE_FUNCTIONS:
                raise Forbidden(
                    f"Only admins may call the table function {name}(); "
                    "query warehouse tables or registered sources instead."
                )
        elif PATH_LIKE.search(relation.get("table_name", "")):
            raise Forbidden(
                "Only admins may read files or URLs directly "
                f"({relation['table_name']!r}); upload the file as a dataset."
            )


@dataclass
class RunningQuery:
    id: str
    owner: str
    cursor: duckdb.DuckDBPyConnection
    cancelled: bool = False
    timed_out: bool = False


class QueryRunner:
    """Runs statements on the warehouse, each on its own cursor so it can be interrupted."""

    def __init__(self, warehouse: Warehouse, attach: Attach | None = None) -> None:
        self.warehouse = warehouse
        self.attach = attach
        self._running: dict[str, RunningQuery] = {}
        self._lock = threading.Lock()

    def run(
        self,
        sql: str,
        owner: str,
        admin: bool,
        timeout_s: float,
        query_id: str | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """Run `sql` as `owner`; non-admins may only read. Stops after `timeout_s` seconds.

        With `limit`, a query's result is cut inside DuckDB, so a large table is not read whole.
        """
        schema, batches = self.stream(sql, owner, admin, timeout_s, query_id, limit)
        return pa.Table.from_batches(list(batches), schema=schema)

    def stream(
        self,
        sql: str,
        owner: str,
        admin: bool,
        timeout_s: float,
        query_id: str | None = None,
        limit: int | None = None,
        batch_rows: int = 256 * 1024,
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """Start a query and hand back its schema and its batches as DuckDB makes them.

        Mistakes in the query raise here, before any row is sent; the query stays
        cancellable and under its timeout until the last batch is read.
        """
        if not sql.strip():
            raise Invalid("The query is empty: give one SQL statement.")
        if not admin:
            check_read_only(sql)
        query = RunningQuery(query_id or uuid.uuid4().hex, owner, self.warehouse.cursor())
        with self._lock:
            if query.id in self._running:
                raise Invalid(f"A query with id {query.id!r} is already running.")
            self._running[query.id] = query
        cleanup = ExitStack()
        timer = threading.Timer(timeout_s, self._time_out, args=(query,))
        timer.start()
        cleanup.callback(self._finish, query, timer)
        try:
            names = referenced_names(sql) if self.attach is not None else set()
            if self.attach is not None:
                cleanup.enter_context(self.attach(names))
            relation = query.cursor.sql(sql)
            if relation is None:
                cleanup.close()
                return pa.schema([]), iter(())
            if limit is not None:
                relation = relation.limit(limit)
            reader = relation.to_arrow_reader(batch_rows)
        except BaseException as exc:
            cleanup.close()
            explained = self._explain(exc, query, timeout_s)
            if explained is exc:
                raise
            raise explained from exc
        return reader.schema, self._batches(reader, query, timeout_s, cleanup)

    def _batches(
        self,
        reader: pa.RecordBatchReader,
        query: RunningQuery,
        timeout_s: float,
        cleanup: ExitStack,
    ) -> Iterator[pa.RecordBatch]:
        with cleanup:
            try:
                yield from reader
            except duckdb.Error as exc:
                raise self._explain(exc, query, timeout_s) from exc

    def _explain(self, exc: BaseException, query: RunningQuery, timeout_s: float) -> BaseException:
        if isinstance(exc, duckdb.InterruptException):
            if query.timed_out:
                return Invalid(
                    f"The query ran longer than the {timeout_s:g} s statement "
                    "timeout and was stopped; narrow it or raise the timeout."
                )
            return Invalid("The query was cancelled.")
        if isinstance(exc, duckdb.Error):
            return Invalid(f"The warehouse rejected the query: {exc}")
        return exc

    def _finish(self, query: RunningQuery, timer: threading.Timer) -> None:
        timer.cancel()
        with self._lock:
            self._running.pop(query.id, None)
        query.cursor.close()

    def _time_out(self, query: RunningQuery) -> None:
        query.timed_out = True
        query.cursor.interrupt()

    def cancel(self, query_id: str, owner: str, admin: bool) -> None:
        """Interrupt a running query; only its owner or an admin may."""
        with self._lock:
            query = self._running.get(query_id)
        if query is None or (query.owner != owner and not admin):
            raise NotFound(f"No running query {query_id!r} of yours; it may have finished.")
        query.cancelled = True
        query.cursor.interrupt()
