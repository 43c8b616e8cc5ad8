"""PII scans of dataset versions: run on publish, stored per version and column, read by
the columns API, the CLI and the dataset page (and by policies, later)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from seedbed.data import datasets
from seedbed.data.datasets import DatasetVersion
from seedbed.db import now_ms
from seedbed.privacy.detection import ColumnPii, ScanResult, scan_parquet
from seedbed.privacy.tables import pii_columns, pii_scans
from seedbed.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VersionPii:
    """A version's scan: its status (scanned, failed or unscanned) and flagged columns."""

    status: str
    message: str = ""
    rows: int = 0
    sampled_rows: int = 0
    seconds: float = 0.0
    scanned_at: int | None = None
    columns: dict[str, ColumnPii] = field(default_factory=dict)

    def column(self, name: str) -> dict[str, Any] | None:
        """The `pii` field of one column: None when it holds no PII (or was not scanned)."""
        found = self.columns.get(name)
        return found.to_dict() if found is not None else None

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "sampled_rows": self.sampled_rows,
            "seconds": round(self.seconds, 3),
            "scanned_at": self.scanned_at,
            "flagged": sorted(self.columns),
        }


def _store(
    workspace: Workspace, dataset_id: int, version: DatasetVersion, result: ScanResult
) -> None:
    positions = {column.name: index for index, column in enumerate(version.columns)}
    rows = [
        {
            "dataset_id": dataset_id,
            "version": version.version,
            "position": positions.get(name, index),
            "name": name,
            "pii_type": found.type,
            "confidence": found.confidence,
            "evidence": json.dumps(found.to_dict()),
        }
        for index, (name, found) in enumerate(result.columns.items())
        if found is not None
    ]
    # one transaction: readers see the old scan or the whole new one, never half of it
    with workspace.engine.begin() as connection:
        _replace(
            connection,
            dataset_id,
            version.version,
            status="scanned",
            message="",
            rows=result.rows,
            sampled_rows=result.sampled_rows,
            seconds=result.seconds,
        )
        if rows:
            connection.execute(pii_columns.insert(), rows)


def _mark_failed(workspace: Workspace, dataset_id: int, version: int, message: str) -> None:
    with workspace.engine.begin() as connection:
        _replace(
            connection,
            dataset_id,
            version,
            status="failed",
            message=message[:2000],
            rows=0,
            sampled_rows=0,
            seconds=0.0,
        )


def _replace(connection: Connection, dataset_id: int, version: int, **scan: Any) -> None:
    """Drop a version's stored scan and its flagged columns, and store `scan` in its place."""
    connection.execute(
        pii_columns.delete().where(
            pii_columns.c.dataset_id == dataset_id, pii_columns.c.version == version
        )
    )
    connection.execute(
        pii_scans.delete().where(
            pii_scans.c.dataset_id == dataset_id, pii_scans.c.version == version
        )
    )
    connection.execute(
        pii_scans.insert().values(
            dataset_id=dataset_id, version=version, scanned_at=now_ms(), **scan
        )
    )


def scan_version(workspace: Workspace, name: str, version: int) -> VersionPii:
    """Scan one version for PII and store the result (replacing an earlier scan)."""
    target = datasets.get_version(workspace, name, version)
    dataset_id = datasets.get_dataset(workspace, name).id
    with datasets.local_parquet(workspace, target) as path:
        result = scan_parquet(path)
    _store(workspace, dataset_id, target, result)
    return get_scan(workspace, target)


def scan_after_publish(workspace: Workspace, name: str, version: int) -> None:
    """Scan a version that was just published. A failure is logged and recorded as a
    failed scan: the version itself stays, and a later scan may succeed."""
    try:
        scan_version(workspace, name, version)
    except Exception as exc:
        log.exception("PII scan of %s v%s failed", name, version)
        try:
            dataset_id = datasets.get_dataset(workspace, name).id
            _mark_failed(workspace, dataset_id, version, f"{type(exc).__name__}: {exc}")
        except Exception:
            log.exception("Could not record the failed PII scan of %s v%s", name, version)


def get_scan(workspace: Workspace, version: DatasetVersion) -> VersionPii:
    """The stored scan of a version; status 'unscanned' when none ran (or none finished)."""
    dataset_id = datasets.get_dataset(workspace, version.dataset).id
    with workspace.engine.connect() as connection:
        scan = (
            connection.execute(
                select(pii_scans).where(
                    pii_scans.c.dataset_id == dataset_id,
                    pii_scans.c.version == version.version,
                )
            )
            .mappings()
            .first()
        )
        if scan is None:
            return VersionPii(status="unscanned")
        flagged = connection.execute(
            select(pii_columns.c.name, pii_columns.c.evidence)
            .where(
                pii_columns.c.dataset_id == dataset_id,
                pii_columns.c.version == version.version,
            )
            .order_by(pii_columns.c.position)
        ).all()
    return VersionPii(
        status=scan["status"],
        message=scan["message"],
        rows=scan["rows"],
        sampled_rows=scan["sampled_rows"],
        seconds=scan["seconds"],
        scanned_at=scan["scanned_at"],
        columns={n: ColumnPii.from_dict(json.loads(evidence)) for n, evidence in flagged},
    )
