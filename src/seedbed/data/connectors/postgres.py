"""A PostgreSQL database, read through DuckDB's postgres scanner (filters, columns pushed down)."""

from __future__ import annotations

import re
from typing import ClassVar

import duckdb

from seedbed.data.connectors.base import Connector, quote_identifier, quote_literal
from seedbed.data.connectors.extensions import load_extension
from seedbed.errors import Invalid

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
DEFAULT_PORT = 5432
DEFAULT_CONNECT_TIMEOUT_S = 10

# libpq's own wording, matched to say in plain words what went wrong.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), reason)
    for pattern, reason in (
        (
            r"password authentication failed|no password supplied",
            "rejected the password for user {user!r}: check the user name and password",
        ),
        (r'role "[^"]*" does not exist', "has no user {user!r}: check the user name"),
        (r'database "[^"]*" does not exist', "has no database {database!r}: check its name"),
        (
            r"connection refused",
            "refused the connection: is PostgreSQL running there, and is the port right?",
        ),
        (
            r"could not translate host name|name or service not known|nodename nor servname",
            "cannot be found: the host name {host!r} does not resolve",
        ),
        (
            r"timeout expired|timed out",
            "did not answer within {timeout} s: check the host, port and firewall",
        ),
        (
            r"no pg_hba\.conf entry",
            "does not accept connections from this machine for user {user!r} "
            "(pg_hba.conf): ask its administrator",
        ),
        (
            r"server does not support SSL",
            "does not support SSL, but sslmode {sslmode!r} requires it: change sslmode",
        ),
        (r"permission denied", "refused access for user {user!r}: grant it SELECT"),
    )
)


class PostgresConnector(Connector):
    """Tables and views of one PostgreSQL database, attached read-only."""

    kind: ClassVar[str] = "postgres"
    default_schema: ClassVar[str] = "public"

    def __init__(
        self,
        host: str,
        database: str,
        user: str,
        password: str | None = None,
        port: int = DEFAULT_PORT,
        sslmode: str | None = None,
        connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        if sslmode is not None and sslmode not in SSL_MODES:
            raise Invalid(f"sslmode must be one of {', '.join(SSL_MODES)}, not {sslmode!r}.")
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.sslmode = sslmode
        self.connect_timeout_s = connect_timeout_s
        self._password = password

    def __repr__(self) -> str:
        password = "'***'" if self._password else "None"
        return (
            f"PostgresConnector(host={self.host!r}, port={self.port}, database={self.database!r}, "
            f"user={self.user!r}, password={password}, sslmode={self.sslmode!r})"
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"

    def _attach(self, connection: duckdb.DuckDBPyConnection, alias: str) -> None:
        load_extension(connection, "postgres_scanner")
        # The password travels as a bound parameter into a temporary (memory-only) secret,
        # so it is in no SQL text, no connection string and no DuckDB error message.
        options = ["TYPE postgres", "HOST ?", "PORT ?", "DATABASE ?", "USER ?"]
        values: list[object] = [self.host, self.port, self.database, self.user]
        if self._password is not None:
            options.append("PASSWORD ?")
            values.append(self._password)
        connection.execute(
            f"create or replace temporary secret {_secret_name(alias)} ({', '.join(options)})",
            values,
        )
        dsn = f"connect_timeout={int(self.connect_timeout_s)} application_name=seedbed"
        if self.sslmode:
            dsn += f" sslmode={self.sslmode}"
        connection.execute(
            f"attach {quote_literal(dsn)} as {quote_identifier(alias)} "
            f"(type postgres, secret {_secret_name(alias)}, read_only)"
        )

    def _forget(self, connection: duckdb.DuckDBPyConnection, alias: str) -> None:
        connection.execute(f"drop temporary secret if exists {_secret_name(alias)}")

    def _secrets(self) -> tuple[str, ...]:
        return (self._password,) if self._password else ()

    def _explain(self, exc: duckdb.Error) -> Invalid:
        detail = self._scrub(str(exc))
        where = f"PostgreSQL at {self.host}:{self.port}"
        if "Unable to connect to Postgres" not in detail and not isinstance(
            exc, duckdb.IOException
        ):
            return Invalid(f"{where} (database {self.database!r}) failed: {detail}")
        for pattern, reason in _REASONS:
            if pattern.search(detail):
                text = reason.format(
                    user=self.user,
                    database=self.database,
                    host=self.host,
                    sslmode=self.sslmode,
                    timeout=self.connect_timeout_s,
                )
                return Invalid(f"{where} {text}.")
        return Invalid(f"Cannot connect to {where} (database {self.database!r}): {detail}")


def _secret_name(alias: str) -> str:
    return quote_identifier(f"seedbed_{alias}")
