"""Free-form tags (key: value) on registered models and on model versions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from seedbed.auth import audit
from seedbed.errors import Invalid, NotFound
from seedbed.registry.tables import model_tags, model_version_tags
from seedbed.workspace import Workspace

MAX_KEY = 250
MAX_VALUE = 5000


def _check(key: str, value: str) -> None:
    if not key.strip() or len(key) > MAX_KEY:
        raise Invalid(f"A tag key must be 1 to {MAX_KEY} characters, not {key!r}.")
    if len(value) > MAX_VALUE:
        raise Invalid(f"The value of tag {key!r} is longer than {MAX_VALUE} characters.")


def model_tags_of(connection: Connection, name: str) -> dict[str, str]:
    """The tags of a registered model, by key."""
    rows = connection.execute(
        select(model_tags.c.key, model_tags.c.value)
        .where(model_tags.c.name == name)
        .order_by(model_tags.c.key)
    ).all()
    return {key: value for key, value in rows}


def version_tags_of(connection: Connection, name: str) -> dict[int, dict[str, str]]:
    """The tags of every version of a model: version -> key -> value."""
    table = model_version_tags
    rows = connection.execute(
        select(table.c.version, table.c.key, table.c.value)
        .where(table.c.name == name)
        .order_by(table.c.version, table.c.key)
    ).all()
    found: dict[int, dict[str, str]] = {}
    for version, key, value in rows:
        found.setdefault(version, {})[key] = value
    return found


def set_model_tag(workspace: Workspace, name: str, key: str, value: str, user: str = "") -> None:
    """Set (or replace) one tag of a registered model."""
    from seedbed.registry.models import get_model  # models reads tags through this module

    _check(key, value)
    get_model(workspace, name)
    with workspace.engine.begin() as connection:
        connection.execute(
            model_tags.delete().where(model_tags.c.name == name, model_tags.c.key == key)
        )
        connection.execute(model_tags.insert().values(name=name, key=key, value=value))
    audit.record(workspace, user or None, "model.tag", name, key=key)


def delete_model_tag(workspace: Workspace, name: str, key: str, user: str = "") -> None:
    """Remove one tag of a registered model; NotFound when it has no such tag."""
    with workspace.engine.begin() as connection:
        deleted = connection.execute(
            model_tags.delete().where(model_tags.c.name == name, model_tags.c.key == key)
        ).rowcount
    if not deleted:
        raise NotFound(f"Model {name!r} has no tag {key!r}.")
    audit.record(workspace, user or None, "model.untag", name, key=key)


def set_version_tag(
    workspace: Workspace, name: str, version: int, key: str, value: str, user: str = ""
) -> None:
    """Set (or replace) one tag of a model version."""
    from seedbed.registry.models import get_version

    _check(key, value)
    get_version(workspace, name, version)
    table = model_version_tags
    where = (table.c.name == name, table.c.version == version, table.c.key == key)
    with workspace.engine.begin() as connection:
        connection.execute(table.delete().where(*where))
        connection.execute(table.insert().values(name=name, version=version, key=key, value=value))
    audit.record(workspace, user or None, "model.version_tag", f"{name}/{version}", key=key)


def delete_version_tag(
    workspace: Workspace, name: str, version: int, key: str, user: str = ""
) -> None:
    """Remove one tag of a model version; NotFound when it has no such tag."""
    table = model_version_tags
    with workspace.engine.begin() as connection:
        deleted = connection.execute(
            table.delete().where(
                table.c.name == name, table.c.version == version, table.c.key == key
            )
        ).rowcount
    if not deleted:
        raise NotFound(f"Model {name!r} version {version} has no tag {key!r}.")
    audit.record(workspace, user or None, "model.version_untag", f"{name}/{version}", key=key)


def forget_model(connection: Connection, name: str, version: int | None = None) -> None:
    """Delete the tags of a model (or of one version) inside the caller's transaction."""
    table = model_version_tags
    if version is None:
        connection.execute(model_tags.delete().where(model_tags.c.name == name))
        connection.execute(table.delete().where(table.c.name == name))
    else:
        connection.execute(table.delete().where(table.c.name == name, table.c.version == version))


def rename(connection: Connection, name: str, new_name: str) -> None:
    """Move a model's tags to its new name (before its old rows are deleted)."""
    connection.execute(model_tags.update().where(model_tags.c.name == name).values(name=new_name))
    connection.execute(
        model_version_tags.update().where(model_version_tags.c.name == name).values(name=new_name)
    )
