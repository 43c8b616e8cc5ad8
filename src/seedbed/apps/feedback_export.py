"""Export of reviewers' feedback as a dataset version: inputs as columns, then the
prediction, class probabilities and the verdict; lineage names the model and its versions."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from seedbed.apps.feedback import FeedbackFilter, FeedbackItem, segment_text, select_items
from seedbed.auth import audit
from seedbed.data import datasets
from seedbed.data.datasets import DatasetVersion
from seedbed.data.tables import dataset_versions
from seedbed.data.tables import datasets as datasets_table
from seedbed.errors import Invalid
from seedbed.workspace import Workspace

# columns of an export; an input named like one of them gets an "input_" prefix
EXPORT_COLUMNS = (
    "feedback_id",
    "model",
    "version",
    "prediction",
    "correct",
    "label",
    "comment",
    "reviewer",
    "via",
    "created_at",
)


def _plain_column(values: list[Any]) -> pa.Array:
    """One input column as Arrow: numbers stay numbers, anything mixed becomes text."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.array(values, pa.bool_())
    if present and all(
        isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63 for v in present
    ):
        return pa.array(values, pa.int64())
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None else segment_text(v) for v in values], pa.string())


def export_table(items: list[FeedbackItem]) -> pa.Table:
    """Feedback as a flat table: inputs as columns, then prediction, probabilities and verdict."""
    inputs: list[str] = []
    for item in sorted(items, key=lambda i: i.id):
        inputs += [k for k in item.inputs if k not in inputs]
    classes = sorted({c for i in items for c in (i.prediction.get("probabilities") or {})})
    ordered = sorted(items, key=lambda i: i.id)
    table: dict[str, pa.Array] = {
        "feedback_id": pa.array([i.id for i in ordered], pa.int64()),
        "model": pa.array([i.model_name for i in ordered], pa.string()),
        "version": pa.array([i.version for i in ordered], pa.int64()),
    }
    for name in inputs:
        column = f"input_{name}" if name in EXPORT_COLUMNS or name in table else name
        table[column] = _plain_column([i.inputs.get(name) for i in ordered])
    table["prediction"] = _plain_column([i.prediction.get("prediction") for i in ordered])
    for label in classes:
        table[f"probability_{label}"] = pa.array(
            [(i.prediction.get("probabilities") or {}).get(label) for i in ordered], pa.float64()
        )
    table["correct"] = pa.array([i.correct for i in ordered], pa.bool_())
    table["label"] = pa.array([i.label for i in ordered], pa.string())
    table["comment"] = pa.array([i.comment for i in ordered], pa.string())
    table["reviewer"] = pa.array([i.reviewer for i in ordered], pa.string())
    table["via"] = pa.array([i.via for i in ordered], pa.string())
    table["created_at"] = pa.array([i.created_at for i in ordered], pa.timestamp("ms", tz="UTC"))
    return pa.table(table)


def export(
    workspace: Workspace,
    model_name: str,
    *,
    name: str,
    user: str,
    where: FeedbackFilter | None = None,
) -> tuple[DatasetVersion, bool]:
    """Publish the feedback as the next version of dataset `name` (scanned for PII like every
    version; identical content adds none). Returns the version and whether it is new."""
    from seedbed.data.sources import content_fingerprint  # sources builds on much of data

    datasets.check_name(name)
    where = where or FeedbackFilter()
    items = select_items(workspace, model_name, where)
    if not items:
        raise Invalid(
            f"There is no feedback on {model_name!r} to export"
            + (" with these filters." if where != FeedbackFilter() else ".")
        )
    versions = sorted({i.version for i in items})
    detail = {
        "model": model_name,
        "model_versions": versions,
        "items": len(items),
        "filters": {k: v for k, v in where.__dict__.items() if v is not None},
    }
    with tempfile.TemporaryDirectory(prefix="seedbed-feedback-") as folder:
        path = Path(folder) / "data.parquet"
        pq.write_table(export_table(items), path, compression="zstd")
        published, created = datasets.publish_parquet(
            workspace,
            name,
            path,
            content_fingerprint(path),
            "feedback",
            detail,
            author=user,
            description=f"Reviewers' feedback on model {model_name} "
            f"(version{'s' if len(versions) > 1 else ''} {', '.join(map(str, versions))}).",
        )
    if created:
        audit.record(
            workspace,
            user or None,
            "feedback.export",
            model_name,
            dataset=f"{name}/{published.version}",
        )
    return published, created


def exports_of(workspace: Workspace, model_name: str, limit: int = 10) -> list[DatasetVersion]:
    """The newest dataset versions exported from this model's feedback."""
    query = (
        select(datasets_table.c.name, dataset_versions.c.version, dataset_versions.c.source_detail)
        .join(datasets_table, datasets_table.c.id == dataset_versions.c.dataset_id)
        .where(
            dataset_versions.c.source == "feedback",
            dataset_versions.c.deleted_at.is_(None),
            datasets_table.c.deleted_at.is_(None),
        )
        .order_by(dataset_versions.c.created_at.desc())
    )
    with workspace.engine.connect() as connection:
        rows = connection.execute(query).all()
    mine = [(n, v) for n, v, detail in rows if json.loads(detail).get("model") == model_name]
    return [datasets.get_version(workspace, n, v) for n, v in mine[:limit]]
