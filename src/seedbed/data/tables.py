"""Tables of the data domain: datasets and their versions, quality checks, connectors."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from seedbed.db import metadata

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("owner", String(100), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("deleted_at", BigInteger, nullable=True),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column(
        "dataset_id",
        Integer,
        ForeignKey("datasets.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("schema", Text, nullable=False),  # JSON list of {name, type}
    Column(
        "source", String(20), nullable=False
    ),  # upload, connector, query, job, feedback, features
    Column("source_detail", Text, nullable=False, default="{}"),
    Column("path", String(1000), nullable=False),  # artifact-store key of data.parquet
    Column("author", String(100), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("quality", String(10), nullable=False, default="none"),  # none/passed/warning/failed
    Column("deleted_at", BigInteger, nullable=True),
    Index("ix_dataset_versions_hash", "dataset_id", "content_hash"),
)

# The versions a version was derived from (a query over datasets, an upload that names
# its parents): restrictions follow these links.
dataset_parents = Table(
    "dataset_parents",
    metadata,
    Column("dataset_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("parent_dataset_id", Integer, primary_key=True),
    Column("parent_version", Integer, primary_key=True),
    ForeignKeyConstraint(
        ["dataset_id", "version"],
        ["dataset_versions.dataset_id", "dataset_versions.version"],
        ondelete="CASCADE",
    ),
)

quality_checks = Table(
    "quality_checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("spec", Text, nullable=False),  # JSON of one check
    Column("created_by", String(100), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
)

quality_results = Table(
    "quality_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("check_name", String(250), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("message", Text, nullable=False),
    Column("observed", Text, nullable=False, default="{}"),
    Column("ran_at", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["dataset_id", "version"],
        ["dataset_versions.dataset_id", "dataset_versions.version"],
        ondelete="CASCADE",
    ),
    Index("ix_quality_results_version", "dataset_id", "version"),
)

connectors = Table(
    "connectors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("config", Text, nullable=False),  # JSON, never holds the secret
    Column("secret", Text, nullable=True),  # encrypted with the workspace key
    Column("created_by", String(100), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
)
