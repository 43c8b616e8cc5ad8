"""Tables of the feature store: registered versions of the definitions, and where each
view's online values were last materialized to."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from seedbed.db import metadata

# Every `seedbed features apply` that changes something adds a version; none is edited.
feature_definitions = Table(
    "feature_definitions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("content_hash", String(71), nullable=False),
    Column("spec", Text, nullable=False),  # JSON: entities and views, with resolved types
    Column("changes", Text, nullable=False, default="[]"),  # JSON: the diff to the previous
    Column("author", String(100), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
)

# One row per view: the newest source event the online store holds, and when and with
# which definitions version it was materialized (incremental runs start from here).
feature_materializations = Table(
    "feature_materializations",
    metadata,
    Column("view", String(63), primary_key=True),
    Column("definitions_version", Integer, nullable=False),
    Column("watermark_us", BigInteger, nullable=True),  # newest event (or created) time read
    Column("as_of_us", BigInteger, nullable=False),  # the time window aggregates were taken at
    Column("rows", BigInteger, nullable=False, default=0),
    Column("materialized_by", String(100), nullable=False, default=""),
    Column("materialized_at", BigInteger, nullable=False),
)
