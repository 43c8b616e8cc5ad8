"""Registered sources through the real app: a real PostgreSQL, a SQLite file, a folder."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from seedbed.data.tables import connectors as sources_table
from seedbed.workspace import Workspace

from .conftest import PASSWORD, PgSource


def register_pg(client: TestClient, pg_source: PgSource, password: str = PASSWORD) -> dict:  # type: ignore[type-arg]
    answer = client.post(
        "/api/v1/sources",
        json={
            "name": "crm",
            "kind": "postgres",
            "secret": password,
            "config": {
                "host": "127.0.0.1",
                "port": pg_source.server.port,
                "database": pg_source.database,
                "user": "connector_reader",
            },
        },
    )
    return {"status": answer.status_code, **answer.json()}


def test_register_browse_query_and_snapshot_postgres(
    client: TestClient, local_workspace: Workspace, pg_source: PgSource
) -> None:
    made = register_pg(client, pg_source)
    assert made["status"] == 201 and made["has_secret"] and "secret" not in made["config"]
    listed = client.get("/api/v1/sources").json()
    assert PASSWORD not in str(listed)
    tables = {
        (t["schema_name"], t["name"]) for t in client.get("/api/v1/sources/crm/tables").json()
    }
    assert {("public", "people"), ("sales", "orders")} <= tables
    columns = client.get("/api/v1/sources/crm/tables/sales.orders").json()
    assert [c["name"] for c in columns] == ["id", "person_id", "amount"]

    # Query through the warehouse, joined with a warehouse table.
    client.post(
        "/api/v1/sql", json={"query": "create table bonus as select 2 as person_id, 100 as points"}
    )
    answer = client.post(
        "/api/v1/sql",
        json={
            "format": "json",
            "query": (
                "select p.name, sum(o.amount) as spent, max(b.points) as points "
                "from crm.public.people p join crm.sales.orders o on o.person_id = p.id "
                "left join bonus b on b.person_id = p.id group by p.name order by p.name"
            ),
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [
        ["Ada", "9.50", None],
        ["Grace", "4.25", 100],
    ]  # exact decimals
    # Between queries the source is not attached: warehouse listings stay clean.
    assert [t["name"] for t in client.get("/api/v1/tables").json()] == ["bonus"]

    snap = client.post(
        "/api/v1/sources/crm/snapshot", json={"dataset": "people", "table": "people"}
    )
    assert snap.status_code == 201 and snap.json()["version"]["rows"] == 3
    assert snap.json()["version"]["source"] == "connector"
    again = client.post(
        "/api/v1/sources/crm/snapshot", json={"dataset": "people", "table": "people"}
    )
    assert not again.json()["created"]  # same rows: no new version
    by_query = client.post(
        "/api/v1/sources/crm/snapshot",
        json={"dataset": "big-orders", "query": "select * from sales.orders where amount > 2"},
    )
    assert by_query.json()["version"]["rows"] == 2

    with local_workspace.engine.connect() as connection:
        stored = connection.execute(sources_table.select()).mappings().one()
    assert PASSWORD not in stored["secret"] and PASSWORD not in stored["config"]


def test_wrong_password_and_unreachable_sources_are_refused(
    client: TestClient, pg_source: PgSource
) -> None:
    wrong = register_pg(client, pg_source, password="not-it")
    assert wrong["status"] == 400 and "password" in wrong["error"]["message"].lower()
    assert "not-it" not in str(wrong)
    closed = client.post(
        "/api/v1/sources",
        json={
            "name": "gone",
            "kind": "postgres",
            "secret": "x",
            "config": {"host": "127.0.0.1", "port": 9, "database": "d", "user": "u"},
        },
    )
    assert closed.status_code == 400
    assert client.get("/api/v1/sources").json() == []  # nothing half-registered


def test_sqlite_and_files_sources(client: TestClient, tmp_path: Path) -> None:
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as connection:
        connection.execute("create table items (id integer, price real)")
        connection.execute("insert into items values (1, 2.5), (2, 4.0)")
    made = client.post(
        "/api/v1/sources",
        json={"name": "shop", "kind": "sqlite", "config": {"path": str(database)}},
    )
    assert made.status_code == 201, made.text
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "rates.csv").write_text("currency,rate\nEUR,1.1\nGBP,1.3\n")
    assert (
        client.post(
            "/api/v1/sources",
            json={"name": "drop", "kind": "files", "config": {"path": str(folder)}},
        ).status_code
        == 201
    )
    answer = client.post(
        "/api/v1/sql",
        json={
            "format": "json",
            "query": (
                "select sum(i.price * r.rate) from shop.main.items i, drop.main.rates r "
                "where r.currency = 'EUR'"
            ),
        },
    )
    assert answer.status_code == 200, answer.text
    assert round(answer.json()["rows"][0][0], 2) == 7.15
    missing = client.post(
        "/api/v1/sources",
        json={"name": "nope", "kind": "sqlite", "config": {"path": str(tmp_path / "missing.db")}},
    )
    assert missing.status_code == 400
    duplicate = client.post(
        "/api/v1/sources",
        json={"name": "shop", "kind": "sqlite", "config": {"path": str(database)}},
    )
    assert duplicate.status_code == 409


def test_query_results_become_datasets(client: TestClient) -> None:
    client.post("/api/v1/sql", json={"query": "create table t as select range as x from range(5)"})
    made = client.post(
        "/api/v1/datasets/evens/from-query", json={"query": "select x from t where x % 2 = 0"}
    )
    assert made.status_code == 201 and made.json()["version"]["rows"] == 3
    assert made.json()["version"]["source"] == "query"
    bad = client.post("/api/v1/datasets/evens/from-query", json={"query": "select * from nope"})
    assert bad.status_code == 400


def test_sources_need_admins_to_register(local_workspace: Workspace, tmp_path: Path) -> None:
    from seedbed.auth import tokens, users
    from seedbed.web.app import create_app

    editor = users.create_user(local_workspace, "ed", role="editor")
    token = tokens.create_token(local_workspace, editor, "t")
    with TestClient(
        create_app(local_workspace),
        base_url="http://127.0.0.1",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        refused = http.post(
            "/api/v1/sources",
            json={"name": "x", "kind": "files", "config": {"path": str(tmp_path)}},
        )
        assert refused.status_code == 403
