"""Indexes on param and tag values, for equality filters in run search.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("run_params", "run_tags")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            op.create_index(f"ix_{table}_key_value", table, ["key", "value"])
        elif dialect == "postgresql":
            op.create_index(f"ix_{table}_value_hash", table, ["value"], postgresql_using="hash")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            op.drop_index(f"ix_{table}_key_value", table_name=table)
        elif dialect == "postgresql":
            op.drop_index(f"ix_{table}_value_hash", table_name=table)
