"""The audit log: who did what, when. The home page's recent activity reads it too."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from seedbed.auth.tables import audit_events
from seedbed.db import now_ms
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class AuditEvent:
    at: int
    username: str | None
    action: str
    target: str
    detail: dict[str, Any]


def record(
    workspace: Workspace, username: str | None, action: str, target: str = "", **detail: Any
) -> None:
    """Append one event; `action` is a dotted verb such as "run.create"."""
    with workspace.engine.begin() as connection:
        append(connection, username, action, target, **detail)


def append(
    connection: Connection, username: str | None, action: str, target: str = "", **detail: Any
) -> None:
    """Append one event inside the caller's transaction, so it commits (or not) with the change."""
    connection.execute(
        audit_events.insert().values(
            at=now_ms(),
            username=username,
            action=action,
            target=target,
            detail=json.dumps(detail, default=str),
        )
    )


def recent(workspace: Workspace, limit: int = 20) -> list[AuditEvent]:
    """The newest events first."""
    query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
    with workspace.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        AuditEvent(
            at=row["at"],
            username=row["username"],
            action=row["action"],
            target=row["target"],
            detail=json.loads(row["detail"]),
        )
        for row in rows
    ]
