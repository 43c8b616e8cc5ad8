"""Registered models, their numbered versions and aliases such as `champion`."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import RowMapping, func, select
from sqlalchemy.engine import Connection

from seedbed.auth import audit
from seedbed.db import now_ms
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.registry import alias_events, sources, tags
from seedbed.registry.tables import model_aliases, model_versions, registered_models
from seedbed.tracking.runs import get_run
from seedbed.workspace import Workspace

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,249}$")
ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    run_id: str | None
    source: str  # artifact-store key of the MLmodel folder
    description: str
    signature: dict[str, Any]
    created_by: str
    created_at: int
    aliases: list[str] = field(default_factory=list)
    # how the run it came from saw personal data ("people v2: email (email)"); empty: it did not
    trained_on_pii: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    description: str
    created_at: int
    updated_at: int
    latest_version: int | None
    aliases: dict[str, int]
    tags: dict[str, str] = field(default_factory=dict)


def _version(
    row: RowMapping, aliases: list[str], version_tags: dict[str, str] | None = None
) -> ModelVersion:
    return ModelVersion(
        name=row["name"],
        version=row["version"],
        run_id=row["run_id"],
        source=row["source"],
        description=row["description"],
        signature=json.loads(row["signature"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        aliases=aliases,
        tags=dict(version_tags or {}),
    )


def register_version(
    workspace: Workspace,
    name: str,
    run_id: str,
    artifact_path: str = "model",
    signature: Mapping[str, Any] | None = None,
    description: str = "",
    user: str = "",
) -> ModelVersion:
    """Register the model a run logged at `artifact_path` (a relative path inside the run's
    artifacts) as the next version of `name`."""
    _check_name(name)
    run = get_run(workspace, run_id)
    source = sources.run_model_key(run, artifact_path)
    if not workspace.artifacts.exists(f"{source}/MLmodel"):
        raise Invalid(
            f"Run {run_id} has no model at {artifact_path!r}: log the model first "
            "(an MLmodel folder), then register it."
        )
    return _insert_version(workspace, name, source, run.id, signature, description, user)


def add_version(
    workspace: Workspace,
    name: str,
    source: str,
    run_id: str | None,
    signature: Mapping[str, Any] | None = None,
    description: str = "",
    user: str = "",
) -> ModelVersion:
    """Make the MLmodel folder at store key `source` the next version of `name` (created if
    new), recording the run the files belong to; Invalid if `run_id` names another run."""
    _check_name(name)
    source = sources.clean_path(source)
    if not workspace.artifacts.exists(f"{source}/MLmodel"):
        raise Invalid(f"There is no model (an MLmodel file) at {source!r}; log the model first.")
    recorded = sources.recorded_run(workspace, source, run_id)
    return _insert_version(workspace, name, source, recorded, signature, description, user)


def _insert_version(
    workspace: Workspace,
    name: str,
    source: str,
    run_id: str | None,
    signature: Mapping[str, Any] | None,
    description: str,
    user: str,
) -> ModelVersion:
    """Add the next version of `name` (created if new); the caller checked name and source."""
    now = now_ms()
    with workspace.engine.begin() as connection:
        exists = connection.execute(
            select(registered_models.c.name).where(registered_models.c.name == name)
        ).first()
        if exists is None:
            connection.execute(
                registered_models.insert().values(
                    name=name, description="", created_at=now, updated_at=now
                )
            )
        latest = connection.execute(
            select(func.max(model_versions.c.version)).where(model_versions.c.name == name)
        ).scalar()
        version = (latest or 0) + 1
        connection.execute(
            model_versions.insert().values(
                name=name,
                version=version,
                run_id=run_id,
                source=source,
                description=description,
                signature=json.dumps(dict(signature or {})),
                created_by=user,
                created_at=now,
            )
        )
        connection.execute(
            registered_models.update()
            .where(registered_models.c.name == name)
            .values(updated_at=now)
        )
    audit.record(workspace, user or None, "model.register", f"{name}/{version}", run=run_id)
    return get_version(workspace, name, version)


def _check_name(name: str) -> None:
    if not NAME.match(name):
        raise Invalid(
            f"Model name {name!r} is not allowed: use letters, digits, '.', '_' or '-' "
            "(at most 250 characters), starting with a letter or digit."
        )


def create_model(
    workspace: Workspace, name: str, description: str = "", user: str = ""
) -> RegisteredModel:
    """A registered model with no versions yet; Conflict when the name is taken."""
    _check_name(name)
    now = now_ms()
    with workspace.engine.begin() as connection:
        exists = connection.execute(
            select(registered_models.c.name).where(registered_models.c.name == name)
        ).first()
        if exists is not None:
            raise Conflict(f"Registered model {name!r} already exists.")
        connection.execute(
            registered_models.insert().values(
                name=name, description=description, created_at=now, updated_at=now
            )
        )
    audit.record(workspace, user or None, "model.create", name)
    return get_model(workspace, name)


def update_model(
    workspace: Workspace, name: str, description: str, user: str = ""
) -> RegisteredModel:
    """Replace a model's (Markdown) description."""
    get_model(workspace, name)
    with workspace.engine.begin() as connection:
        connection.execute(
            registered_models.update()
            .where(registered_models.c.name == name)
            .values(description=description, updated_at=now_ms())
        )
    audit.record(workspace, user or None, "model.describe", name)
    return get_model(workspace, name)


