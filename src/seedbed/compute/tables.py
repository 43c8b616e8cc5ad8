"""Tables of the compute domain: resource profiles set by admins, and jobs."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, Text

from seedbed.db import metadata

# Profiles admins added or changed at run time; settings hold the others.
resource_profiles = Table(
    "resource_profiles",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("cpus", String(20), nullable=False),  # a number, or "all"
    Column("memory", String(40), nullable=False),  # bytes, "2GiB" or "75%"
    Column("gpus", Integer, nullable=False, default=0),
    Column("description", Text, nullable=False, default=""),
    Column("updated_by", String(100), nullable=False, default=""),
    Column("updated_at", BigInteger, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(250), nullable=False),
    Column("kind", String(10), nullable=False),  # script, notebook or function
    Column("status", String(20), nullable=False),  # see seedbed.compute.executor
    Column("backend", String(10), nullable=False),  # local or ray
    Column("profile", String(40), nullable=True),
    Column("cpus", Float, nullable=False),
    Column("memory_bytes", BigInteger, nullable=False),
    Column("gpus", Integer, nullable=False, default=0),
    Column("command", Text, nullable=False),  # JSON argv
    Column("timeout_s", Float, nullable=True),
    Column("max_retries", Integer, nullable=False, default=0),
    Column("submitted_by", String(100), nullable=False),
    Column("token_id", Integer, nullable=True),  # the job's own token, revoked when it ends
    Column("created_at", BigInteger, nullable=False),
    Column("started_at", BigInteger, nullable=True),
    Column("finished_at", BigInteger, nullable=True),
    Column("attempt", Integer, nullable=False, default=0),
    Column("exit_code", Integer, nullable=True),
    Column("cpu_seconds", Float, nullable=True),
    Column("peak_memory_bytes", BigInteger, nullable=True),
    Column("gpu_ids", Text, nullable=False, default="[]"),  # JSON list
    Column("pid", Integer, nullable=True),
    Column("message", Text, nullable=False, default=""),
    Column("outputs", Text, nullable=False, default="{}"),  # JSON: artifact keys it left
    Column("environment", String(40), nullable=False, server_default="default"),
    Column("environment_lock", String(71), nullable=True),  # "sha256:…" when it was submitted
    Column("python_version", String(20), nullable=True),  # of that environment
    Column("lib_version", String(71), nullable=True),  # content hash of lib/ when submitted
    Index("ix_jobs_status", "status"),
    Index("ix_jobs_created_at", "created_at"),
)
