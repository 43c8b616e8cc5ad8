"""Lineage of a dataset version: the runs that read it and the models made from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from seedbed.data.datasets import dataset_id
from seedbed.registry.tables import model_versions
from seedbed.tracking.tables import run_inputs, runs
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class Lineage:
    runs: list[dict[str, Any]]
    models: list[dict[str, Any]]


def lineage(workspace: Workspace, name: str, version: int) -> Lineage:
    """The runs that read a version, and the model versions registered from those runs."""
    found = dataset_id(workspace, name)
    with workspace.engine.connect() as connection:
        used_by = (
            connection.execute(
                select(runs.c.id, runs.c.name, runs.c.experiment_id)
                .join(run_inputs, run_inputs.c.run_id == runs.c.id)
                .where(run_inputs.c.dataset_id == found, run_inputs.c.version == version)
            )
            .mappings()
            .all()
        )
        run_ids = [r["id"] for r in used_by]
        models = (
            connection.execute(
                select(
                    model_versions.c.name, model_versions.c.version, model_versions.c.run_id
                ).where(model_versions.c.run_id.in_(run_ids))
            )
            .mappings()
            .all()
            if run_ids
            else []
        )
    return Lineage(runs=[dict(r) for r in used_by], models=[dict(m) for m in models])
