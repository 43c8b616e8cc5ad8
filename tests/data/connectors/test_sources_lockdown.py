"""Registered sources stay queryable for non-admins, whose SQL runs in a locked sandbox."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from seedbed.auth import tokens, users
from seedbed.web.app import create_app
from seedbed.workspace import Workspace

from .conftest import PgSource
from .test_sources_service import register_pg


@pytest.fixture
def viewer(local_workspace: Workspace) -> Iterator[TestClient]:
    user = users.create_user(local_workspace, "vic", role="viewer")
    token = tokens.create_token(local_workspace, user, "test")
    with TestClient(
        create_app(local_workspace),
        base_url="http://127.0.0.1",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        yield http


def rows(http: TestClient, query: str) -> list[list[object]]:
    answer = http.post("/api/v1/sql", json={"query": query, "format": "json"})
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]  # type: ignore[no-any-return]


def test_viewer_queries_a_postgres_source(
    client: TestClient, viewer: TestClient, pg_source: PgSource
) -> None:
    assert register_pg(client, pg_source)["status"] == 201
    client.post("/api/v1/sql", json={"query": "create table bonus as select 2 as person_id"})
    found = rows(
        viewer,
        "select count(*) from crm.public.people p join bonus b on b.person_id = p.id "
        "where p.id = 2",
    )
    assert found == [[1]]
    # The source is attached read-only, and the sandbox is locked as for any other query.
    answer = viewer.post("/api/v1/sql", json={"query": "detach crm"})
    assert answer.status_code == 403


def test_viewer_queries_sqlite_and_folder_sources(
    client: TestClient, viewer: TestClient, tmp_path: Path
) -> None:
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as connection:
        connection.execute("create table items (id integer, price real)")
        connection.execute("insert into items values (1, 2.5), (2, 4.0)")
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "rates.csv").write_text("currency,rate\nEUR,1.1\nGBP,1.3\n")
    (tmp_path / "beside.csv").write_text("secret\nnext-door\n")
    for name, kind, path in (("shop", "sqlite", database), ("drop", "files", folder)):
        made = client.post(
            "/api/v1/sources", json={"name": name, "kind": kind, "config": {"path": str(path)}}
        )
        assert made.status_code == 201, made.text
    total = rows(
        viewer,
        "select round(sum(i.price * r.rate), 2) from shop.main.items i, drop.main.rates r "
        "where r.currency = 'EUR'",
    )
    assert total == [[7.15]]
    # Registering a folder does not open the files beside it (or below it) to SQL.
    answer = viewer.post(
        "/api/v1/sql",
        json={"query": f"select * from read_csv('{folder}/../beside.csv')", "format": "json"},
    )
    assert answer.status_code == 403 and "next-door" not in answer.text
