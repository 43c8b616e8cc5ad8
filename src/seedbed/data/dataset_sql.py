"""Datasets in SQL: `datasets.NAME` is a dataset's latest version, `datasets."NAME@2"` one
version. A query that names them runs in a sandbox where each is streamed from its Parquet
file with only the columns the reader may see: restricted columns are left out for users
without the `pii` permission, a version restricted as a whole is refused, and reads by those
who may are audited (seedbed.privacy.access)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from seedbed.data import datasets
from seedbed.data.datasets import DatasetVersion
from seedbed.errors import Invalid
from seedbed.workspace import Workspace

if TYPE_CHECKING:
    from seedbed.auth.users import User
    from seedbed.data.sandbox import Reader, Sandbox

CATALOG = "datasets"
BATCH_ROWS = 128 * 1024


def named_in(refs: Iterable[tuple[str, str, str]]) -> set[str]:
    """The dataset references among a query's (catalog, schema, table) references."""
    return {
        table
        for catalog, schema, table in refs
        if (catalog == CATALOG and schema in ("", "main")) or (not catalog and schema == CATALOG)
    }


def resolve(workspace: Workspace, reference: str) -> DatasetVersion:
    """`NAME` (the latest version) or `NAME@VERSION`."""
    parsed = datasets.split_reference(reference)
    if parsed is None:
        raise Invalid(
            f'datasets."{reference}" names no version: use datasets.NAME for the latest or '
            'datasets."NAME@2" for version 2.'
        )
    return datasets.get_version(workspace, *parsed)


def _reader(
    workspace: Workspace, version: DatasetVersion, columns: list[str]
) -> pa.RecordBatchReader:
    local = workspace.artifacts.local_path(version.path)
    source = (
        str(local)
        if local is not None
        else pa.BufferReader(workspace.artifacts.get_bytes(version.path))
    )
    parquet = pq.ParquetFile(source)
    schema = pa.schema([parquet.schema_arrow.field(name) for name in columns])
    return pa.RecordBatchReader.from_batches(
        schema, parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns)
    )


class DatasetTables:
    """Makes the datasets a query names scannable in its sandbox, for one reader."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def attach(self, sandbox: Sandbox, references: set[str], reader: User | None) -> None:
        """Attach catalog `datasets` (before the sandbox is locked) with the named versions."""
        from seedbed.privacy import access  # privacy builds on the data domain

        if sandbox.locked:
            raise RuntimeError("Datasets are attached before the sandbox is locked.")
        versions = {reference: resolve(self.workspace, reference) for reference in references}
        grants = {
            reference: access.check_read(self.workspace, reader, version, "sql")
            for reference, version in versions.items()
        }
        sandbox.connection.execute(f"attach ':memory:' as {CATALOG}")
        for reference, version in sorted(versions.items()):
            columns = [c.name for c in version.columns if grants[reference].keeps(c.name)]
            sandbox.feed(reference, self._opener(version, columns), catalog=CATALOG)

    def _opener(self, version: DatasetVersion, columns: list[str]) -> Reader:
        return lambda: _reader(self.workspace, version, columns)

    def parents(self, references: set[str]) -> list[str]:
        """The versions the references stand for, as NAME@VERSION (a snapshot's parents)."""
        return sorted(
            f"{version.dataset}@{version.version}"
            for version in (resolve(self.workspace, r) for r in references)
        )
