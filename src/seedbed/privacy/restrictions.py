"""Versions restricted as a whole, and how restrictions follow lineage.

A version is restricted when its PII scan failed (nobody knows what it holds) or when it
was derived from restricted data. It stays readable only with the `pii` permission until
someone who has that permission reviews it. A model version trained on PII is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from seedbed.auth import audit
from seedbed.auth.permissions import can, require
from seedbed.auth.users import User, get_user_by_name
from seedbed.data import datasets
from seedbed.data.tables import dataset_parents
from seedbed.data.tables import datasets as datasets_table
from seedbed.db import now_ms
from seedbed.errors import Invalid, NotFound
from seedbed.privacy.tables import pii_columns, pii_restrictions
from seedbed.tracking.tables import run_inputs
from seedbed.workspace import Workspace

RAW = ("restrict", "allow")  # actions that leave the values as they were


@dataclass(frozen=True)
class Restriction:
    kind: str  # scan_failed or derived
    reason: str
    created_at: int
    reviewed_by: str | None = None
    reviewed_at: int | None = None
    review_note: str = ""

    @property
    def active(self) -> bool:
        return self.reviewed_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reason": self.reason,
            "active": self.active,
            "created_at": self.created_at,
            "reviewed_by": self.reviewed_by,
            "reviewed_at": self.reviewed_at,
            "review_note": self.review_note,
        }


def get(workspace: Workspace, dataset_id: int, version: int) -> Restriction | None:
    with workspace.engine.connect() as connection:
        row = (
            connection.execute(
                select(pii_restrictions).where(
                    pii_restrictions.c.dataset_id == dataset_id,
                    pii_restrictions.c.version == version,
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    return Restriction(
        kind=row["kind"],
        reason=row["reason"],
        created_at=row["created_at"],
        reviewed_by=row["reviewed_by"],
        reviewed_at=row["reviewed_at"],
        review_note=row["review_note"],
    )


def add(connection: Connection, dataset_id: int, version: int, kind: str, reason: str) -> None:
    connection.execute(
        pii_restrictions.insert().values(
            dataset_id=dataset_id,
            version=version,
            kind=kind,
            reason=reason,
            created_at=now_ms(),
            review_note="",
        )
    )


def lift_scan_failure(connection: Connection, dataset_id: int, version: int) -> None:
    """A scan that now succeeds replaces the restriction its failure put on the version."""
    connection.execute(
        pii_restrictions.delete().where(
            pii_restrictions.c.dataset_id == dataset_id,
            pii_restrictions.c.version == version,
            pii_restrictions.c.kind == "scan_failed",
            pii_restrictions.c.reviewed_at.is_(None),
        )
    )


def restricted_parents(connection: Connection, parents: list[tuple[int, int, str]]) -> list[str]:
    """The parents (dataset id, version, "name v1") that hold raw PII or are restricted."""
    found = []
    for dataset_id, version, label in parents:
        raw = connection.execute(
            select(pii_columns.c.name).where(
                pii_columns.c.dataset_id == dataset_id,
                pii_columns.c.version == version,
                pii_columns.c.action == "restrict",
            )
        ).first()
        held = connection.execute(
            select(pii_restrictions.c.reason).where(
                pii_restrictions.c.dataset_id == dataset_id,
                pii_restrictions.c.version == version,
                pii_restrictions.c.reviewed_at.is_(None),
            )
        ).first()
        if raw is not None or held is not None:
            found.append(label)
    return found


def could_read_pii(workspace: Workspace, author: str) -> bool:
    """Whether the publisher could have read restricted data: a user without the pii
    permission never got restricted columns, so what they derive cannot hold them. An
    unknown publisher (the system, a deleted user) is taken to have read everything."""
    try:
        return can(get_user_by_name(workspace, author), "read_pii")
    except NotFound:
        return True


def record_parents(
    connection: Connection,
    dataset_id: int,
    version: int,
    parents: list[tuple[int, int, str]],
    tainted: bool = True,
) -> None:
    """Link a new version to the versions it was derived from, and restrict it when any of
    them is restricted and the publisher could read it (`tainted`): the flag follows
    lineage until someone with `pii` reviews it."""
    for parent_id, parent_version, _ in parents:
        connection.execute(
            dataset_parents.insert().values(
                dataset_id=dataset_id,
                version=version,
                parent_dataset_id=parent_id,
                parent_version=parent_version,
            )
        )
    restricted = restricted_parents(connection, parents) if tainted else []
    if restricted:
        add(
            connection,
            dataset_id,
            version,
            "derived",
            f"derived from restricted data ({', '.join(restricted)})",
        )


def resolve_parents(workspace: Workspace, references: list[str]) -> list[tuple[int, int, str]]:
    """`name` (its latest version) or `name@version` references as (id, version, label)."""
    resolved = []
    for reference in references:
        parsed = datasets.split_reference(reference)
        if parsed is None:
            raise Invalid(
                f"Parent {reference!r} is not NAME or NAME@VERSION (a version is a number)."
            )
        name = parsed[0]
        version = datasets.get_version(workspace, *parsed)
        dataset_id = datasets.get_dataset(workspace, name).id
        resolved.append((dataset_id, version.version, f"{name} v{version.version}"))
    return sorted(set(resolved))


def parents_of(workspace: Workspace, dataset_id: int, version: int) -> list[dict[str, Any]]:
    query = (
        select(datasets_table.c.name, dataset_parents.c.parent_version)
        .join(datasets_table, datasets_table.c.id == dataset_parents.c.parent_dataset_id)
        .where(dataset_parents.c.dataset_id == dataset_id, dataset_parents.c.version == version)
        .order_by(datasets_table.c.name, dataset_parents.c.parent_version)
    )
    with workspace.engine.connect() as connection:
        return [{"dataset": n, "version": v} for n, v in connection.execute(query)]


def review(
    workspace: Workspace, user: User, name: str, version: int, note: str = ""
) -> Restriction:
    """Lift a version's restriction after looking at it; needs the `pii` permission."""
    require(user, "read_pii")
    dataset_id = datasets.get_dataset(workspace, name).id
    datasets.get_version(workspace, name, version)
    current = get(workspace, dataset_id, version)
    if current is None or not current.active:
        raise Invalid(
            f"{name} v{version} is not restricted as a whole; there is nothing to review."
        )
    with workspace.engine.begin() as connection:
        connection.execute(
            pii_restrictions.update()
            .where(
                pii_restrictions.c.dataset_id == dataset_id,
                pii_restrictions.c.version == version,
            )
            .values(reviewed_by=user.username, reviewed_at=now_ms(), review_note=note[:2000])
        )
        audit.append(
            connection, user.username, "dataset.review", f"{name}/{version}", note=note[:200]
        )
    reviewed = get(workspace, dataset_id, version)
    assert reviewed is not None
    return reviewed


