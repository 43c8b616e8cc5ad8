"""PII scans stored per dataset version: made at ingest, shown by the columns API, and a
failed re-scan never losing the earlier one (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from seedbed import db
from seedbed.data import datasets
from seedbed.errors import Invalid
from seedbed.privacy import scans
from seedbed.privacy.tables import pii_columns
from seedbed.workspace import Workspace

EMAILS = [f"user{i}@example.org" for i in range(50)]


def publish(workspace: Workspace, tmp_path: Path, name: str = "people") -> int:
    table = pa.table({"id": list(range(50)), "email": EMAILS, "score": [i / 2 for i in range(50)]})
    path = tmp_path / f"{name}.parquet"
    pq.write_table(table, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    version, created = datasets.publish_parquet(workspace, name, path, digest, "upload")
    assert created
    return version.version


def test_publish_scans_the_new_version(workspace: Workspace, tmp_path: Path) -> None:
    number = publish(workspace, tmp_path)
    found = scans.get_scan(workspace, datasets.get_version(workspace, "people", number))
    assert found.status == "scanned" and found.sampled_rows == 50
    assert set(found.columns) == {"email"}
    email = found.column("email")
    assert email is not None and email["type"] == "email"
    assert (email["matched"], email["sampled"]) == (50, 50) and email["confidence"] >= 0.9
    assert email["basis"] == ["content", "name"]
    assert found.column("id") is None


def test_a_failed_rescan_keeps_the_earlier_scan(workspace: Workspace, tmp_path: Path) -> None:
    number = publish(workspace, tmp_path)
    version = datasets.get_version(workspace, "people", number)
    stored = workspace.artifacts.local_path(version.path)
    assert stored is not None
    good = stored.read_bytes()
    stored.write_bytes(b"not parquet any more")  # the store lost the file's content
    with pytest.raises(Invalid, match="earlier scan is kept"):
        scans.scan_version(workspace, "people", number)
    # losing the scan would unrestrict the e-mail column: it stays as it was
    kept = scans.get_scan(workspace, datasets.get_version(workspace, "people", number))
    assert kept.status == "scanned" and kept.actions == {"email": "restrict"}
    with workspace.engine.connect() as connection:
        assert len(connection.execute(select(pii_columns)).all()) == 1
    stored.write_bytes(good)
    again = scans.scan_version(workspace, "people", number)
    assert again.status == "scanned" and set(again.columns) == {"email"}
    assert again.actions == {"email": "restrict"}


def test_migration_adds_and_removes_the_scan_tables(workspace: Workspace) -> None:
    assert {"pii_scans", "pii_columns"} <= set(inspect(workspace.engine).get_table_names())
    db.downgrade(workspace.engine, "0004")
    assert not {"pii_scans", "pii_columns"} & set(inspect(workspace.engine).get_table_names())
    db.upgrade(workspace.engine)
    assert db.current_revision(workspace.engine) == db.head_revision()
    assert {"pii_scans", "pii_columns"} <= set(inspect(workspace.engine).get_table_names())


def test_uploaded_csv_gets_pii_in_the_columns_api(client: TestClient) -> None:
    body = "customer,email,amount\n" + "".join(
        f"c{i},{address},{i * 1.5}\n" for i, address in enumerate(EMAILS)
    )
    staged = client.post("/api/v1/uploads", params={"filename": "c.csv"}, content=body.encode())
    assert staged.status_code == 201, staged.text
    published = client.post(f"/api/v1/uploads/{staged.json()['id']}/publish", json={"name": "c"})
    assert published.status_code == 201, published.text
    answer = client.get("/api/v1/datasets/c/versions/latest/columns")
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    by_name = {c["name"]: c for c in summary["columns"]}
    assert by_name["email"]["pii"]["type"] == "email"
    assert by_name["email"]["pii"]["matched"] == 50
    assert by_name["customer"]["pii"] is None and by_name["amount"]["pii"] is None
    assert summary["pii_scan"]["status"] == "scanned"
    assert summary["pii_scan"]["flagged"] == ["email"]
    stored = client.get("/api/v1/datasets/c/versions/1/pii")
    assert stored.status_code == 200, stored.text
    assert stored.json()["status"] == "scanned" and stored.json()["flagged"] == ["email"]
    assert stored.json()["columns"]["email"]["type"] == "email"
    assert client.get("/api/v1/datasets/c/versions/9/pii").status_code == 404
    rescanned = client.post("/api/v1/datasets/c/versions/1/pii/scan")
    assert rescanned.status_code == 200 and set(rescanned.json()["columns"]) == {"email"}
    page = client.get("/ui/data/datasets/c")
    assert page.status_code == 200 and "email · " in page.text
