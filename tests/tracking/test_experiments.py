from __future__ import annotations

import pytest

from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.tracking import experiments
from seedbed.tracking.runs import start_run
from seedbed.workspace import Workspace


def test_create_get_and_list(workspace: Workspace) -> None:
    first = experiments.create_experiment(workspace, "churn", "Who leaves?")
    second = experiments.create_experiment(workspace, "delays")
    assert experiments.get_experiment(workspace, first.id).description == "Who leaves?"
    assert experiments.get_experiment_by_name(workspace, "delays") == second
    assert first.artifact_location.endswith(f"experiments/{first.id}")
    start_run(workspace, first.id)
    listed = {e.name: e.run_count for e in experiments.list_experiments(workspace)}
    assert listed == {"churn": 1, "delays": 0}


def test_names_are_unique_and_required(workspace: Workspace) -> None:
    experiments.create_experiment(workspace, "churn")
    with pytest.raises(Conflict):
        experiments.create_experiment(workspace, "churn")
    with pytest.raises(Invalid):
        experiments.create_experiment(workspace, "  ")


def test_get_or_create_is_idempotent(workspace: Workspace) -> None:
    made = experiments.get_or_create_experiment(workspace, "x")
    assert experiments.get_or_create_experiment(workspace, "x").id == made.id


def test_missing_experiment(workspace: Workspace) -> None:
    with pytest.raises(NotFound):
        experiments.get_experiment(workspace, 999)