def pii_inputs_of_runs(workspace: Workspace, run_ids: list[str]) -> dict[str, list[str]]:
    """For each run, the inputs through which it saw PII: a version with raw PII columns
    (restricted or allowed) or one restricted as a whole. A model trained there is flagged."""
    found: dict[str, list[str]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return found
    raw = (
        select(
            run_inputs.c.run_id,
            datasets_table.c.name,
            run_inputs.c.version,
            pii_columns.c.name.label("column"),
            pii_columns.c.pii_type,
        )
        .join(datasets_table, datasets_table.c.id == run_inputs.c.dataset_id)
        .join(
            pii_columns,
            and_(
                pii_columns.c.dataset_id == run_inputs.c.dataset_id,
                pii_columns.c.version == run_inputs.c.version,
            ),
        )
        .where(run_inputs.c.run_id.in_(run_ids), pii_columns.c.action.in_(RAW))
        .order_by(datasets_table.c.name, run_inputs.c.version, pii_columns.c.position)
    )
    whole = (
        select(run_inputs.c.run_id, datasets_table.c.name, run_inputs.c.version)
        .join(datasets_table, datasets_table.c.id == run_inputs.c.dataset_id)
        .join(
            pii_restrictions,
            and_(
                pii_restrictions.c.dataset_id == run_inputs.c.dataset_id,
                pii_restrictions.c.version == run_inputs.c.version,
            ),
        )
        .where(run_inputs.c.run_id.in_(run_ids), pii_restrictions.c.reviewed_at.is_(None))
    )
    with workspace.engine.connect() as connection:
        for run_id, name, version, column, pii_type in connection.execute(raw):
            found[run_id].append(f"{name} v{version}: {column} ({pii_type})")
        for run_id, name, version in connection.execute(whole):
            found[run_id].append(f"{name} v{version}: restricted as a whole")
    return found
