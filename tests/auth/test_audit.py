from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from seedbed.auth import audit
from seedbed.auth.audit import AuditFilter
from seedbed.auth.tables import audit_events
from seedbed.errors import Invalid
from seedbed.workspace import Workspace


def test_recent_events_newest_first(workspace: Workspace) -> None:
    audit.record(workspace, "ada", "run.create", "r1", experiment="e")
    audit.record(workspace, None, "model.register", "m/1")
    events = audit.recent(workspace, limit=10)
    assert [e.action for e in events] == ["model.register", "run.create"]
    assert events[1].username == "ada" and events[1].detail == {"experiment": "e"}
    assert len(audit.recent(workspace, limit=1)) == 1


def _seed(workspace: Workspace) -> None:
    """Five events at known times (2026-01-01 .. 2026-01-05, noon UTC)."""
    rows = [
        ("ada", "user.login", "ada"),
        ("bo", "user.login", "bo"),
        ("ada", "token.create", "ada/1"),
        ("bo", "user_x.odd", "x"),  # the underscore must not act as a LIKE wildcard
        ("ada", "user.role", "bo"),
    ]
    with workspace.engine.begin() as connection:
        for day, (username, action, target) in enumerate(rows, start=1):
            connection.execute(
                audit_events.insert().values(
                    at=audit.parse_time(f"2026-01-0{day}T12:00"),
                    username=username,
                    action=action,
                    target=target,
                    detail=json.dumps({"day": day}),
                )
            )


def test_search_filters_and_pages_newest_first(workspace: Workspace) -> None:
    _seed(workspace)
    by_ada = audit.search(workspace, AuditFilter(username="ada"))
    assert [e.target for e in by_ada] == ["bo", "ada/1", "ada"]
    users = audit.search(workspace, AuditFilter(action_prefix="user."))
    assert [e.action for e in users] == ["user.role", "user.login", "user.login"]
    window = audit.parse_filter(since="2026-01-02", until="2026-01-03")
    assert [e.detail["day"] for e in audit.search(workspace, window)] == [3, 2]
    first = audit.search(workspace, limit=2)
    second = audit.search(workspace, limit=2, before_id=first[-1].id)
    third = audit.search(workspace, limit=2, before_id=second[-1].id)
    days = [e.detail["day"] for e in first + second + third]
    assert days == [5, 4, 3, 2, 1]


def test_bad_filters_are_refused() -> None:
    with pytest.raises(Invalid, match="ISO 8601"):
        audit.parse_filter(since="yesterday")
    with pytest.raises(Invalid, match="between 1 and 1000"):
        audit.parse_int("0", "limit", 100, audit.MAX_LIMIT)
    with pytest.raises(Invalid, match="whole number"):
        audit.parse_int("ten", "limit", 100, audit.MAX_LIMIT)
    assert audit.parse_filter(username=" ", action="") == AuditFilter()


def test_export_streams_jsonl_and_csv(workspace: Workspace) -> None:
    _seed(workspace)
    where = AuditFilter(username="bo")
    lines = list(audit.export(workspace, "jsonl", where))
    assert [json.loads(line)["action"] for line in lines] == ["user_x.odd", "user.login"]
    rows = list(csv.DictReader(io.StringIO("".join(audit.export(workspace, "csv")))))
    assert len(rows) == 5 and rows[0]["action"] == "user.role"
    assert rows[-1]["time"] == "2026-01-01T12:00:00.000+00:00"
    assert json.loads(rows[-1]["detail"]) == {"day": 1}
    with pytest.raises(Invalid, match="csv or jsonl"):
        audit.export(workspace, "xml")


def test_export_reads_past_one_chunk(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "_EXPORT_CHUNK", 2)
    _seed(workspace)
    assert len(list(audit.export(workspace, "jsonl"))) == 5


def test_the_database_refuses_to_change_or_delete_events(workspace: Workspace) -> None:
    audit.record(workspace, "ada", "user.login", "ada")
    for statement in (update(audit_events).values(action="nothing"), delete(audit_events)):
        with (
            pytest.raises(DBAPIError, match="append-only"),
            workspace.engine.begin() as connection,
        ):
            connection.execute(statement)
    if workspace.engine.dialect.name == "postgresql":
        with (
            pytest.raises(DBAPIError, match="append-only"),
            workspace.engine.begin() as connection,
        ):
            connection.execute(text("TRUNCATE audit_events"))
    assert [e.action for e in audit.recent(workspace)] == ["user.login"]


def test_alias_moves_are_audited_with_who_and_which_version(workspace: Workspace) -> None:
    from registry_models import log_small_model
    from seedbed.registry import models

    run = log_small_model(workspace)
    models.register_version(workspace, "churn", run.id, user="ada")
    models.register_version(workspace, "churn", run.id, user="ada")
    models.set_alias(workspace, "churn", "champion", 1, user="ada")
    models.set_alias(workspace, "churn", "champion", 2, user="bo")
    found = audit.search(workspace, AuditFilter(action_prefix="model.alias"))
    moves = [e for e in found if e.action == "model.alias"]
    assert [(e.username, e.target, e.detail["version"]) for e in moves] == [
        ("bo", "churn@champion", 2),
        ("ada", "churn@champion", 1),
    ]
