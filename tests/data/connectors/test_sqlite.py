"""The SQLite connector over real SQLite files in tmp_path."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from seedbed.data.connectors import SqliteConnector, TableRef, make_connector
from seedbed.errors import Conflict, Invalid, NotFound

SHOP_ROWS = 5_000


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.executescript(
            "create table customers (id integer primary key, name text not null, since date);"
            "insert into customers values (1, 'Ada', '2020-01-02'), (2, 'Grace', '2021-03-04');"
            "create table orders (id integer primary key, customer_id integer, total real);"
            "create view big_orders as select * from orders where total > 100;"
        )
        db.executemany(
            "insert into orders values (?, ?, ?)",
            [(i, 1 + i % 2, float(i % 250)) for i in range(1, SHOP_ROWS + 1)],
        )
        db.commit()
    return path


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    connection.execute(
        "create table regions as select * from (values (1, 'north'), (2, 'south')) t(id, region)"
    )
    yield connection
    connection.close()


def test_lists_tables_and_views(shop: Path) -> None:
    assert SqliteConnector(shop).list_tables() == [
        TableRef("main", "big_orders"),
        TableRef("main", "customers"),
        TableRef("main", "orders"),
    ]


def test_describes_columns(shop: Path) -> None:
    assert SqliteConnector(shop).describe("customers") == [
        ("id", "BIGINT"),
        ("name", "VARCHAR"),
        ("since", "DATE"),
    ]


def test_attached_tables_join_with_local_tables(
    shop: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    SqliteConnector(shop).attach(warehouse, "shop")

    rows = warehouse.sql(
        "select r.region, count(*) from shop.main.orders o "
        "join shop.main.customers c on c.id = o.customer_id "
        "join regions r on r.id = c.id group by r.region order by r.region"
    ).fetchall()

    assert rows == [("north", SHOP_ROWS // 2), ("south", SHOP_ROWS // 2)]


def test_the_file_is_opened_read_only(shop: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    before = shop.read_bytes()
    connector = SqliteConnector(shop)
    connector.attach(warehouse, "shop")

    with pytest.raises(duckdb.Error, match="read-only"):
        warehouse.execute("delete from shop.main.orders")
    connector.detach(warehouse, "shop")

    assert shop.read_bytes() == before


def test_attach_twice_is_a_conflict_and_detach_frees_the_name(
    shop: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    connector = SqliteConnector(shop)
    connector.attach(warehouse, "shop")
    with pytest.raises(Conflict):
        connector.attach(warehouse, "shop")

    connector.detach(warehouse, "shop")
    connector.attach(warehouse, "shop")

    assert warehouse.sql("select count(*) from shop.customers").fetchall() == [(2,)]


def test_read_streams_a_table(shop: Path) -> None:
    reader = SqliteConnector(shop).read(TableRef("main", "orders"), batch_size=1_000)

    batches = list(reader)

    assert len(batches) > 1
    assert sum(batch.num_rows for batch in batches) == SHOP_ROWS


def test_read_runs_a_query_with_unqualified_names(shop: Path) -> None:
    table = SqliteConnector(shop).read("select name from customers order by id").read_all()

    assert table.column("name").to_pylist() == ["Ada", "Grace"]


def test_reading_a_missing_table_is_not_found(shop: Path) -> None:
    with pytest.raises(NotFound, match=r"Tables: main\.big_orders, main\.customers"):
        SqliteConnector(shop).read(TableRef("main", "nope"))


def test_a_missing_file_is_named(tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    missing = tmp_path / "gone.sqlite"
    connector = SqliteConnector(missing)

    with pytest.raises(Invalid, match=f"No SQLite file at {missing}"):
        connector.test()
    with pytest.raises(Invalid, match="No SQLite file"):
        connector.attach(warehouse, "gone")

    assert not missing.exists()  # read-only: no empty database was created
    # The failed attach left nothing behind that would break the warehouse's catalog.
    assert warehouse.sql("select count(*) from duckdb_tables()").fetchall() == [(1,)]


def test_a_file_that_is_not_sqlite_is_refused(
    tmp_path: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    fake = tmp_path / "notes.sqlite"
    fake.write_text("not a database, just text " * 100)

    with pytest.raises(Invalid, match="is not a readable SQLite database: file is not a database"):
        SqliteConnector(fake).attach(warehouse, "notes")
    assert warehouse.sql("select count(*) from duckdb_tables()").fetchall() == [(1,)]


def test_a_folder_is_not_a_sqlite_file(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="is a folder, not a SQLite file"):
        SqliteConnector(tmp_path).test()


def test_relative_paths_are_refused() -> None:
    with pytest.raises(Invalid, match="absolute path"):
        SqliteConnector("data/shop.sqlite")


def test_make_connector_checks_sqlite_settings(shop: Path) -> None:
    assert make_connector("sqlite", {"path": str(shop)}, None).list_tables()
    with pytest.raises(Invalid, match="needs path"):
        make_connector("sqlite", {}, None)
    with pytest.raises(Invalid, match="takes no credential"):
        make_connector("sqlite", {"path": str(shop)}, "hunter2")
