"""What a run read, as an MLflow client declares it (`log_input`): dataset name and digest.

seedbed's own dataset versions are linked through `seedbed.data.datasets.record_run_input`;
these are the datasets MLflow clients describe, which need not exist in seedbed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from sqlalchemy import bindparam, select

from seedbed.errors import Invalid
from seedbed.tracking.runs import _require_active_run
from seedbed.tracking.tables import run_dataset_inputs
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class DatasetInput:
    """A dataset an MLflow client says a run read (it need not be a seedbed dataset)."""

    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema: str = ""
    profile: str = ""
    tags: dict[str, str] = field(default_factory=dict)


def log_dataset_inputs(workspace: Workspace, run_id: str, inputs: Sequence[DatasetInput]) -> None:
    """Record datasets a run read; one already recorded (same name and digest) is kept as is."""
    rows = {}
    for item in inputs:
        if not item.name or len(item.name) > 500 or len(item.digest) > 36:
            raise Invalid("A dataset input needs a name (≤ 500 chars) and a digest (≤ 36 chars).")
        row = {**asdict(item), "run_id": run_id, "tags": json.dumps(item.tags)}
        rows[(item.name, item.digest)] = {**row, "source_type": item.source_type[:100]}
    table = run_dataset_inputs
    with workspace.engine.begin() as connection:
        _require_active_run(connection, run_id)
        have = connection.execute(
            select(table.c.name, table.c.digest).where(table.c.run_id == run_id)
        ).all()
        new = [row for key, row in rows.items() if key not in {tuple(h) for h in have}]
        if new:
            connection.execute(table.insert(), new)


_OF_RUN = (
    select(run_dataset_inputs)
    .where(run_dataset_inputs.c.run_id == bindparam("run_id"))
    .order_by(run_dataset_inputs.c.name)
)


def dataset_inputs(workspace: Workspace, run_ids: Sequence[str]) -> dict[str, list[DatasetInput]]:
    """The MLflow dataset inputs of each run."""
    found: dict[str, list[DatasetInput]] = {run_id: [] for run_id in run_ids}
    table = run_dataset_inputs
    if len(run_ids) == 1:  # what the MLflow client's "View run" line reads: built once
        query, bound = _OF_RUN, {"run_id": run_ids[0]}
    else:
        query = select(table).where(table.c.run_id.in_(run_ids)).order_by(table.c.name)
        bound = {}
    with workspace.engine.connect() as connection:
        for row in connection.execute(query, bound).mappings():
            values = {k: v for k, v in row.items() if k not in ("run_id", "tags")}
            found[row["run_id"]].append(DatasetInput(**values, tags=json.loads(row["tags"])))
    return found
