"""The metadata DB: one SQLAlchemy engine per workspace, schema owned by Alembic migrations."""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Engine, MetaData, String, Table, Text, create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# Each domain keeps its tables in its own module; they all hang on `metadata`.
TABLE_MODULES = (
    "seedbed.auth.tables",
    "seedbed.data.tables",
    "seedbed.tracking.tables",
    "seedbed.registry.tables",
    "seedbed.privacy.tables",
    "seedbed.compute.tables",
    "seedbed.features.tables",
    "seedbed.evaluation.tables",
    "seedbed.apps.tables",
)

workspace_meta = Table(
    "workspace_meta",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

MIGRATIONS = Path(__file__).parent / "migrations"


def now_ms() -> int:
    """Wall-clock time in milliseconds since the epoch, the unit MLflow uses too."""
    return int(time.time() * 1000)


_MAX_PARAMETERS = 32_766  # SQLite's limit on bound parameters a statement (PostgreSQL: 65,535)


def insert_many(
    connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert many rows of plain tuples straight through the driver, as multi-row INSERTs.

    SQLAlchemy's own executemany builds and type-processes a parameter dict per row, which
    costs more than the database's work for a batch of thousands of metric points."""
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES "
    one = f"({', '.join([marker] * len(columns))})"
    # Many rows a statement: SQLite binds them a third faster than one statement per row.
    per_statement = max(1, min(1000, _MAX_PARAMETERS // len(columns)))
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        flat = tuple(chain.from_iterable(part))
        connection.exec_driver_sql(head + ", ".join([one] * len(part)), flat)


def upsert(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    keys: tuple[str, ...],
    update: tuple[str, ...] | None = None,
    where: Callable[[Table, Any], Any] | None = None,
) -> int | None:
    """Insert rows; where one with the same `keys` exists, set its `update` columns (only
    when `where(table, excluded)` holds), or keep it when `update` is None. One statement,
    so concurrent writers cannot both insert (SQLite and PostgreSQL).

    Returns how many rows were inserted or updated, or None where the driver cannot count
    the rows of one statement run over many."""
    if not rows:
        return 0
    result = connection.execute(_upsert(connection.dialect.name, table, keys, update, where), rows)
    if len(rows) > 1 and not connection.dialect.supports_sane_multi_rowcount:
        return None
    return int(result.rowcount)


@functools.lru_cache(maxsize=64)
def _upsert(
    dialect: str,
    table: Table,
    keys: tuple[str, ...],
    update: tuple[str, ...] | None,
    where: Callable[[Table, Any], Any] | None,
) -> Any:
    # Built once per shape: making `excluded` and its column proxies costs more than the write.
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table)
    if update is None:
        return statement.on_conflict_do_nothing(index_elements=list(keys))
    values = {column: statement.excluded[column] for column in update}
    condition = where(table, statement.excluded) if where is not None else None
    return statement.on_conflict_do_update(index_elements=list(keys), set_=values, where=condition)


def in_or_equal(column: Any, values: Sequence[Any]) -> Any:
    """`column = v` for one value (a plain cached statement), `column IN (...)` for more."""
    return column == values[0] if len(values) == 1 else column.in_(list(values))


def for_dialect(dialect: str) -> Any:
    """An Alembic `include_object` hook that skips what a table module made for another
    database only (an index with `info={"dialect": ...}`); Alembic ignores `ddl_if`."""

    def include(item: Any, _name: Any, _kind: str, _reflected: bool, _other: Any) -> bool:
        wanted = getattr(item, "info", {}).get("dialect")
        return wanted is None or wanted == dialect

    return include


def load_all_tables() -> MetaData:
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return metadata


def make_engine(url: str) -> Engine:
    """An engine for the metadata DB; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (all migrations by default)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def get_meta(connection: Connection, key: str) -> str | None:
    return connection.execute(
        select(workspace_meta.c.value).where(workspace_meta.c.key == key)
    ).scalar_one_or_none()


def set_meta(connection: Connection, key: str, value: str) -> None:
    connection.execute(workspace_meta.delete().where(workspace_meta.c.key == key))
    connection.execute(workspace_meta.insert().values(key=key, value=value))
