"""Tables of the privacy domain: the PII scan of each dataset version and what it found."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKeyConstraint,
    Integer,
    String,
    Table,
    Text,
)

from seedbed.db import metadata

pii_scans = Table(
    "pii_scans",
    metadata,
    Column("dataset_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", String(10), nullable=False),  # scanned / failed
    Column("message", Text, nullable=False, default=""),  # why a scan failed
    Column("rows", BigInteger, nullable=False, default=0),
    Column("sampled_rows", BigInteger, nullable=False, default=0),
    Column("seconds", Float, nullable=False, default=0.0),
    Column("scanned_at", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["dataset_id", "version"],
        ["dataset_versions.dataset_id", "dataset_versions.version"],
        ondelete="CASCADE",
    ),
)

# One row per column in which a scan found PII; columns without PII have no row.
pii_columns = Table(
    "pii_columns",
    metadata,
    Column("dataset_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),  # the column's place in the schema
    Column("name", Text, nullable=False),
    Column("pii_type", String(40), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON: ColumnPii.to_dict()
    ForeignKeyConstraint(
        ["dataset_id", "version"],
        ["pii_scans.dataset_id", "pii_scans.version"],
        ondelete="CASCADE",
    ),
)
