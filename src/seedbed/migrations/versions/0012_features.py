"""The feature store: versions of the feature definitions and the online store's
materialization watermarks.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_definitions",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("content_hash", sa.String(length=71), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "feature_materializations",
        sa.Column("view", sa.String(length=63), primary_key=True),
        sa.Column("definitions_version", sa.Integer(), nullable=False),
        sa.Column("watermark_us", sa.BigInteger(), nullable=True),
        sa.Column("as_of_us", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("materialized_by", sa.String(length=100), nullable=False),
        sa.Column("materialized_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feature_materializations")
    op.drop_table("feature_definitions")
