"""/api/v1/audit, its export and /ui/admin/audit: admins only, filters in the query string."""

from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient

from auth_sessions import token_for
from seedbed.auth import audit
from seedbed.workspace import Workspace


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _events(workspace: Workspace) -> None:
    audit.record(workspace, "ada", "user.login", "ada")
    audit.record(workspace, "bo", "token.create", "bo/1", name="laptop")
    audit.record(workspace, "ada", "run.create", "<script>alert(1)</script>", note="<b>x</b>")


def test_admins_search_and_page_the_log(local_workspace: Workspace, client: TestClient) -> None:
    _events(local_workspace)
    page = client.get("/api/v1/audit", params={"limit": 2}).json()
    assert [e["action"] for e in page["events"]] == ["run.create", "token.create"]
    mine = {"user": "ada", "limit": 1}
    first = client.get("/api/v1/audit", params=mine).json()
    older = client.get("/api/v1/audit", params=mine | {"before_id": first["next_before_id"]})
    assert [e["action"] for e in first["events"] + older.json()["events"]] == [
        "run.create",
        "user.login",
    ]
    last = client.get("/api/v1/audit", params=mine | {"before_id": older.json()["next_before_id"]})
    assert last.json() == {"events": [], "next_before_id": None}
    ada = client.get("/api/v1/audit", params={"user": "ada", "action": "user."}).json()
    assert [(e["username"], e["target"]) for e in ada["events"]] == [("ada", "ada")]
    future = client.get("/api/v1/audit", params={"since": "2100-01-01"}).json()
    assert future["events"] == []


def test_bad_filters_get_400(client: TestClient) -> None:
    for params, message in (
        ({"since": "last week"}, "ISO 8601"),
        ({"limit": "5000"}, "between 1 and 1000"),
        ({"before_id": "x"}, "whole number"),
    ):
        answer = client.get("/api/v1/audit", params=params)
        assert answer.status_code == 400, params
        assert message in answer.json()["error"]["message"]
    bad_format = client.get("/api/v1/audit/export", params={"format": "xml"})
    assert bad_format.status_code == 400 and "csv or jsonl" in bad_format.text
    page = client.get("/ui/admin/audit", params={"until": "soon"})
    assert page.status_code == 400 and "ISO 8601" in page.text


def test_exports_stream_as_attachments(local_workspace: Workspace, client: TestClient) -> None:
    _events(local_workspace)
    as_csv = client.get("/api/v1/audit/export", params={"format": "csv", "user": "bo"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["content-disposition"] == 'attachment; filename="seedbed-audit.csv"'
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["action"], json.loads(r["detail"])) for r in rows] == [
        ("token.create", {"name": "laptop"})
    ]
    as_jsonl = client.get("/api/v1/audit/export", params={"format": "jsonl", "action": "run."})
    assert as_jsonl.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line)["action"] for line in as_jsonl.text.splitlines()] == ["run.create"]
    # Each export is audited, with its filters; a refused one is not.
    client.get("/api/v1/audit/export", params={"format": "xml"})
    exports = audit.search(local_workspace, audit.AuditFilter(action_prefix="audit."))
    assert [(e.username, e.target, e.detail) for e in exports] == [
        ("admin", "jsonl", {"action_prefix": "run."}),
        ("admin", "csv", {"user": "bo"}),
    ]


def test_the_admin_page_escapes_events(local_workspace: Workspace, client: TestClient) -> None:
    _events(local_workspace)
    page = client.get("/ui/admin/audit", params={"user": "ada"})
    assert page.status_code == 200
    assert "run.create" in page.text and "token.create" not in page.text
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    assert "<b>x</b>" not in page.text
    assert "/api/v1/audit/export?format=csv&amp;user=ada" in page.text
    assert 'href="/ui/admin/audit" aria-current="page"' in page.text
    paged = client.get("/ui/admin/audit", params={"limit": 1, "user": "ada"})
    assert "before_id=" in paged.text and "Older events" in paged.text


def test_viewers_and_editors_get_403(local_workspace: Workspace, client: TestClient) -> None:
    _events(local_workspace)
    for name, role in (("vic", "viewer"), ("ed", "editor")):
        token = token_for(local_workspace, name, role)
        for path in ("/api/v1/audit", "/api/v1/audit/export", "/ui/admin/audit"):
            assert client.get(path, headers=bearer(token)).status_code == 403, (role, path)
