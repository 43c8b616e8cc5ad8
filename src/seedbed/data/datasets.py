"""Datasets: named, immutable, content-hashed versions stored as Parquet in the artifact store."""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from sqlalchemy import RowMapping, func, select
from sqlalchemy.exc import IntegrityError

from seedbed.auth import audit
from seedbed.data.tables import dataset_versions, datasets
from seedbed.db import now_ms
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.tracking.tables import run_inputs
from seedbed.workspace import Workspace

if TYPE_CHECKING:
    from seedbed.privacy.protect import Protected

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,249}$")
SOURCES = ("upload", "connector", "query", "job", "feedback", "features")


@dataclass(frozen=True)
class DatasetColumn:
    name: str
    type: str


@dataclass(frozen=True)
class DatasetVersion:
    dataset: str
    version: int
    content_hash: str
    rows: int
    size_bytes: int
    columns: list[DatasetColumn]
    source: str
    source_detail: dict[str, Any]
    path: str
    author: str
    created_at: int
    quality: str


@dataclass(frozen=True)
class Dataset:
    id: int
    name: str
    description: str
    owner: str
    created_at: int
    updated_at: int
    versions: list[DatasetVersion] = field(default_factory=list)

    @property
    def latest(self) -> DatasetVersion | None:
        return self.versions[0] if self.versions else None


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise Invalid(
            f"Dataset name {name!r} is not allowed: use letters, digits, '.', '_' or '-' "
            "(at most 250 characters), starting with a letter or digit."
        )


def version_number(text: str) -> int | None:
    """`text` as a version number, or None when it is not one (ASCII digits only: `int`
    would refuse "²", which `str.isdigit` lets through)."""
    return int(text) if text.isascii() and text.isdigit() else None


def split_reference(reference: str) -> tuple[str, int | None] | None:
    """`NAME` as (NAME, None), the latest version; `NAME@VERSION` as (NAME, VERSION); None
    when what follows the "@" is not a version number (`NAME@` included)."""
    name, at, number = reference.partition("@")
    if not at:
        return name, None
    version = version_number(number)
    return None if version is None else (name, version)


def parquet_schema(path: Path) -> tuple[int, list[DatasetColumn]]:
    """Row count and DuckDB column types of a Parquet file."""
    with duckdb.connect() as connection:
        described = connection.execute(
            "describe select * from read_parquet(?)", [str(path)]
        ).fetchall()
        counted = connection.execute("select count(*) from read_parquet(?)", [str(path)])
        row = counted.fetchone()
    columns = [DatasetColumn(str(name), str(kind)) for name, kind, *_ in described]
    return (int(row[0]) if row else 0), columns


def _literal(path: Path | str) -> str:
    return str(path).replace("'", "''")


def _version(row: RowMapping, name: str) -> DatasetVersion:
    return DatasetVersion(
        dataset=name,
        version=row["version"],
        content_hash=row["content_hash"],
        rows=row["rows"],
        size_bytes=row["size_bytes"],
        columns=[DatasetColumn(**c) for c in json.loads(row["schema"])],
        source=row["source"],
        source_detail=json.loads(row["source_detail"]),
        path=row["path"],
        author=row["author"],
        created_at=row["created_at"],
        quality=row["quality"],
    )


