"""Tables of the privacy domain: PII scans and what they found, the policies applied at ingest,
the token vault, and versions restricted until someone with the `pii` permission reviews them."""

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
    # what ingest did to the column: allow, drop, mask, hash, tokenize or restrict
    Column("action", String(10), nullable=False, server_default=""),
    ForeignKeyConstraint(
        ["dataset_id", "version"],
        ["pii_scans.dataset_id", "pii_scans.version"],
        ondelete="CASCADE",
    ),
)

# What ingest does with each PII type: dataset "" holds the workspace's policy, any other
# a dataset's own choices (by name, so they can be set before its first version), which
# win over the workspace's for the types they name.
pii_policies = Table(
    "pii_policies",
    metadata,
    Column("dataset", String(250), primary_key=True),
    Column("pii_type", String(40), primary_key=True),
    Column("action", String(10), nullable=False),
    Column("updated_by", Text, nullable=False, default=""),
    Column("updated_at", BigInteger, nullable=False),
)

# The vault behind `tokenize`: each token with its original value, encrypted with the
# workspace key; only users with the `pii` permission may turn tokens back into values.
pii_tokens = Table(
    "pii_tokens",
    metadata,
    Column("token", String(40), primary_key=True),
    Column("pii_type", String(40), nullable=False),
    Column("ciphertext", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# Versions restricted as a whole: derived from restricted data, or not scanned. Readable
# only with the `pii` permission until someone who has it reviews them.
pii_restrictions = Table(
    "pii_restrictions",
    metadata,
    Column("dataset_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),  # scan_failed or derived
    Column("reason", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("reviewed_by", Text, nullable=True),
    Column("reviewed_at", BigInteger, nullable=True),
    Column("review_note", Text, nullable=False, default=""),
    ForeignKeyConstraint(
        ["dataset_id", "version"],
        ["dataset_versions.dataset_id", "dataset_versions.version"],
        ondelete="CASCADE",
    ),
)
