"""The history of alias moves: who pointed which alias where, from which version, and when."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from seedbed.db import now_ms
from seedbed.registry.tables import model_alias_events
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class AliasEvent:
    alias: str
    from_version: int | None  # None: the alias was new
    to_version: int | None  # None: the alias was deleted
    username: str
    at: int


def record(
    connection: Connection,
    name: str,
    alias: str,
    from_version: int | None,
    to_version: int | None,
    user: str,
) -> None:
    """Write one move inside the transaction that makes it."""
    connection.execute(
        model_alias_events.insert().values(
            name=name,
            alias=alias,
            from_version=from_version,
            to_version=to_version,
            username=user,
            at=now_ms(),
        )
    )


def alias_history(workspace: Workspace, name: str) -> list[AliasEvent]:
    """Every alias move of a model, newest first."""
    from seedbed.registry.models import get_model

    get_model(workspace, name)
    table = model_alias_events
    with workspace.engine.connect() as connection:
        rows = connection.execute(
            select(
                table.c.alias,
                table.c.from_version,
                table.c.to_version,
                table.c.username,
                table.c.at,
            )
            .where(table.c.name == name)
            .order_by(table.c.at.desc(), table.c.id.desc())
        ).all()
    return [AliasEvent(*row) for row in rows]


def forget(connection: Connection, name: str) -> None:
    connection.execute(model_alias_events.delete().where(model_alias_events.c.name == name))


def rename(connection: Connection, name: str, new_name: str) -> None:
    connection.execute(
        model_alias_events.update().where(model_alias_events.c.name == name).values(name=new_name)
    )