def publish_parquet(
    workspace: Workspace,
    name: str,
    parquet: Path,
    content_hash: str,
    source: str,
    source_detail: dict[str, Any] | None = None,
    author: str = "",
    description: str = "",
    parents: list[str] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Publish a Parquet file as the next version of `name`.

    The file is scanned for PII first and the dataset's policy applied to it (blocked,
    columns dropped, masked, hashed, tokenized or restricted), so raw PII never lands where
    the policy forbids it. `parents` ("name" or "name@version") are the versions it was
    derived from; when one of them is restricted and the author could read it (has the
    pii permission, or is unknown), so is the new version.

    Returns the version and whether it is new: content identical to the latest version
    adds nothing. The file is copied in before the version becomes visible, so a
    failure leaves neither a row nor a file behind.
    """
    # policies and restrictions build on this module; imported late on purpose
    from seedbed.privacy import protect, restrictions

    check_name(name)
    if source not in SOURCES:
        raise Invalid(f"Source {source!r} is unknown; use one of {', '.join(SOURCES)}.")
    derived_from = restrictions.resolve_parents(workspace, parents or [])
    tainted = bool(derived_from) and restrictions.could_read_pii(workspace, author)
    protected = protect.protect(workspace, name, parquet, content_hash)
    try:
        return _publish_protected(
            workspace,
            name,
            protected,
            source,
            source_detail,
            author,
            description,
            derived_from,
            tainted,
        )
    finally:
        if protected.path != parquet:
            protected.path.unlink(missing_ok=True)


def _publish_protected(
    workspace: Workspace,
    name: str,
    protected: Protected,
    source: str,
    source_detail: dict[str, Any] | None,
    author: str,
    description: str,
    parents: list[tuple[int, int, str]],
    tainted: bool,
) -> tuple[DatasetVersion, bool]:
    from seedbed.privacy import restrictions, scans

    parquet, content_hash = protected.path, protected.content_hash
    rows, columns = parquet_schema(parquet)
    size = parquet.stat().st_size
    now = now_ms()
    key = ""
    try:
        with workspace.engine.begin() as connection:
            dataset = (
                connection.execute(select(datasets).where(datasets.c.name == name))
                .mappings()
                .first()
            )
            if dataset is None:
                dataset_id = connection.execute(
                    datasets.insert().values(
                        name=name,
                        description=description,
                        owner=author,
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            else:
                dataset_id = dataset["id"]
                if dataset["deleted_at"] is not None:
                    connection.execute(
                        datasets.update().where(datasets.c.id == dataset_id).values(deleted_at=None)
                    )
            latest = (
                connection.execute(
                    select(dataset_versions)
                    .where(
                        dataset_versions.c.dataset_id == dataset_id,
                        dataset_versions.c.deleted_at.is_(None),
                    )
                    .order_by(dataset_versions.c.version.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
            if latest is not None and latest["content_hash"] == content_hash:
                return _version(latest, name), False
            number = (
                connection.execute(
                    select(func.max(dataset_versions.c.version)).where(
                        dataset_versions.c.dataset_id == dataset_id
                    )
                ).scalar()
                or 0
            ) + 1
            key = f"datasets/{dataset_id}/v{number}/data.parquet"
            connection.execute(
                dataset_versions.insert().values(
                    dataset_id=dataset_id,
                    version=number,
                    content_hash=content_hash,
                    rows=rows,
                    size_bytes=size,
                    schema=json.dumps([c.__dict__ for c in columns]),
                    source=source,
                    source_detail=json.dumps(source_detail or {}, default=str),
                    path=key,
                    author=author,
                    created_at=now,
                    quality="none",
                )
            )
            connection.execute(
                datasets.update().where(datasets.c.id == dataset_id).values(updated_at=now)
            )
            published = DatasetVersion(
                name, number, content_hash, rows, size, columns, source, {}, key, author, now, ""
            )
            # the classification commits with the version: never visible without it
            scans.record_ingest(connection, dataset_id, published, protected)
            if protected.scan is None:
                restrictions.add(
                    connection,
                    dataset_id,
                    number,
                    "scan_failed",
                    f"its PII scan failed ({protected.error[:300]}), so what it holds is unknown",
                )
            restrictions.record_parents(connection, dataset_id, number, parents, tainted)
            protected.store_tokens(connection)
            workspace.artifacts.move_in(parquet, key)  # inside the transaction: all or nothing
    except IntegrityError as exc:
        if key:
            workspace.artifacts.delete(key)
        raise Conflict(
            f"Another version of {name!r} was published at the same moment; try again."
        ) from exc
    except BaseException:
        if key:
            workspace.artifacts.delete(key)
        raise
    audit.record(
        workspace,
        author or None,
        "dataset.publish",
        f"{name}/{number}",
        source=source,
        rows=rows,
        pii={column: action for column, action in sorted(protected.actions.items())},
    )
    # checks build on this module; imported late on purpose
    from seedbed.data import checks

    checks.run_for_version(workspace, name, number)
    return get_version(workspace, name, number), True


def dataset_id(workspace: Workspace, name: str) -> int:
    """The id of a live dataset; NotFound names the datasets that exist."""
    return int(_dataset_row(workspace, name)["id"])


def _dataset_row(workspace: Workspace, name: str) -> RowMapping:
    with workspace.engine.connect() as connection:
        row = (
            connection.execute(
                select(datasets).where(datasets.c.name == name, datasets.c.deleted_at.is_(None))
            )
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"No dataset named {name!r}. `seedbed data list` shows the datasets.")
    return row


def get_dataset(workspace: Workspace, name: str) -> Dataset:
    """A dataset with its live versions, newest first."""
    row = _dataset_row(workspace, name)
    with workspace.engine.connect() as connection:
        versions = (
            connection.execute(
                select(dataset_versions)
                .where(
                    dataset_versions.c.dataset_id == row["id"],
                    dataset_versions.c.deleted_at.is_(None),
                )
                .order_by(dataset_versions.c.version.desc())
            )
            .mappings()
            .all()
        )
    return Dataset(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        owner=row["owner"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        versions=[_version(v, name) for v in versions],
    )


def list_datasets(workspace: Workspace) -> list[Dataset]:
    """Live datasets, most recently updated first, each with its versions."""
    with workspace.engine.connect() as connection:
        names = (
            connection.execute(
                select(datasets.c.name)
                .where(datasets.c.deleted_at.is_(None))
                .order_by(datasets.c.updated_at.desc())
            )
            .scalars()
            .all()
        )
    return [get_dataset(workspace, name) for name in names]


def get_version(workspace: Workspace, name: str, version: int | None = None) -> DatasetVersion:
    """One live version; the latest when `version` is None."""
    dataset = get_dataset(workspace, name)
    if not dataset.versions:
        raise NotFound(f"Dataset {name!r} has no versions left.")
    if version is None:
        return dataset.versions[0]
    for candidate in dataset.versions:
        if candidate.version == version:
            return candidate
    known = ", ".join(str(v.version) for v in dataset.versions)
    raise NotFound(f"Dataset {name!r} has no version {version} (versions: {known}).")


@contextlib.contextmanager
def local_parquet(workspace: Workspace, version: DatasetVersion) -> Iterator[Path]:
    """A local path to the version's Parquet file (a temporary copy for remote stores)."""
    local = workspace.artifacts.local_path(version.path)
    if local is not None:
        yield local
        return
    with tempfile.TemporaryDirectory(prefix="seedbed-dataset-") as folder:
        target = Path(folder) / "data.parquet"
        target.write_bytes(workspace.artifacts.get_bytes(version.path))
        yield target