def rename_model(workspace: Workspace, name: str, new_name: str, user: str = "") -> RegisteredModel:
    """Move a model, its versions and aliases to a new name (copy, repoint, delete the old)."""
    _check_name(new_name)
    get_model(workspace, name)
    with workspace.engine.begin() as connection:
        taken = connection.execute(
            select(registered_models.c.name).where(registered_models.c.name == new_name)
        ).first()
        if taken is not None:
            raise Conflict(f"Registered model {new_name!r} already exists.")
        row = (
            connection.execute(select(registered_models).where(registered_models.c.name == name))
            .mappings()
            .one()
        )
        connection.execute(
            registered_models.insert().values({**row, "name": new_name, "updated_at": now_ms()})
        )
        versions = (
            connection.execute(select(model_versions).where(model_versions.c.name == name))
            .mappings()
            .all()
        )
        for version in versions:
            connection.execute(model_versions.insert().values({**version, "name": new_name}))
        connection.execute(
            model_aliases.update().where(model_aliases.c.name == name).values(name=new_name)
        )
        tags.rename(connection, name, new_name)
        alias_events.rename(connection, name, new_name)
        connection.execute(model_versions.delete().where(model_versions.c.name == name))
        connection.execute(registered_models.delete().where(registered_models.c.name == name))
    audit.record(workspace, user or None, "model.rename", name, new_name=new_name)
    return get_model(workspace, new_name)


def delete_model(workspace: Workspace, name: str, user: str = "") -> None:
    """Delete a registered model with its versions and aliases (their files stay)."""
    get_model(workspace, name)
    with workspace.engine.begin() as connection:
        connection.execute(model_aliases.delete().where(model_aliases.c.name == name))
        tags.forget_model(connection, name)
        alias_events.forget(connection, name)
        connection.execute(model_versions.delete().where(model_versions.c.name == name))
        connection.execute(registered_models.delete().where(registered_models.c.name == name))
    audit.record(workspace, user or None, "model.delete", name)


def update_version(
    workspace: Workspace, name: str, version: int, description: str, user: str = ""
) -> ModelVersion:
    """Replace a version's (Markdown) description."""
    get_version(workspace, name, version)
    with workspace.engine.begin() as connection:
        connection.execute(
            model_versions.update()
            .where(model_versions.c.name == name, model_versions.c.version == version)
            .values(description=description)
        )
    audit.record(workspace, user or None, "model.describe", f"{name}/{version}")
    return get_version(workspace, name, version)


def delete_version(workspace: Workspace, name: str, version: int, user: str = "") -> None:
    """Delete one version and any alias pointing at it (its files stay)."""
    found = get_version(workspace, name, version)
    with workspace.engine.begin() as connection:
        for alias in found.aliases:
            alias_events.record(connection, name, alias, version, None, user)
        connection.execute(
            model_aliases.delete().where(
                model_aliases.c.name == name, model_aliases.c.version == version
            )
        )
        tags.forget_model(connection, name, version)
        connection.execute(
            model_versions.delete().where(
                model_versions.c.name == name, model_versions.c.version == version
            )
        )
    audit.record(workspace, user or None, "model.delete_version", f"{name}/{version}")


def delete_alias(workspace: Workspace, name: str, alias: str, user: str = "") -> None:
    """Remove an alias; the move is kept in the alias history."""
    model = get_model(workspace, name)
    if alias not in model.aliases:
        raise NotFound(f"Model {name!r} has no alias {alias!r}.")
    with workspace.engine.begin() as connection:
        alias_events.record(connection, name, alias, model.aliases[alias], None, user)
        connection.execute(
            model_aliases.delete().where(
                model_aliases.c.name == name, model_aliases.c.alias == alias
            )
        )
    audit.record(workspace, user or None, "model.alias_delete", f"{name}@{alias}")


def _aliases(connection: Connection, name: str) -> dict[str, int]:
    return dict(
        connection.execute(
            select(model_aliases.c.alias, model_aliases.c.version).where(
                model_aliases.c.name == name
            )
        ).all()
    )


