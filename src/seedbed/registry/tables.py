"""Tables of the model registry: registered models, their versions and aliases."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(250), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column(
        "name",
        String(250),
        ForeignKey("registered_models.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
    Column("source", String(1000), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("signature", Text, nullable=False, default="{}"),
    Column("created_by", String(100), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(250), primary_key=True),
    Column("alias", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        ondelete="CASCADE",
    ),
)

# MLflow 3 logged models: a model logged inside a run (mlflow.<flavour>.log_model), with its own
# artifacts under the store key models/<id>/artifacts. Params and tags are small JSON objects.
logged_models = Table(
    "logged_models",
    metadata,
    Column("id", String(34), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(500), nullable=False),
    Column("model_type", String(500), nullable=False, default=""),
    Column("source_run_id", String(32), ForeignKey("runs.id", ondelete="SET NULL"), nullable=True),
    Column("status", String(40), nullable=False),
    Column("status_message", Text, nullable=False, default=""),
    Column("params", Text, nullable=False, default="{}"),
    Column("tags", Text, nullable=False, default="{}"),
    Column("created_by", String(100), nullable=False, default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Free-form tags on registered models and on versions (MLflow's set-tag endpoints use them too).
model_tags = Table(
    "model_tags",
    metadata,
    Column(
        "name",
        String(250),
        ForeignKey("registered_models.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False, default=""),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", String(250), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False, default=""),
    ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        ondelete="CASCADE",
    ),
)

# Every move of an alias: who pointed it where, from which version. to_version NULL: deleted.
model_alias_events = Table(
    "model_alias_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(250), nullable=False),
    Column("alias", String(100), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=True),
    Column("username", String(100), nullable=False, default=""),
    Column("at", BigInteger, nullable=False),
    Index("ix_model_alias_events_name", "name", "at"),
)
