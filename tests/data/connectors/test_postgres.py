"""The PostgreSQL connector against a real PostgreSQL server that asks for a password."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from seedbed.data.connectors import Connector, PostgresConnector, TableRef, make_connector
from seedbed.errors import Conflict, Invalid, NotFound

from .conftest import EVENT_ROWS, PASSWORD, READER, PgSource


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB database file with one local table, like the workspace warehouse."""
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    connection.execute(
        "create table targets as "
        "select * from (values (1, 'ship'), (2, 'hold')) t(person_id, action)"
    )
    yield connection
    connection.close()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


def test_lists_tables_and_views_of_every_user_schema(pg_source: PgSource) -> None:
    tables = pg_source.connector().list_tables()

    assert tables == [
        TableRef("public", "adults"),
        TableRef("public", "events"),
        TableRef("public", "people"),
        TableRef("sales", "orders"),
    ]


def test_test_passes_for_a_good_connection(pg_source: PgSource) -> None:
    pg_source.connector().test()


def test_describes_columns_with_their_types(pg_source: PgSource) -> None:
    connector = pg_source.connector()

    assert connector.describe("people") == [
        ("id", "INTEGER"),
        ("name", "VARCHAR"),
        ("born", "DATE"),
    ]
    assert connector.describe(TableRef("sales", "orders"))[2] == ("amount", "DECIMAL(10,2)")


def test_describing_a_missing_table_names_the_tables_there(pg_source: PgSource) -> None:
    with pytest.raises(NotFound, match=r"no table public\.nope\. Tables: public\.adults"):
        pg_source.connector().describe("nope")


def test_attached_tables_join_with_local_warehouse_tables(
    pg_source: PgSource, warehouse: duckdb.DuckDBPyConnection
) -> None:
    pg_source.connector().attach(warehouse, "crm")

    rows = warehouse.sql(
        "select p.name, t.action, sum(o.amount) as spent "
        "from crm.public.people p "
        "join targets t on t.person_id = p.id "
        "join crm.sales.orders o on o.person_id = p.id "
        "group by all order by p.name"
    ).fetchall()

    assert rows == [("Ada", "ship", Decimal("9.50")), ("Grace", "hold", Decimal("4.25"))]
    # A cursor of the same database sees the attached source too (the warehouse uses cursors).
    assert warehouse.cursor().sql("select count(*) from crm.public.adults").fetchall() == [(2,)]


def test_attached_source_is_read_only(
    pg_source: PgSource, warehouse: duckdb.DuckDBPyConnection
) -> None:
    pg_source.connector().attach(warehouse, "crm")

    with pytest.raises(duckdb.Error, match="read-only"):
        warehouse.execute("insert into crm.public.people values (9, 'Mallory', null)")


def test_detach_removes_the_tables_and_the_stored_credential(
    pg_source: PgSource, warehouse: duckdb.DuckDBPyConnection
) -> None:
    connector = pg_source.connector()
    connector.attach(warehouse, "crm")
    assert warehouse.sql("select count(*) from duckdb_secrets()").fetchall() == [(1,)]

    connector.detach(warehouse, "crm")

    with pytest.raises(duckdb.BinderException, match='Catalog "crm" does not exist'):
        warehouse.sql("select * from crm.public.people").fetchall()
    assert warehouse.sql("select count(*) from duckdb_secrets()").fetchall() == [(0,)]


def test_attach_refuses_a_name_already_in_use(
    pg_source: PgSource, warehouse: duckdb.DuckDBPyConnection
) -> None:
    connector = pg_source.connector()
    connector.attach(warehouse, "crm")

    with pytest.raises(Conflict, match="'crm' is already attached"):
        connector.attach(warehouse, "crm")
    with pytest.raises(Invalid, match="cannot name an attached source"):
        connector.attach(warehouse, "bad name;")


def test_the_password_is_redacted_in_the_attached_database(
    pg_source: PgSource, warehouse: duckdb.DuckDBPyConnection
) -> None:
    pg_source.connector().attach(warehouse, "crm")

    secrets = warehouse.sql("select * from duckdb_secrets()").fetchall()
    databases = warehouse.sql("select * from duckdb_databases()").fetchall()

    assert "password=redacted" in repr(secrets)
    assert PASSWORD not in repr(secrets) + repr(databases)


def test_read_streams_a_table_in_batches(pg_source: PgSource) -> None:
    reader = pg_source.connector().read(TableRef("public", "events"), batch_size=1_000)

    batches = list(reader)

    assert len(batches) >= EVENT_ROWS // 1_000  # many batches, not one materialised table
    assert max(batch.num_rows for batch in batches) <= 1_000
    assert sum(batch.num_rows for batch in batches) == EVENT_ROWS
    assert reader.schema.names == ["id", "kind"]


