"""What a job ran with: its environment, that environment's lock hash, its Python version
and the content hash of the workspace's lib/ when it was submitted.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(
            sa.Column("environment", sa.String(length=40), nullable=False, server_default="default")
        )
        batch.add_column(sa.Column("environment_lock", sa.String(length=71), nullable=True))
        batch.add_column(sa.Column("python_version", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("lib_version", sa.String(length=71), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lib_version")
        batch.drop_column("python_version")
        batch.drop_column("environment_lock")
        batch.drop_column("environment")
