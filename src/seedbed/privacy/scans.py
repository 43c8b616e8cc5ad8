"""PII scans of dataset versions: made at ingest (seedbed.privacy.protect) and stored with
the version, per column with the action the policy took; read by the columns API, the CLI,
the dataset page and the read checks of seedbed.privacy.access."""

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
from seedbed.errors import Invalid
from seedbed.privacy import policies, restrictions
from seedbed.privacy.detection import ColumnPii, ScanResult, scan_parquet
from seedbed.privacy.protect import TRANSFORMS, Protected
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
    actions: dict[str, str] = field(default_factory=dict)  # what ingest did to each column

    def column(self, name: str) -> dict[str, Any] | None:
        """The `pii` field of one column: None when it holds no PII (or was not scanned);
        `action` says what the policy did with it at ingest."""
        found = self.columns.get(name)
        if found is None:
            return None
        return {**found.to_dict(), "action": self.actions.get(name, "")}

    @property
    def restricted_columns(self) -> list[str]:
        """Columns kept as they are but readable only with the `pii` permission."""
        return [name for name, action in self.actions.items() if action == "restrict"]

    @property
    def dropped_columns(self) -> list[str]:
        return [name for name, action in self.actions.items() if action == "drop"]

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "sampled_rows": self.sampled_rows,
            "seconds": round(self.seconds, 3),
            "scanned_at": self.scanned_at,
            "flagged": sorted(self.columns),
            "restricted_columns": self.restricted_columns,
            "dropped_columns": self.dropped_columns,
        }


def _column_rows(
    dataset_id: int,
    version: DatasetVersion,
    result: ScanResult,
    actions: dict[str, str],
) -> list[dict[str, Any]]:
    """Rows of pii_columns; a column the policy dropped is listed after the published ones."""
    positions = {column.name: index for index, column in enumerate(version.columns)}
    rows = []
    for index, (name, found) in enumerate(result.flagged.items()):
        rows.append(
            {
                "dataset_id": dataset_id,
                "version": version.version,
                "position": positions.get(name, len(positions) + index),
                "name": name,
                "pii_type": found.type,
                "confidence": found.confidence,
                "evidence": json.dumps(found.to_dict()),
                "action": actions.get(name, ""),
            }
        )
    return rows


def record_ingest(
    connection: Connection, dataset_id: int, version: DatasetVersion, protected: Protected
) -> None:
    """Store the scan made at ingest and what the policy did, in the publishing transaction:
    the version is never visible without its classification."""
    if protected.scan is None:
        _replace(
            connection,
            dataset_id,
            version.version,
            status="failed",
            message=protected.error[:2000],
            rows=0,
            sampled_rows=0,
            seconds=0.0,
        )
        return
    result = protected.scan
    _replace_scanned(connection, dataset_id, version.version, result)
    rows = _column_rows(dataset_id, version, result, protected.actions)
    if rows:
        connection.execute(pii_columns.insert(), rows)


def _stored_actions(connection: Connection, dataset_id: int, version: int) -> dict[str, str]:
    return {
        name: action
        for name, action in connection.execute(
            select(pii_columns.c.name, pii_columns.c.action).where(
                pii_columns.c.dataset_id == dataset_id, pii_columns.c.version == version
            )
        )
    }


def _store(
    workspace: Workspace, dataset_id: int, version: DatasetVersion, result: ScanResult
) -> None:
    """Store a later scan. The data has landed: a newly found column can only be restricted
    (or allowed, where the policy allows its type); columns that ingest transformed keep
    their ingest classification, since what the scan sees now is the masked form."""
    rules = policies.effective(workspace, version.dataset)
    with workspace.engine.begin() as connection:
        earlier = (
            connection.execute(
                select(pii_columns).where(
                    pii_columns.c.dataset_id == dataset_id,
                    pii_columns.c.version == version.version,
                    pii_columns.c.action.in_(TRANSFORMS),
                )
            )
            .mappings()
            .all()
        )
        kept = {row["name"]: dict(row) for row in earlier}
        flagged = {n: f for n, f in result.flagged.items() if n not in kept}
        actions = {
            name: "allow" if rules[found.type].action == "allow" else "restrict"
            for name, found in flagged.items()
        }
        fresh = ScanResult(result.rows, result.sampled_rows, dict(flagged), result.seconds)
        # one transaction: readers see the old scan or the whole new one, never half of it
        _replace_scanned(connection, dataset_id, version.version, result)
        rows = list(kept.values()) + _column_rows(dataset_id, version, fresh, actions)
        taken = {row["position"] for row in kept.values()}
        for row in rows[len(kept) :]:
            while row["position"] in taken:
                row["position"] += len(version.columns) + len(rows)
            taken.add(row["position"])
        if rows:
            connection.execute(pii_columns.insert(), rows)
        restrictions.lift_scan_failure(connection, dataset_id, version.version)


def _replace_scanned(
    connection: Connection, dataset_id: int, version: int, result: ScanResult
) -> None:
    _replace(
        connection,
        dataset_id,
        version,
        status="scanned",
        message="",
        rows=result.rows,
        sampled_rows=result.sampled_rows,
        seconds=result.seconds,
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
    """Scan one version again and store the result. A scan that fails keeps the earlier one
    (losing it would unrestrict its columns) and says why."""
    target = datasets.get_version(workspace, name, version)
    dataset_id = datasets.get_dataset(workspace, name).id
    try:
        with datasets.local_parquet(workspace, target) as path:
            result = scan_parquet(path)
    except Exception as exc:
        log.exception("PII scan of %s v%s failed", name, version)
        raise Invalid(
            f"The PII scan of {name} v{version} failed ({type(exc).__name__}: {exc}); "
            "the earlier scan is kept."
        ) from exc
    _store(workspace, dataset_id, target, result)
    return get_scan(workspace, target)


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
            select(pii_columns.c.name, pii_columns.c.evidence, pii_columns.c.action)
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
        columns={n: ColumnPii.from_dict(json.loads(evidence)) for n, evidence, _ in flagged},
        actions={name: action for name, _, action in flagged},
    )
