"""The audit log for admins: /api/v1/audit (JSON and streamed export) and /ui/admin/audit."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from seedbed.auth import audit
from seedbed.auth.audit import MAX_LIMIT, AuditFilter
from seedbed.errors import SeedbedError
from seedbed.web.deps import AdminUser, WorkspaceDep
from seedbed.web.templating import render

router = APIRouter(tags=["audit"])
PAGE_SIZE = 100
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
FILTER_KEYS = ("user", "action", "since", "until")


def _where(request: Request) -> AuditFilter:
    q = request.query_params
    return audit.parse_filter(q.get("user"), q.get("action"), q.get("since"), q.get("until"))


def _page(request: Request) -> tuple[AuditFilter, int, int | None]:
    """The filter, page size and paging cursor of a request; bad values raise Invalid."""
    q = request.query_params
    limit = audit.parse_int(q.get("limit"), "limit", PAGE_SIZE, MAX_LIMIT) or PAGE_SIZE
    before_id = audit.parse_int(q.get("before_id"), "before_id", None, 2**62)
    return _where(request), limit, before_id


def _next_before_id(events: list[audit.AuditEvent], limit: int) -> int | None:
    return events[-1].id if len(events) == limit else None


@router.get("/api/v1/audit")
def api_audit(request: Request, workspace: WorkspaceDep, admin: AdminUser) -> dict[str, Any]:
    """Events newest first. Query: user, action (a prefix), since, until (ISO dates or times,
    UTC), limit (at most 1000) and before_id (the previous answer's next_before_id)."""
    where, limit, before_id = _page(request)
    events = audit.search(workspace, where, limit, before_id)
    return {
        "events": [asdict(e) for e in events],
        "next_before_id": _next_before_id(events, limit),
    }


@router.get("/api/v1/audit/export")
def api_audit_export(
    request: Request, workspace: WorkspaceDep, admin: AdminUser, format: str = "jsonl"
) -> StreamingResponse:
    """Every matching event, streamed as CSV or JSON Lines (same filters as /api/v1/audit)."""
    where = _where(request)
    lines = audit.export(workspace, format, where)
    # Reading the whole log is itself worth a line in it.
    filters = {k: v for k, v in asdict(where).items() if v is not None}
    if "username" in filters:  # record() takes `username` for the actor
        filters["user"] = filters.pop("username")
    audit.record(workspace, admin.username, "audit.export", format, **filters)
    disposition = f'attachment; filename="seedbed-audit.{format}"'
    return StreamingResponse(
        lines, media_type=MEDIA_TYPES[format], headers={"Content-Disposition": disposition}
    )


@router.get("/ui/admin/audit", include_in_schema=False)
def audit_page(request: Request, workspace: WorkspaceDep, admin: AdminUser) -> Response:
    filters = {key: request.query_params.get(key, "") for key in FILTER_KEYS}
    try:
        where, limit, before_id = _page(request)
        events = audit.search(workspace, where, limit, before_id)
    except SeedbedError as exc:
        return render(
            request,
            "auth/audit.html",
            exc.status_code,
            events=[],
            filters=filters,
            next_before_id=None,
            error=str(exc),
        )
    return render(
        request,
        "auth/audit.html",
        events=events,
        filters=filters,
        next_before_id=_next_before_id(events, limit),
        error=None,
    )
