"""Reading a feature view's source: a warehouse table or view, or a dataset version.

Only the columns a computation needs are read, as Arrow. Dataset sources go through the
privacy rules like any other read: restricted columns are refused to readers without the
`pii` permission, and reads by those who may are audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from seedbed.data import datasets
from seedbed.data.warehouse import quote_identifier
from seedbed.errors import Forbidden, Invalid, NotFound
from seedbed.workspace import Workspace

if TYPE_CHECKING:
    from seedbed.auth.users import User

TIME_TYPES = (
    "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE",
    "TIMESTAMP_S",
    "TIMESTAMP_MS",
    "TIMESTAMP_NS",
    "DATE",
)
NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL",
)  # fmt: skip


def is_time(kind: str) -> bool:
    return kind.upper() in TIME_TYPES


def is_aware(kind: str) -> bool:
    return kind.upper() == "TIMESTAMP WITH TIME ZONE"


def is_numeric(kind: str) -> bool:
    upper = kind.upper()
    return upper in NUMERIC_TYPES or upper.startswith("DECIMAL")


@dataclass(frozen=True)
class SourceTable:
    """A source's columns (name → DuckDB type) and, for datasets, the version read."""

    label: str
    columns: dict[str, str]
    version: str | None = None  # NAME@VERSION of a dataset source


def describe(workspace: Workspace, source: Mapping[str, Any]) -> SourceTable:
    """The columns of a source as it is now; NotFound when it does not exist."""
    if source.get("table"):
        info = workspace.warehouse.describe(source["table"])
        return SourceTable(f"table {info.name}", {c.name: c.type for c in info.columns})
    version = dataset_version(workspace, str(source["dataset"]))
    return SourceTable(
        f"dataset {version.dataset}@{version.version}",
        {c.name: c.type for c in version.columns},
        f"{version.dataset}@{version.version}",
    )


def dataset_version(workspace: Workspace, reference: str) -> datasets.DatasetVersion:
    """The version a dataset source names: NAME (the latest) or NAME@VERSION."""
    parsed = datasets.split_reference(reference)
    if parsed is None:
        raise Invalid(f"Dataset source {reference!r} names no version: use NAME or NAME@2.")
    return datasets.get_version(workspace, *parsed)


def read(
    workspace: Workspace,
    source: Mapping[str, Any],
    columns: list[str],
    reader: User | None,
) -> tuple[pa.Table, SourceTable]:
    """The named columns of a source, as Arrow, for `reader` (None: the server itself)."""
    described = describe(workspace, source)
    missing = [c for c in columns if c not in described.columns]
    if missing:
        raise Invalid(
            f"The {described.label} has no column {', '.join(missing)}: apply the feature "
            "definitions again after changing a source."
        )
    wanted = list(dict.fromkeys(columns))
    if source.get("table"):
        select = ", ".join(quote_identifier(c) for c in wanted)
        relation = workspace.warehouse.cursor().sql(
            f"select {select} from {quote_identifier(source['table'])}"
        )
        return relation.to_arrow_table(), described
    from seedbed.privacy import access  # privacy builds on the data domain

    version = dataset_version(workspace, str(source["dataset"]))
    grant = access.check_read(workspace, reader, version, "features")
    withheld = [c for c in wanted if not grant.keeps(c)]
    if withheld:
        raise Forbidden(
            f"Columns {', '.join(withheld)} of {described.label} are restricted (PII): only "
            "users with the pii permission may compute features from them."
        )
    local = workspace.artifacts.local_path(version.path)
    if local is not None:
        table = pq.read_table(str(local), columns=wanted)
    else:
        table = pq.read_table(
            pa.BufferReader(workspace.artifacts.get_bytes(version.path)), columns=wanted
        )
    return table, described


def exists(workspace: Workspace, source: Mapping[str, Any]) -> bool:
    try:
        describe(workspace, source)
    except NotFound:
        return False
    return True
