"""SQL on the warehouse, where DuckDB itself refuses files, URLs, ATTACH, INSTALL/LOAD and SET.

The warehouse instance is opened locked (seedbed.data.warehouse), so a query on its tables
runs there at full speed for everyone; a query that names a registered source runs in a
locked sandbox with that source attached (seedbed.data.sandbox). Non-admin SQL is first
checked here (read-only, no file-reading table functions) for a friendly message; the
check is a courtesy, DuckDB's locked settings the guard.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import pyarrow as pa

from seedbed.data import dataset_sql
from seedbed.data.sandbox import Sandbox
from seedbed.data.warehouse import Warehouse, quote_identifier
from seedbed.errors import Forbidden, Invalid, NotFound

if TYPE_CHECKING:
    from seedbed.auth.users import User


class SourceAccess(Protocol):
    """Makes registered sources queryable by the catalog names a query uses."""

    def attach_private(self, sandbox: Sandbox, names: set[str]) -> None:
        """Attach the named sources to a sandbox that is not locked yet."""

    def names(self) -> set[str]:
        """The names of the registered sources."""


class DatasetAccess(Protocol):
    """Makes datasets queryable as `datasets.NAME`, with what one reader may see of them."""

    def attach(self, sandbox: Sandbox, references: set[str], reader: User | None) -> None:
        """Attach the named dataset versions to a sandbox that is not locked yet."""

    def parents(self, references: set[str]) -> list[str]:
        """The versions the references stand for, as NAME@VERSION."""


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


def _tree(sql: str, parser: duckdb.DuckDBPyConnection | None = None) -> dict[str, Any]:
    if parser is None:
        with duckdb.connect() as scratch:
            return _tree(sql, scratch)
    row = parser.execute("select json_serialize_sql(?)", [sql]).fetchone()
    tree: dict[str, Any] = json.loads(row[0]) if row else {}
    return tree


def referenced_tables(
    sql: str, parser: duckdb.DuckDBPyConnection | None = None
) -> list[tuple[str, str, str]]:
    """(catalog, schema, table) of every table a query names, "" where it is left out."""
    try:
        statements = [statement.query for statement in duckdb.extract_statements(sql)]
    except duckdb.Error:
        return []  # running it will say what is wrong
    return [
        (r.get("catalog_name") or "", r.get("schema_name") or "", r.get("table_name") or "")
        for statement in statements
        for r in _relations(_tree(statement, parser))
        if r["type"] == "BASE_TABLE"
    ]


def _refusal(exc: duckdb.Error) -> Forbidden | None:
    """The sandbox's refusals, said as what the user may not do (None: another error)."""
    text = str(exc)
    if isinstance(exc, duckdb.PermissionException):
        if "xtension" in text:
            return Forbidden(
                "Installing or loading DuckDB extensions is not allowed in seedbed's SQL; "
                "the warehouse already has what seedbed supports."
            )
        if "Attaching" in text:
            return Forbidden(
                "Attaching databases is not allowed in seedbed's SQL; ask an admin to "
                "register the database as a source."
            )
        path = re.search(r'"([^"]*)"', text)
        target = f" ({path.group(1)})" if path else ""
        return Forbidden(
            f"Reading or writing files and URLs outside the workspace is not allowed in "
            f"seedbed's SQL{target}: upload the file as a dataset, or ask an admin to register "
            "its folder as a source."
        )
    if "configuration has been locked" in text:
        return Forbidden(
            "Changing DuckDB settings is not allowed in seedbed's SQL: "
            f"{text.split(': ', 1)[-1].strip()}"
        )
    return None


def check_read_only(sql: str, parser: duckdb.DuckDBPyConnection | None = None) -> None:
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
    tree = _tree(sql, parser)
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
                "Reading files or URLs directly is not allowed in seedbed's SQL "
                f"({relation['table_name']!r}); upload the file as a dataset."
            )


@dataclass
class RunningQuery:
    id: str
    owner: str
    cursor: duckdb.DuckDBPyConnection
    sandbox: Sandbox | None = None
    cancelled: bool = False
    timed_out: bool = False

    def interrupt(self) -> None:
        if self.sandbox is not None:
            self.sandbox.interrupt()
        else:
            self.cursor.interrupt()


