"""Tables of the evaluation domain: one row per evaluation, naming its parent run and jobs."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from seedbed.db import metadata

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", String(32), primary_key=True),  # the parent run's id
    Column("name", String(100), nullable=False),
    Column("experiment_id", Integer, nullable=False),
    Column("task", String(20), nullable=False),
    Column("primary_metric", String(40), nullable=False),
    Column("profile", String(40), nullable=True),
    Column("status", String(20), nullable=False),  # running, succeeded, failed, cancelled
    Column("spec", Text, nullable=False),  # the spec as JSON
    Column("jobs", Text, nullable=False),  # JSON: [{index, kind, label, job_id}]
    Column("created_by", String(100), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=True),
    Index("ix_evaluations_created_at", "created_at"),
)