def test_read_runs_one_select_query(pg_source: PgSource) -> None:
    table = (
        pg_source.connector()
        .read("select kind, count(*) as n from events where kind < 2 group by kind order by kind")
        .read_all()
    )

    assert table.to_pylist() == [{"kind": 0, "n": 1428}, {"kind": 1, "n": 1429}]


def test_read_refuses_anything_but_one_select(pg_source: PgSource) -> None:
    connector = pg_source.connector()

    with pytest.raises(Invalid, match="exactly one SELECT"):
        connector.read("delete from people")
    with pytest.raises(Invalid, match="exactly one SELECT"):
        connector.read("select 1; select 2")


def test_reading_a_missing_table_is_not_found(pg_source: PgSource) -> None:
    with pytest.raises(NotFound, match=r"no table public\.ghosts"):
        pg_source.connector().read(TableRef("public", "ghosts"))


def failing_connectors(pg_source: PgSource) -> dict[str, tuple[PostgresConnector, str]]:
    return {
        "wrong password": (
            pg_source.connector(password="wrong-" + PASSWORD),
            f"rejected the password for user '{READER}'",
        ),
        "no password": (
            pg_source.connector(password=None),
            f"rejected the password for user '{READER}'",
        ),
        "unreachable port": (
            pg_source.connector(port=closed_port()),
            "refused the connection: is PostgreSQL running there, and is the port right",
        ),
        "missing database": (
            pg_source.connector(database="no_such_db"),
            "has no database 'no_such_db'",
        ),
        "unknown user": (
            pg_source.connector(user="nobody_here"),
            "has no user 'nobody_here'",
        ),
    }


@pytest.mark.parametrize(
    "case",
    ["wrong password", "no password", "unreachable port", "missing database", "unknown user"],
)
def test_a_bad_connection_says_what_is_wrong_and_never_shows_the_password(
    pg_source: PgSource,
    warehouse: duckdb.DuckDBPyConnection,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    connector, expected = failing_connectors(pg_source)[case]
    calls: list[tuple[str, object]] = [
        ("test", connector.test),
        ("list_tables", connector.list_tables),
        ("describe", lambda: connector.describe("people")),
        ("read", lambda: connector.read("select 1")),
        ("attach", lambda: connector.attach(warehouse, "crm")),
    ]

    for name, call in calls:
        with pytest.raises(Invalid) as caught:
            call()  # type: ignore[operator]
        message = str(caught.value)
        assert expected in message, name
        assert f"127.0.0.1:{connector.port}" in message
        for secret in (PASSWORD, "wrong-" + PASSWORD):
            assert secret not in message
            assert secret not in repr(caught.value.__cause__)
            assert secret not in repr(caught.value.__context__)
    assert PASSWORD not in caplog.text
    # A failed attach leaves neither a broken database nor the credential behind.
    assert warehouse.sql(
        "select count(*) from duckdb_databases() where database_name = 'crm'"
    ).fetchall() == [(0,)]
    assert warehouse.sql("select count(*) from duckdb_secrets()").fetchall() == [(0,)]


def test_repr_masks_the_password(pg_source: PgSource) -> None:
    connector = pg_source.connector()

    assert PASSWORD not in repr(connector)
    assert "password='***'" in repr(connector)
    assert PASSWORD not in repr(vars(connector).keys())


def test_make_connector_builds_a_working_postgres_connector(pg_source: PgSource) -> None:
    config = {
        "host": "127.0.0.1",
        "port": str(pg_source.server.port),
        "database": pg_source.database,
        "user": READER,
    }

    connector: Connector = make_connector("postgres", config, PASSWORD)

    assert isinstance(connector, PostgresConnector)
    assert TableRef("sales", "orders") in connector.list_tables()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"database": "d", "user": "u"}, "needs host"),
        ({"host": "h", "database": "d", "user": "u", "port": 70000}, "port must be a number"),
        ({"host": "h", "database": "d", "user": "u", "port": "x"}, "port must be a number"),
        ({"host": "h", "database": "d", "user": "u", "password": "p"}, "as the connector's secret"),
        (
            {"host": "h", "database": "d", "user": "u", "colour": "red"},
            "Unknown postgres connector",
        ),
        ({"host": "h", "database": "d", "user": "u", "sslmode": "maybe"}, "sslmode must be one"),
        ({"host": " ", "database": "d", "user": "u"}, "host must be non-empty text"),
    ],
)
def test_make_connector_names_each_bad_setting(config: dict[str, object], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        make_connector("postgres", config, "secret")


def test_make_connector_refuses_an_unknown_kind() -> None:
    with pytest.raises(Invalid, match="use one of postgres, sqlite, files"):
        make_connector("oracle", {}, None)


def test_sslmode_reaches_the_server(pg_source: PgSource) -> None:
    connector = PostgresConnector(
        host="127.0.0.1",
        port=pg_source.server.port,
        database=pg_source.database,
        user=READER,
        password=PASSWORD,
        sslmode="require",
    )

    with pytest.raises(Invalid, match="does not support SSL, but sslmode 'require' requires it"):
        connector.test()
