"""Migrations on both metadata backends: a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from seedbed import db
from seedbed.workspace import Workspace


def test_migrations_reach_head_and_match_the_tables(workspace: Workspace) -> None:
    assert db.current_revision(workspace.engine) == db.head_revision()
    with workspace.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": db.for_dialect(connection.dialect.name)}
        )
        differences = compare_metadata(context, db.load_all_tables())
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(workspace: Workspace) -> None:
    db.downgrade(workspace.engine, "base")
    tables = set(inspect(workspace.engine).get_table_names())
    assert tables <= {"alembic_version"}
    db.upgrade(workspace.engine)
    assert {"users", "runs", "model_versions"} <= set(inspect(workspace.engine).get_table_names())


def test_sqlite_uses_wal_and_foreign_keys(local_workspace: Workspace) -> None:
    with local_workspace.engine.connect() as connection:
        assert connection.execute(text("pragma journal_mode")).scalar() == "wal"
        assert connection.execute(text("pragma foreign_keys")).scalar() == 1


def test_meta_values_round_trip(workspace: Workspace) -> None:
    with workspace.engine.begin() as connection:
        db.set_meta(connection, "k", "1")
        db.set_meta(connection, "k", "2")
    with workspace.engine.connect() as connection:
        assert db.get_meta(connection, "k") == "2"
        assert db.get_meta(connection, "missing") is None
