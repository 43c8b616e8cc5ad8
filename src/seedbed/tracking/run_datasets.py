"""The seedbed dataset versions a run read: named when the run starts or later, read back for
lineage (a dataset page lists its runs, a run its datasets)."""

from __future__ import annotations

from dataclasses import dataclass

from seedbed.data import datasets as dataset_service
from seedbed.tracking.runs import get_run
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class DatasetRef:
    name: str
    version: int


def resolve_inputs(workspace: Workspace, refs: list[tuple[str, int | None]]) -> list[DatasetRef]:
    """Dataset versions named as (name, version or None for the latest); NotFound if any is
    missing, before anything is written."""
    resolved = []
    for name, version in refs:
        found = dataset_service.get_version(workspace, name, version)
        resolved.append(DatasetRef(found.dataset, found.version))
    return resolved


def record_inputs(workspace: Workspace, run_id: str, refs: list[DatasetRef]) -> None:
    """Link a run to the dataset versions it read."""
    get_run(workspace, run_id)
    for ref in refs:
        dataset_service.record_run_input(workspace, run_id, ref.name, ref.version)


def run_inputs(workspace: Workspace, run_id: str) -> list[DatasetRef]:
    """The dataset versions a run read, by name then version."""
    get_run(workspace, run_id)
    pairs = dataset_service.inputs_of_runs(workspace, [run_id])[run_id]
    return [DatasetRef(name, version) for name, version in pairs]