class QueryRunner:
    """Runs statements, each on its own warehouse cursor (or a sandbox when it names a
    registered source), so it can be interrupted."""

    def __init__(
        self,
        warehouse: Warehouse,
        sources: SourceAccess | None = None,
        datasets: DatasetAccess | None = None,
    ) -> None:
        self.warehouse = warehouse
        self.sources = sources
        self.datasets = datasets
        self._running: dict[str, RunningQuery] = {}
        self._lock = threading.Lock()
        self._shared: Sandbox | None = None

    def _shared_sandbox(self) -> Sandbox:
        with self._lock:
            if self._shared is None:
                shared = Sandbox()
                shared.lock()
                self._shared = shared
            return self._shared

    def run(
        self,
        sql: str,
        owner: str,
        admin: bool,
        timeout_s: float,
        query_id: str | None = None,
        limit: int | None = None,
        reader: User | None = None,
    ) -> pa.Table:
        """Run `sql` as `owner`; non-admins may only read. Stops after `timeout_s` seconds.

        With `limit`, a query's result is cut inside DuckDB, so a large table is not read whole.
        `reader` decides what the query sees of the datasets it names (`datasets.NAME`).
        """
        schema, batches = self.stream(sql, owner, admin, timeout_s, query_id, limit, reader=reader)
        return pa.Table.from_batches(list(batches), schema=schema)

    def _refs(self, sql: str) -> list[tuple[str, str, str]]:
        with Sandbox(within=self._shared_sandbox()) as parser:
            return referenced_tables(sql, parser.connection)

    def _source_names(self, refs: list[tuple[str, str, str]]) -> set[str]:
        names = {name for ref in refs for name in ref[:2] if name}
        return names & self.sources.names() if self.sources is not None and names else set()

    def sandbox(self, sql: str, reader: User | None = None) -> Sandbox:
        """A private locked sandbox holding what `sql` names: tables, sources, datasets."""
        refs = self._refs(sql)
        return self._sandbox(refs, self._source_names(refs), self._dataset_names(refs), reader)

    def _dataset_names(self, refs: list[tuple[str, str, str]]) -> set[str]:
        return dataset_sql.named_in(refs) if self.datasets is not None else set()

    def dataset_parents(self, sql: str) -> list[str]:
        """The dataset versions `sql` reads, as NAME@VERSION: a snapshot's lineage."""
        names = self._dataset_names(self._refs(sql))
        return self.datasets.parents(names) if self.datasets is not None and names else []

    def _sandbox(
        self,
        refs: list[tuple[str, str, str]],
        sources: set[str],
        wanted: set[str] | None = None,
        reader: User | None = None,
    ) -> Sandbox:
        known = set(self.warehouse.table_names())
        home = self.warehouse.catalog
        plain = {t for c, s, t in refs if t in known and not c and s in ("", "main")}
        qualified = {t for c, s, t in refs if t in known and c == home and s in ("", "main")}
        # Sources attach before the lock, so the query gets a database of its own.
        sandbox = Sandbox()
        try:
            if self.sources is not None and sources:
                self.sources.attach_private(sandbox, sources)
            if self.datasets is not None and wanted:
                self.datasets.attach(sandbox, wanted, reader)
            if qualified:
                sandbox.connection.execute(f"attach ':memory:' as {quote_identifier(home)}")
            sandbox.lock()
            sandbox.feed_warehouse(self.warehouse, plain)
            for table in qualified:
                sandbox.feed(table, sandbox.warehouse_reader(self.warehouse, table), home)
        except BaseException:
            sandbox.close()
            raise
        return sandbox

    def stream(
        self,
        sql: str,
        owner: str,
        admin: bool,
        timeout_s: float,
        query_id: str | None = None,
        limit: int | None = None,
        batch_rows: int = 256 * 1024,
        reader: User | None = None,
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """Start a query and hand back its schema and its batches as DuckDB makes them.

        Mistakes in the query raise here, before any row is sent; the query stays
        cancellable and under its timeout until the last batch is read.
        """
        if not sql.strip():
            raise Invalid("The query is empty: give one SQL statement.")
        if not admin:
            with Sandbox(within=self._shared_sandbox()) as parser:
                check_read_only(sql, parser.connection)
        # The warehouse itself is locked (no files, URLs, ATTACH or extensions), so a query
        # on its tables runs there at full speed; one that names a registered source runs
        # in a sandbox with the source attached and the tables it names streamed in.
        refs = self._refs(sql)
        sources = self._source_names(refs)
        wanted = self._dataset_names(refs)
        sandbox = self._sandbox(refs, sources, wanted, reader) if sources or wanted else None
        cursor = self.warehouse.cursor() if sandbox is None else sandbox.connection
        query = RunningQuery(query_id or uuid.uuid4().hex, owner, cursor, sandbox)
        with self._lock:
            if query.id in self._running:
                if sandbox is not None:
                    sandbox.close()
                raise Invalid(f"A query with id {query.id!r} is already running.")
            self._running[query.id] = query
        cleanup = ExitStack()
        timer = threading.Timer(timeout_s, self._time_out, args=(query,))
        timer.start()
        cleanup.callback(self._finish, query, timer)
        try:
            relation = query.cursor.sql(sql)
            if relation is None:
                cleanup.close()
                return pa.schema([]), iter(())
            if limit is not None:
                relation = relation.limit(limit)
            arrow = relation.to_arrow_reader(batch_rows)
        except BaseException as exc:
            cleanup.close()
            explained = self._explain(exc, query, timeout_s)
            if explained is exc:
                raise
            raise explained from exc
        return arrow.schema, self._batches(arrow, query, timeout_s, cleanup)

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
            return _refusal(exc) or Invalid(f"The warehouse rejected the query: {exc}")
        return exc

    def _finish(self, query: RunningQuery, timer: threading.Timer) -> None:
        timer.cancel()
        with self._lock:
            self._running.pop(query.id, None)
        if query.sandbox is not None:
            query.sandbox.close()
        else:
            query.cursor.close()

    def _time_out(self, query: RunningQuery) -> None:
        query.timed_out = True
        query.interrupt()

    def cancel(self, query_id: str, owner: str, admin: bool) -> None:
        """Interrupt a running query; only its owner or an admin may."""
        with self._lock:
            query = self._running.get(query_id)
        if query is None or (query.owner != owner and not admin):
            raise NotFound(f"No running query {query_id!r} of yours; it may have finished.")
        query.cancelled = True
        query.interrupt()
