"""Tables of the tracking domain: experiments, runs, params, tags and metric series."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    false,
)

from seedbed.db import metadata

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("artifact_location", String(1000), nullable=False),
    Column("lifecycle_stage", String(20), nullable=False, default="active"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(250), nullable=False, default=""),
    Column("user", String(100), nullable=False, default=""),
    Column("status", String(20), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("lifecycle_stage", String(20), nullable=False, default="active"),
    Column("artifact_uri", String(1000), nullable=False),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)


def value_indexes(table: str) -> list[Index]:
    """Indexes for `params.x = 'v'` and `tags.x = 'v'` filters in run search.

    SQLite gets (key, value). PostgreSQL's b-tree refuses entries over ~2.7 kB and a param
    may hold 6,000 characters, so there a hash index on the value serves equality instead.
    """
    return [
        Index(f"ix_{table}_key_value", "key", "value", info={"dialect": "sqlite"}).ddl_if(
            dialect="sqlite"
        ),
        Index(
            f"ix_{table}_value_hash",
            "value",
            postgresql_using="hash",
            info={"dialect": "postgresql"},
        ).ddl_if(dialect="postgresql"),
    ]


run_params = Table(
    "run_params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    # Searches filter runs by param key (values can be too long for a PostgreSQL index).
    Index("ix_run_params_key", "key"),
    *value_indexes("run_params"),
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_run_tags_key", "key"),
    *value_indexes("run_tags"),
)

metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float, nullable=False),
    Column("step", BigInteger, nullable=False, default=0),
    Column("timestamp", BigInteger, nullable=False),
    # SQLite stores NaN as NULL, so a NaN point keeps value 0 and this flag (as MLflow does).
    Column("is_nan", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_metrics_run_key_step", "run_id", "key", "step"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Float, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

# What a run read: dataset versions now; feature definitions later.
run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
)

# Datasets an MLflow client declared with log_input (name, digest, source...), which need not
# be seedbed datasets; kept so that run.inputs shows them back.
run_dataset_inputs = Table(
    "run_dataset_inputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(500), primary_key=True),
    Column("digest", String(36), primary_key=True),
    Column("source_type", String(100), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text, nullable=False),
    Column("profile", Text, nullable=False),
    Column("tags", Text, nullable=False),
)
