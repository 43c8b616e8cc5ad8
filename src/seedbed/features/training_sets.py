"""Training sets: entity rows with point-in-time features, saved as a dataset version whose
lineage names the definitions, the features and the datasets they were computed from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from seedbed.data import datasets
from seedbed.data.datasets import DatasetVersion
from seedbed.errors import Invalid
from seedbed.features import offline, registry, source_data
from seedbed.workspace import Workspace

if TYPE_CHECKING:
    from seedbed.auth.users import User

DEFAULT_NAME = "training-set"


@dataclass
class TrainingSet:
    table: pa.Table
    definitions_version: int
    features: dict[str, str]  # output column → view:feature
    warnings: list[str] = field(default_factory=list)
    dataset: DatasetVersion | None = None


def entity_rows(workspace: Workspace, reference: str, reader: User | None) -> pa.Table:
    """The rows of a dataset version, without the columns `reader` may not see."""
    from seedbed.privacy import access  # privacy builds on the data domain

    version = source_data.dataset_version(workspace, reference)
    grant = access.check_read(workspace, reader, version, "features")
    columns = [c.name for c in version.columns if grant.keeps(c.name)]
    table, _ = source_data.read(workspace, {"dataset": reference}, columns, reader)
    return table


def build(
    workspace: Workspace,
    entity: pa.Table,
    features: Sequence[str],
    timestamp: str | None = None,
    label: str | None = None,
    reader: User | None = None,
    full_names: bool = False,
    version: int | None = None,
) -> tuple[TrainingSet, list[str]]:
    """Compute a training set; also returns the dataset versions it read (its parents)."""
    registered = registry.get(workspace, version)
    if label is not None and label not in entity.column_names:
        raise Invalid(
            f"The label {label!r} is not a column of the entity rows "
            f"(columns: {', '.join(entity.column_names)})."
        )
    result = offline.compute(
        workspace, registered.spec, entity, features, timestamp, reader, full_names
    )
    table = result.table
    if label is not None:
        if label in result.columns:
            raise Invalid(f"The label {label!r} is also the name of a feature.")
        table = table.drop_columns([label]).append_column(label, table.column(label))
    built = TrainingSet(table, registered.version, result.columns, result.warnings)
    return built, result.sources


def save(
    workspace: Workspace,
    built: TrainingSet,
    name: str,
    user: User | None,
    parents: list[str],
    detail: dict[str, Any],
) -> DatasetVersion:
    """Publish the training set as the next version of dataset `name`."""
    from seedbed.auth.permissions import require
    from seedbed.data.sources import publish_stream

    datasets.check_name(name)
    if user is not None:
        require(user, "write")
    reader = pa.RecordBatchReader.from_batches(built.table.schema, built.table.to_batches())
    full = {
        "definitions_version": built.definitions_version,
        "features": sorted(set(built.features.values())),
        **detail,
    }
    version, _ = publish_stream(
        workspace,
        name,
        reader,
        "features",
        full,
        user.username if user else "",
        parents=sorted(set(parents)),
    )
    built.dataset = version
    return version
