from __future__ import annotations

from sqlalchemy import create_engine, text

from postgres_server import PostgresServer


def test_postgres_server_round_trip() -> None:
    server = PostgresServer()
    with server:
        root_dir = server.root_dir
        url = server.create_database("seedbed_selfcheck")
        assert url == f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/seedbed_selfcheck"

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                version = conn.execute(text("select version()")).scalar_one()
                current_db = conn.execute(text("select current_database()")).scalar_one()
        finally:
            engine.dispose()

        assert "PostgreSQL" in version
        assert current_db == "seedbed_selfcheck"
        assert root_dir.is_dir()

    assert not root_dir.exists()
