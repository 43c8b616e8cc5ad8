"""Alembic environment: runs on the connection seedbed hands over (see seedbed.db.upgrade)."""

from __future__ import annotations

from alembic import context

from seedbed.db import for_dialect, load_all_tables, make_engine

target_metadata = load_all_tables()
connection = context.config.attributes.get("connection")

if connection is None:  # `alembic` run by hand: take the URL from the -x url=... argument
    url = context.get_x_argument(as_dictionary=True)["url"]
    with make_engine(url).begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=for_dialect(connection.dialect.name),
        )
        context.run_migrations()
else:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        include_object=for_dialect(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