def sample(
    workspace: Workspace, version: DatasetVersion, rows: int = 50, leave_out: tuple[str, ...] = ()
) -> pa.Table:
    """The first `rows` rows of a version, without the columns in `leave_out`."""
    kept = [c.name for c in version.columns if c.name not in leave_out]
    if not kept:
        return pa.table({})
    select = ", ".join('"' + name.replace('"', '""') + '"' for name in kept)
    with local_parquet(workspace, version) as path, duckdb.connect() as connection:
        return connection.sql(
            f"select {select} from read_parquet('{_literal(path)}') limit {max(0, int(rows))}"
        ).to_arrow_table()


def record_run_input(workspace: Workspace, run_id: str, name: str, version: int) -> None:
    """Note that a run read a dataset version (for lineage both ways)."""
    dataset_id = _dataset_row(workspace, name)["id"]
    get_version(workspace, name, version)
    with workspace.engine.begin() as connection:
        exists = connection.execute(
            select(run_inputs).where(
                run_inputs.c.run_id == run_id,
                run_inputs.c.dataset_id == dataset_id,
                run_inputs.c.version == version,
            )
        ).first()
        if exists is None:
            connection.execute(
                run_inputs.insert().values(run_id=run_id, dataset_id=dataset_id, version=version)
            )


def inputs_of_runs(workspace: Workspace, run_ids: list[str]) -> dict[str, list[tuple[str, int]]]:
    """The dataset versions each run read, as (dataset name, version) pairs."""
    found: dict[str, list[tuple[str, int]]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return found
    query = (
        select(run_inputs.c.run_id, datasets.c.name, run_inputs.c.version)
        .join(datasets, datasets.c.id == run_inputs.c.dataset_id)
        .where(run_inputs.c.run_id.in_(run_ids))
        .order_by(datasets.c.name, run_inputs.c.version)
    )
    with workspace.engine.connect() as connection:
        for run_id, name, version in connection.execute(query):
            found[run_id].append((name, version))
    return found


def delete_version(workspace: Workspace, name: str, version: int, user: str = "") -> None:
    """Soft-delete a version; refused while a registered model was trained on it."""
    from seedbed.data.lineage import lineage  # it builds on this module

    target = get_version(workspace, name, version)
    models = lineage(workspace, name, version).models
    if models:
        used = ", ".join(f"{m['name']} v{m['version']}" for m in models)
        raise Conflict(
            f"{name} v{version} cannot be deleted: registered models depend on it "
            f"({used}). Delete or archive those model versions first."
        )
    dataset_id = _dataset_row(workspace, name)["id"]
    with workspace.engine.begin() as connection:
        connection.execute(
            dataset_versions.update()
            .where(
                dataset_versions.c.dataset_id == dataset_id,
                dataset_versions.c.version == target.version,
            )
            .values(deleted_at=now_ms())
        )
    audit.record(workspace, user or None, "dataset.delete", f"{name}/{version}")


def set_quality(workspace: Workspace, name: str, version: int, status: str) -> None:
    dataset_id = _dataset_row(workspace, name)["id"]
    with workspace.engine.begin() as connection:
        connection.execute(
            dataset_versions.update()
            .where(
                dataset_versions.c.dataset_id == dataset_id, dataset_versions.c.version == version
            )
            .values(quality=status)
        )
