"""The audit log: who did what, when. Append-only: nothing here updates or deletes an event
(and migration 0008 makes the database refuse to). The home page's recent activity reads it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Connection

from seedbed.auth.tables import audit_events
from seedbed.db import now_ms
from seedbed.errors import Invalid
from seedbed.workspace import Workspace

MAX_LIMIT = 1000
EXPORT_FORMATS = ("csv", "jsonl")
CSV_COLUMNS = ("id", "at", "time", "username", "action", "target", "detail")
_EXPORT_CHUNK = 500


@dataclass(frozen=True)
class AuditEvent:
    at: int
    username: str | None
    action: str
    target: str
    detail: dict[str, Any]
    id: int = 0


@dataclass(frozen=True)
class AuditFilter:
    """Which events to read; every bound is optional. `until_ms` is exclusive."""

    username: str | None = None
    action_prefix: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None


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
    return search(workspace, limit=limit)


def parse_time(value: str, *, end_of_day: bool = False) -> int:
    """An ISO date or date-time (UTC unless it names a zone) as epoch ms. A bare date given
    with `end_of_day` means the end of that day, so `until=2026-11-27` includes the 27th."""
    text = value.strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            f"{value!r} is not a date or time; use ISO 8601, e.g. 2026-11-27 or 2026-11-27T09:30."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if end_of_day and len(text) == 10:
        moment += dt.timedelta(days=1)
    return int(moment.timestamp() * 1000)


def parse_filter(
    username: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> AuditFilter:
    """Filters as people type them (empty means no filter); bad dates raise Invalid."""
    return AuditFilter(
        username=(username or "").strip() or None,
        action_prefix=(action or "").strip() or None,
        since_ms=parse_time(since) if since and since.strip() else None,
        until_ms=parse_time(until, end_of_day=True) if until and until.strip() else None,
    )


def parse_int(value: str | None, name: str, default: int | None, maximum: int) -> int | None:
    """A positive whole number from a query string, at most `maximum`; bad input raises Invalid."""
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise Invalid(f"{name} must be a whole number, not {value!r}.") from None
    if not 1 <= number <= maximum:
        raise Invalid(f"{name} must be between 1 and {maximum}, not {number}.")
    return number


def _query(where: AuditFilter, before_id: int | None) -> Select[Any]:
    columns = audit_events.c
    query = select(audit_events).order_by(columns.id.desc())
    if where.username is not None:
        query = query.where(columns.username == where.username)
    if where.action_prefix is not None:
        query = query.where(columns.action.startswith(where.action_prefix, autoescape=True))
    if where.since_ms is not None:
        query = query.where(columns.at >= where.since_ms)
    if where.until_ms is not None:
        query = query.where(columns.at < where.until_ms)
    if before_id is not None:
        query = query.where(columns.id < before_id)
    return query


def search(
    workspace: Workspace,
    where: AuditFilter | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEvent]:
    """Matching events, newest first; pass the last event's id as `before_id` for older ones."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}, not {limit}.")
    query = _query(where or AuditFilter(), before_id).limit(limit)
    with workspace.engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        AuditEvent(
            id=row["id"],
            at=row["at"],
            username=row["username"],
            action=row["action"],
            target=row["target"],
            detail=json.loads(row["detail"]),
        )
        for row in rows
    ]


def _all(workspace: Workspace, where: AuditFilter) -> Iterator[AuditEvent]:
    """Every matching event, newest first, read a chunk at a time (never the whole log)."""
    before_id: int | None = None
    while chunk := search(workspace, where, _EXPORT_CHUNK, before_id):
        yield from chunk
        before_id = chunk[-1].id


def export(
    workspace: Workspace, fmt: str = "jsonl", where: AuditFilter | None = None
) -> Iterator[str]:
    """The matching events as lines of JSON Lines or CSV (with a header), newest first."""
    if fmt not in EXPORT_FORMATS:
        raise Invalid(f"Unknown export format {fmt!r}; use csv or jsonl.")
    events = _all(workspace, where or AuditFilter())
    if fmt == "jsonl":
        return (json.dumps(asdict(event)) + "\n" for event in events)
    return _csv_lines(events)


def _csv_lines(events: Iterator[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        moment = dt.datetime.fromtimestamp(event.at / 1000, tz=dt.UTC)
        writer.writerow(
            (
                event.id,
                event.at,
                moment.isoformat(timespec="milliseconds"),
                event.username or "",
                event.action,
                event.target,
                json.dumps(event.detail),
            )
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
