"""Tables of the apps domain: reviewers' feedback, share links and hosted apps."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text

from seedbed.db import metadata

# One reviewer's verdict on one prediction of one model version. inputs and prediction are
# JSON (the row as scored; {"prediction": ..., "probabilities": {...}}). correct NULL: no
# verdict, only a comment. via: "user" (logged in) or "share" (through share_link_id).
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_name", String(250), nullable=False),
    Column("version", Integer, nullable=False),
    Column("inputs", Text, nullable=False),
    Column("prediction", Text, nullable=False),
    Column("correct", Boolean, nullable=True),
    Column("label", Text, nullable=True),
    Column("comment", Text, nullable=False, default=""),
    Column("reviewer", String(200), nullable=False),
    Column("via", String(20), nullable=False, default="user"),
    Column("share_link_id", String(32), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_feedback_model", "model_name", "created_at"),
)

# A signed link to one model's demo page with reviewer rights only. reference: a version
# number or an alias, resolved on every visit. The secret part of the URL is not stored.
share_links = Table(
    "share_links",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("model_name", String(250), nullable=False),
    Column("reference", String(100), nullable=False),
    Column("note", String(200), nullable=False, default=""),
    Column("created_by", String(100), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Index("ix_share_links_model", "model_name"),
)

# Streamlit (or Dash) apps the server runs as managed subprocesses under /apps/NAME/.
hosted_apps = Table(
    "hosted_apps",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("script", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("port", Integer, nullable=True),
    Column("pid", Integer, nullable=True),
    Column("started_by", String(100), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
