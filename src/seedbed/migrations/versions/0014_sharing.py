"""Sharing models: model and version tags, alias history, feedback, share links, hosted apps.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_tags",
        sa.Column(
            "name",
            sa.String(length=250),
            sa.ForeignKey("registered_models.name", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(length=250), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "model_version_tags",
        sa.Column("name", sa.String(length=250), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=250), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["model_versions.name", "model_versions.version"],
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "model_alias_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_model_alias_events_name", "model_alias_events", ["name", "at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("model_name", sa.String(length=250), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.Text(), nullable=False),
        sa.Column("prediction", sa.Text(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("share_link_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_feedback_model", "feedback", ["model_name", "created_at"])
    op.create_table(
        "share_links",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("model_name", sa.String(length=250), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_share_links_model", "share_links", ["model_name"])
    op.create_table(
        "hosted_apps",
        sa.Column("name", sa.String(length=100), primary_key=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("started_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hosted_apps")
    op.drop_index("ix_share_links_model", table_name="share_links")
    op.drop_table("share_links")
    op.drop_index("ix_feedback_model", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_model_alias_events_name", table_name="model_alias_events")
    op.drop_table("model_alias_events")
    op.drop_table("model_version_tags")
    op.drop_table("model_tags")
