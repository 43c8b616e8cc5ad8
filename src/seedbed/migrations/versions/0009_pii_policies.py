"""PII policies applied at ingest, the token vault, restricted versions, dataset parents.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pii_columns") as batch:
        batch.add_column(
            sa.Column("action", sa.String(length=10), nullable=False, server_default="")
        )
    op.create_table(
        "pii_policies",
        sa.Column("dataset", sa.String(length=250), nullable=False),
        sa.Column("pii_type", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "pii_type", name=op.f("pk_pii_policies")),
    )
    op.create_table(
        "pii_tokens",
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("pii_type", sa.String(length=40), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_pii_tokens")),
    )
    op.create_table(
        "pii_restrictions",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("reviewed_by", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.BigInteger(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id", "version"],
            ["dataset_versions.dataset_id", "dataset_versions.version"],
            name=op.f("fk_pii_restrictions_dataset_id_dataset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dataset_id", "version", name=op.f("pk_pii_restrictions")),
    )
    op.create_table(
        "dataset_parents",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("parent_dataset_id", sa.Integer(), nullable=False),
        sa.Column("parent_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id", "version"],
            ["dataset_versions.dataset_id", "dataset_versions.version"],
            name=op.f("fk_dataset_parents_dataset_id_dataset_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "dataset_id",
            "version",
            "parent_dataset_id",
            "parent_version",
            name=op.f("pk_dataset_parents"),
        ),
    )


def downgrade() -> None:
    op.drop_table("dataset_parents")
    op.drop_table("pii_restrictions")
    op.drop_table("pii_tokens")
    op.drop_table("pii_policies")
    with op.batch_alter_table("pii_columns") as batch:
        batch.drop_column("action")
