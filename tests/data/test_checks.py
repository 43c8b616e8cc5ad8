from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from seedbed.data import checks, datasets
from seedbed.errors import Invalid
from seedbed.workspace import Workspace


def publish(workspace: Workspace, tmp_path: Path, frame: pd.DataFrame, digest: str) -> int:
    path = tmp_path / f"{digest}.parquet"
    frame.to_parquet(path, index=False)
    return datasets.publish_parquet(workspace, "d", path, digest, "upload")[0].version


def test_checks_run_on_every_new_version(workspace: Workspace, tmp_path: Path) -> None:
    publish(workspace, tmp_path, pd.DataFrame({"age": [30, None]}), "v1")
    results = checks.set_checks(workspace, "d", [{"kind": "not_null", "column": "age"}], "ada")
    assert [r.passed for r in results] == [False]
    assert datasets.get_version(workspace, "d", 1).quality == "failed"
    publish(workspace, tmp_path, pd.DataFrame({"age": [30, 40]}), "v2")
    assert datasets.get_version(workspace, "d", 2).quality == "passed"
    assert [r.passed for r in checks.results_for(workspace, "d", 2)] == [True]
    assert [c.name for c in checks.get_checks(workspace, "d")] == ["not_null(age)"]


def test_warnings_do_not_fail_a_version(workspace: Workspace, tmp_path: Path) -> None:
    publish(workspace, tmp_path, pd.DataFrame({"age": [30, 200]}), "v1")
    checks.set_checks(
        workspace, "d", [{"kind": "range", "column": "age", "max": 120, "severity": "warning"}]
    )
    assert datasets.get_version(workspace, "d", 1).quality == "warning"


def test_bad_checks_change_nothing(workspace: Workspace, tmp_path: Path) -> None:
    publish(workspace, tmp_path, pd.DataFrame({"age": [1]}), "v1")
    checks.set_checks(workspace, "d", [{"kind": "not_null", "column": "age"}])
    with pytest.raises(Invalid, match="unknown kind"):
        checks.set_checks(workspace, "d", [{"kind": "sometimes"}])
    assert len(checks.get_checks(workspace, "d")) == 1


def test_checks_over_the_api_and_the_page(client: TestClient) -> None:
    staged = client.post(
        "/api/v1/uploads", params={"filename": "d.csv"}, content=b"id,origin\n1,JFK\n1,XXX\n"
    ).json()
    client.post(f"/api/v1/uploads/{staged['id']}/publish", json={"name": "d"})
    yaml_text = (
        "checks:\n  - kind: unique\n    columns: [id]\n"
        "  - kind: allowed_values\n    column: origin\n    values: [JFK, LGA]\n"
    )
    answer = client.put("/api/v1/datasets/d/checks", json={"yaml": yaml_text})
    assert answer.status_code == 200
    assert [r["passed"] for r in answer.json()["results"]] == [False, False]
    assert "kind: unique" in client.get("/api/v1/datasets/d/checks").json()["yaml"]
    page = client.get("/ui/data/datasets/d")
    assert "quality: failed" in page.text and "unique(id)" in page.text
    both = client.put("/api/v1/datasets/d/checks", json={"yaml": "checks: []", "checks": []})
    assert both.status_code == 400
    rerun = client.post("/api/v1/datasets/d/versions/1/checks/run").json()
    assert len(rerun) == 2