def get_version(workspace: Workspace, name: str, version: int) -> ModelVersion:
    with workspace.engine.connect() as connection:
        row = (
            connection.execute(
                select(model_versions).where(
                    model_versions.c.name == name, model_versions.c.version == version
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"Model {name!r} has no version {version}.")
        aliases = [a for a, v in _aliases(connection, name).items() if v == version]
        version_tags = tags.version_tags_of(connection, name).get(version)
    return _flag_pii(workspace, [_version(row, sorted(aliases), version_tags)])[0]


def _flag_pii(workspace: Workspace, versions: list[ModelVersion]) -> list[ModelVersion]:
    """Flag the versions whose runs read personal data (flags follow lineage)."""
    from seedbed.privacy.restrictions import pii_inputs_of_runs  # privacy builds on the registry

    runs = pii_inputs_of_runs(workspace, sorted({v.run_id for v in versions if v.run_id}))
    return [
        dataclasses.replace(v, trained_on_pii=runs[v.run_id])
        if v.run_id is not None and runs.get(v.run_id)
        else v
        for v in versions
    ]


def resolve(workspace: Workspace, name: str, reference: str) -> ModelVersion:
    """A version from "3", "latest" or an alias such as "champion"."""
    if reference.isdigit():
        return get_version(workspace, name, int(reference))
    model = get_model(workspace, name)
    if reference == "latest" and model.latest_version is not None:
        return get_version(workspace, name, model.latest_version)
    if reference in model.aliases:
        return get_version(workspace, name, model.aliases[reference])
    known = ", ".join(sorted(model.aliases)) or "none"
    raise NotFound(
        f"Model {name!r} has no version or alias {reference!r} (aliases: {known}); "
        "use a version number, 'latest' or an alias."
    )


def version_key(workspace: Workspace, name: str, reference: str) -> tuple[int, int]:
    """The number and creation time of the version "3", "latest" or an alias names, in one
    query (the prediction API resolves on every call; the time tells a version from an
    earlier, deleted one with the same number); NotFound as `resolve` words it."""
    columns = select(model_versions.c.version, model_versions.c.created_at)
    with workspace.engine.connect() as connection:
        if reference.isdigit():
            query = columns.where(
                model_versions.c.name == name, model_versions.c.version == int(reference)
            )
        elif reference == "latest":
            query = (
                columns.where(model_versions.c.name == name)
                .order_by(model_versions.c.version.desc())
                .limit(1)
            )
        else:
            query = columns.join(
                model_aliases,
                (model_aliases.c.name == model_versions.c.name)
                & (model_aliases.c.version == model_versions.c.version),
            ).where(model_aliases.c.name == name, model_aliases.c.alias == reference)
        found = connection.execute(query).first()
    if found is None:
        version = resolve(workspace, name, reference)  # raises the helpful NotFound
        return version.version, version.created_at
    return int(found[0]), int(found[1])


def set_alias(workspace: Workspace, name: str, alias: str, version: int, user: str = "") -> None:
    """Point `alias` at `version`, moving it if it pointed elsewhere."""
    if not ALIAS.match(alias) or alias == "latest":
        raise Invalid(
            f"Alias {alias!r} is not allowed: use lower-case letters, digits, '_' or '-', "
            "starting with a letter; 'latest' is reserved."
        )
    get_version(workspace, name, version)
    with workspace.engine.begin() as connection:
        before = _aliases(connection, name).get(alias)
        if before == version:
            return  # nothing moves, so nothing enters the history
        connection.execute(
            model_aliases.delete().where(
                model_aliases.c.name == name, model_aliases.c.alias == alias
            )
        )
        alias_events.record(connection, name, alias, before, version, user)
        connection.execute(model_aliases.insert().values(name=name, alias=alias, version=version))
    audit.record(workspace, user or None, "model.alias", f"{name}@{alias}", version=version)


def get_model(workspace: Workspace, name: str) -> RegisteredModel:
    with workspace.engine.connect() as connection:
        row = (
            connection.execute(select(registered_models).where(registered_models.c.name == name))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"No registered model named {name!r}.")
        latest = connection.execute(
            select(func.max(model_versions.c.version)).where(model_versions.c.name == name)
        ).scalar()
        return RegisteredModel(
            name=row["name"],
            description=row["description"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            latest_version=latest,
            aliases=_aliases(connection, name),
            tags=tags.model_tags_of(connection, name),
        )


def list_models(workspace: Workspace) -> list[RegisteredModel]:
    with workspace.engine.connect() as connection:
        names = (
            connection.execute(
                select(registered_models.c.name).order_by(registered_models.c.updated_at.desc())
            )
            .scalars()
            .all()
        )
    return [get_model(workspace, name) for name in names]


def list_versions(workspace: Workspace, name: str) -> list[ModelVersion]:
    get_model(workspace, name)
    with workspace.engine.connect() as connection:
        rows = (
            connection.execute(
                select(model_versions)
                .where(model_versions.c.name == name)
                .order_by(model_versions.c.version.desc())
            )
            .mappings()
            .all()
        )
        aliases = _aliases(connection, name)
        version_tags = tags.version_tags_of(connection, name)
    return _flag_pii(
        workspace,
        [
            _version(
                row,
                sorted(a for a, v in aliases.items() if v == row["version"]),
                version_tags.get(row["version"]),
            )
            for row in rows
        ],
    )


def versions_of_run(workspace: Workspace, run_id: str) -> list[ModelVersion]:
    """The model versions registered from one run (a run page links to them)."""
    with workspace.engine.connect() as connection:
        rows = (
            connection.execute(
                select(model_versions)
                .where(model_versions.c.run_id == run_id)
                .order_by(model_versions.c.name, model_versions.c.version)
            )
            .mappings()
            .all()
        )
        found = []
        for row in rows:
            aliases = _aliases(connection, row["name"])
            found.append(
                _version(row, sorted(a for a, v in aliases.items() if v == row["version"]))
            )
    return found
