"""A real PostgreSQL source: tables in two schemas, and a role that must give its password.

The session server (tests/conftest.py) trusts every local connection, which would make a
wrong password impossible to test; so pg_hba.conf gets one scram-sha-256 line for our role
alone, ahead of the trust lines, and the server reloads it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql

from postgres_server import PostgresServer
from seedbed.data.connectors import PostgresConnector

READER = "connector_reader"
# A quote and a space: the password must survive any quoting on its way to libpq.
PASSWORD = "s3cr'et pass-4-connector"
EVENT_ROWS = 10_000


@dataclass(frozen=True)
class PgSource:
    server: PostgresServer
    database: str

    def connector(
        self,
        *,
        port: int | None = None,
        database: str | None = None,
        user: str = READER,
        password: str | None = PASSWORD,
    ) -> PostgresConnector:
        return PostgresConnector(
            host="127.0.0.1",
            port=port or self.server.port,
            database=database or self.database,
            user=user,
            password=password,
        )


def _superuser(server: PostgresServer, database: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host="127.0.0.1", port=server.port, user="postgres", dbname=database, autocommit=True
    )


def _require_password(server: PostgresServer, role: str) -> None:
    hba = server.data_dir / "pg_hba.conf"
    rule = f"host all {role} 127.0.0.1/32 scram-sha-256\n"
    text = hba.read_text()
    if rule not in text:
        hba.write_text(rule + text)  # rewritten in place: owner and mode stay the postgres user's
    with _superuser(server, "postgres") as conn:
        conn.execute("select pg_reload_conf()")
    deadline = time.monotonic() + 10
    while True:  # the reload is asynchronous: wait until a wrong password is refused
        try:
            psycopg.connect(
                host="127.0.0.1",
                port=server.port,
                user=role,
                password="not-the-password",
                dbname="postgres",
            ).close()
        except psycopg.OperationalError as exc:
            if "password authentication failed" in str(exc):
                return
            raise
        if time.monotonic() > deadline:
            raise RuntimeError("PostgreSQL did not start asking for passwords after a reload")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def pg_source(postgres: PostgresServer) -> Iterator[PgSource]:
    """A database with public.people, public.adults (a view), public.events and sales.orders."""
    database = f"source_{uuid.uuid4().hex[:10]}"
    postgres.create_database(database)
    with _superuser(postgres, database) as conn:
        conn.execute(
            sql.SQL("create role {} login password {}").format(
                sql.Identifier(READER), sql.Literal(PASSWORD)
            )
        )
        conn.execute(
            "create table people (id integer primary key, name text not null, born date);"
            "insert into people values (1, 'Ada', '1815-12-10'), (2, 'Grace', '1906-12-09'),"
            " (3, 'Edsger', null);"
            "create view adults as select id, name from people where born is not null;"
            "create schema sales;"
            "create table sales.orders (id integer, person_id integer, amount numeric(10, 2));"
            "insert into sales.orders values (1, 1, 9.50), (2, 2, 3.25), (3, 2, 1.00);"
            "create table events as select g as id, g % 7 as kind"
            f" from generate_series(1, {EVENT_ROWS}) g;"
        )
        conn.execute(
            sql.SQL(
                "grant usage on schema sales to {role};"
                "grant select on all tables in schema public, sales to {role}"
            ).format(role=sql.Identifier(READER))
        )
    _require_password(postgres, READER)
    yield PgSource(postgres, database)
