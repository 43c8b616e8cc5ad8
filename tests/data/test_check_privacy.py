"""Quality-check results quote data only to readers who may see it: messages hold no values,
and samples (and observed values) of restricted columns or versions are withheld from users
without the pii permission, over the API and on the dataset page."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from tests.auth_sessions import token_for
from tests.conftest import api_client

from seedbed.auth import audit
from seedbed.data import datasets
from seedbed.data.tables import quality_results
from seedbed.workspace import Workspace

# The last two rows repeat an address that also breaks the pattern of the others.
EMAILS = [f"user{i}@example.org" for i in range(28)] + ["ada.lovelace@example.com"] * 2
PLANS = ["basic"] * 29 + ["gold"]
CHECKS = [
    {"kind": "unique", "columns": ["email"]},
    {"kind": "regex", "column": "email", "pattern": r"user[0-9]+@example\.org"},
    {"kind": "custom_sql", "name": "odd", "sql": "SELECT * FROM data WHERE id >= 28"},
    {"kind": "custom_sql", "name": "quoting", "sql": "SELECT error(email) FROM data"},
    {"kind": "allowed_values", "column": "plan", "values": ["basic"]},
]


def publish(
    workspace: Workspace,
    tmp_path: Path,
    name: str,
    columns: dict[str, list[object]],
    **options: object,
) -> None:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.table(columns), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    datasets.publish_parquet(workspace, name, path, digest, "upload", **options)  # type: ignore[arg-type]


@pytest.fixture
def http(local_workspace: Workspace, tmp_path: Path) -> Iterator[TestClient]:
    """People whose email column is restricted by the PII scan; the admin client."""
    people = {"id": list(range(30)), "email": EMAILS, "plan": PLANS}
    publish(local_workspace, tmp_path, "people", people)
    with api_client(local_workspace) as client:
        yield client


def as_user(workspace: Workspace, name: str, role: str, pii: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(workspace, name, role, pii=pii)}"}


def assert_no_email(text: str) -> None:
    leaked = sorted({email for email in EMAILS if email in text})
    assert not leaked, f"emails leaked: {leaked}"


def by_name(results: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(result["name"]): result for result in results}


def test_an_editor_without_pii_reads_no_restricted_values(
    http: TestClient, local_workspace: Workspace
) -> None:
    editor = as_user(local_workspace, "eddie", "editor")
    # the admin (pii) defines them; the editor may keep them when saving the list again
    assert http.put("/api/v1/datasets/people/checks", json={"checks": CHECKS}).status_code == 200
    answer = http.put("/api/v1/datasets/people/checks", json={"checks": CHECKS}, headers=editor)
    assert answer.status_code == 200, answer.text
    assert [r["passed"] for r in answer.json()["results"]] == [False] * 5
    rerun = http.post("/api/v1/datasets/people/versions/1/checks/run", headers=editor)
    stored = http.get("/api/v1/datasets/people/versions/latest/checks", headers=editor)
    page = http.get("/ui/data/datasets/people", headers=editor)
    for response in (answer, rerun, stored, page):
        assert response.status_code == 200, response.text
        assert_no_email(response.text)
    results = by_name(stored.json())
    unique = results["unique(email)"]
    shared = "2 of 30 rows share their value of email with another row (1 repeated)"
    assert unique["message"] == shared
    assert (unique["sample"], unique["withheld"]) == ([], True)
    assert results["quoting"]["errored"] and "error" not in results["quoting"]["observed"]
    # Custom SQL may read any column, so its rows are withheld while any column is restricted.
    assert (results["odd"]["sample"], results["odd"]["withheld"]) == ([], True)
    # The plan column is not restricted: its sample stays, in the API and on the page.
    plan = results["allowed_values(plan)"]
    assert (plan["sample"], plan["withheld"]) == (["gold"], False)
    assert "e.g. gold" in page.text and "Examples withheld" in page.text

    # Someone with the pii permission sees the examples, and the read is audited.
    reader = as_user(local_workspace, "pia", "viewer", pii=True)
    seen = by_name(http.get("/api/v1/datasets/people/versions/1/checks", headers=reader).json())
    assert seen["unique(email)"]["sample"] == ["ada.lovelace@example.com"]
    assert seen["regex(email)"]["sample"] == ["ada.lovelace@example.com"]
    assert seen["quoting"]["observed"]["error"].endswith("user0@example.org")
    assert not seen["unique(email)"]["withheld"]
    reads = [e.detail for e in audit.recent(local_workspace, 50) if e.username == "pia"]
    assert {"purpose": "check results", "columns": ["email"], "whole": False} in reads
    assert "ada.lovelace@example.com" in http.get("/ui/data/datasets/people", headers=reader).text
    assert_no_email(json.dumps([result["message"] for result in seen.values()]))


def test_a_version_restricted_as_a_whole_keeps_every_value(
    http: TestClient, local_workspace: Workspace, tmp_path: Path
) -> None:
    publish(local_workspace, tmp_path, "plans", {"plan": PLANS}, parents=["people@1"])
    editor = as_user(local_workspace, "eddie", "editor")
    check = {"kind": "allowed_values", "column": "plan", "values": ["basic"]}
    refused = http.put("/api/v1/datasets/plans/checks", json={"checks": [check]}, headers=editor)
    assert refused.status_code == 403 and "pii permission" in refused.text
    assert http.put("/api/v1/datasets/plans/checks", json={"checks": [check]}).status_code == 200
    answer = http.post("/api/v1/datasets/plans/versions/1/checks/run", headers=editor)
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()
    assert (result["passed"], result["sample"], result["withheld"]) == (False, [], True)
    assert result["message"] == "1 of 30 rows have a value in plan that is not allowed"
    page = http.get("/ui/data/datasets/plans", headers=editor)
    assert page.status_code == 200 and "Examples withheld" in page.text
    assert "gold" not in page.text
    reader = as_user(local_workspace, "pia", "viewer", pii=True)
    (seen,) = http.get("/api/v1/datasets/plans/versions/1/checks", headers=reader).json()
    assert seen["sample"] == ["gold"]


def test_results_stored_before_values_left_messages_are_cleaned_on_read(
    http: TestClient, local_workspace: Workspace
) -> None:
    http.put("/api/v1/datasets/people/checks", json={"checks": CHECKS[:1]})
    (stored,) = http.get("/api/v1/datasets/people/versions/1/checks").json()
    old = {k: v for k, v in stored.items() if k not in ("columns", "withheld")}
    old["message"] += ", e.g. 'ada.lovelace@example.com'"  # the wording before the fix
    with local_workspace.engine.begin() as connection:
        connection.execute(quality_results.update().values(observed=json.dumps(old)))
    editor = as_user(local_workspace, "eddie", "editor")
    (legacy,) = http.get("/api/v1/datasets/people/versions/1/checks", headers=editor).json()
    assert legacy["message"] == "failed: 2 of 30 rows; run the checks again for the details"
    assert (legacy["sample"], legacy["withheld"]) == ([], True)
    assert_no_email(http.get("/ui/data/datasets/people", headers=editor).text)


def test_only_pii_users_add_or_change_checks_over_restricted_columns(
    http: TestClient, local_workspace: Workspace
) -> None:
    # a verdict tells about the values: many narrow regex checks would spell an address out
    editor = as_user(local_workspace, "eddie", "editor")
    probe = {"kind": "regex", "column": "email", "pattern": "a.*"}
    for checks in ([probe], [CHECKS[2]], [{"kind": "not_null", "column": "email"}]):
        refused = http.put(
            "/api/v1/datasets/people/checks", json={"checks": checks}, headers=editor
        )
        assert refused.status_code == 403, refused.text
        assert "needs the pii permission" in refused.json()["error"]["message"]
    assert http.get("/api/v1/datasets/people/checks").json()["checks"] == []
    # checks over the other columns are his to define, on the page too
    plan = {"kind": "allowed_values", "column": "plan", "values": ["basic", "gold"]}
    made = http.put("/api/v1/datasets/people/checks", json={"checks": [plan]}, headers=editor)
    assert made.status_code == 200 and made.json()["results"][0]["passed"]
    reader = as_user(local_workspace, "pia", "editor", pii=True)
    both = http.put(
        "/api/v1/datasets/people/checks", json={"checks": [plan, probe]}, headers=reader
    )
    assert both.status_code == 200, both.text
    # kept as the pii user left it, the probe stays; changed, it is refused
    kept = http.put(
        "/api/v1/datasets/people/checks", json={"checks": [plan, probe]}, headers=editor
    )
    assert kept.status_code == 200, kept.text
    changed = {**probe, "pattern": "b.*"}
    again = http.put(
        "/api/v1/datasets/people/checks", json={"checks": [plan, changed]}, headers=editor
    )
    assert again.status_code == 403


def test_a_check_by_a_user_without_pii_does_not_run_on_restricted_versions(
    http: TestClient, local_workspace: Workspace, tmp_path: Path
) -> None:
    # v2 has no email column, so nothing stops the editor defining a check over it...
    publish(local_workspace, tmp_path, "people", {"id": list(range(30)), "plan": PLANS})
    editor = as_user(local_workspace, "eddie", "editor")
    probe = {"kind": "regex", "column": "email", "pattern": "ada.*"}
    made = http.put("/api/v1/datasets/people/checks", json={"checks": [probe]}, headers=editor)
    assert made.status_code == 200, made.text
    # ...but run on v1, where email is restricted, it does not run: no verdict, no count
    (result,) = http.post("/api/v1/datasets/people/versions/1/checks/run", headers=editor).json()
    assert (result["passed"], result["errored"], result["failing_rows"]) == (False, True, None)
    assert result["message"].startswith("Not run: it reads email (personal data)")
    assert_no_email(json.dumps(result))
    # a user with pii saving the list beside it vouches for their own checks, not his
    pia = as_user(local_workspace, "pia", "editor", pii=True)
    plan = {"kind": "allowed_values", "column": "plan", "values": ["basic", "gold"]}
    both = http.put("/api/v1/datasets/people/checks", json={"checks": [probe, plan]}, headers=pia)
    assert both.status_code == 200, both.text
    ran = by_name(http.post("/api/v1/datasets/people/versions/1/checks/run", headers=pia).json())
    assert ran["regex(email)"]["errored"] and ran["regex(email)"]["failing_rows"] is None
    assert ran["allowed_values(plan)"]["passed"]
    # defined by her, it runs
    mine = {**probe, "pattern": "user.*"}
    saved = http.put("/api/v1/datasets/people/checks", json={"checks": [mine]}, headers=pia)
    assert saved.status_code == 200, saved.text
    (own,) = http.post("/api/v1/datasets/people/versions/1/checks/run", headers=pia).json()
    assert not own["errored"] and own["failing_rows"] == 2
    # once the editor is disabled he reads nothing, and his checks run like anyone's
    http.put("/api/v1/datasets/people/checks", json={"checks": [probe]}, headers=editor)
    from seedbed.auth import users

    users.update_user(local_workspace, "eddie", disabled=True)
    (his,) = http.post("/api/v1/datasets/people/versions/1/checks/run", headers=pia).json()
    assert not his["errored"] and his["failing_rows"] == 28


def test_a_row_count_check_needs_no_pii_on_a_wholly_restricted_version(
    http: TestClient, local_workspace: Workspace, tmp_path: Path
) -> None:
    publish(local_workspace, tmp_path, "plans", {"plan": PLANS}, parents=["people@1"])
    editor = as_user(local_workspace, "eddie", "editor")
    rows = {"kind": "row_count", "min": 1}
    made = http.put("/api/v1/datasets/plans/checks", json={"checks": [rows]}, headers=editor)
    assert made.status_code == 200, made.text
    (result,) = made.json()["results"]
    assert result["passed"] and not result["errored"]
