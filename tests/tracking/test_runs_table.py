"""The runs-table service on both metadata backends: keys, counts, differences."""

from __future__ import annotations

from seedbed.tracking.experiments import create_experiment
from seedbed.tracking.runs import LoggedMetric, delete_run, log_batch, start_run
from seedbed.tracking.runs_table import (
    Column,
    TableView,
    count_runs,
    experiment_keys,
    parse_sort,
    runs_table,
)
from seedbed.workspace import Workspace


def test_keys_counts_and_differences(workspace: Workspace) -> None:
    mine = create_experiment(workspace, "mine")
    other = create_experiment(workspace, "other")
    for n in range(3):
        run = start_run(workspace, mine.id, name=f"r{n}", tags={"mlflow.user": "x"})
        log_batch(
            workspace,
            run.id,
            params={"alpha": n, "fixed": "yes"},
            metrics=[LoggedMetric("auc", 0.5 + n / 10)],
            tags={"kind": "sweep"},
        )
    gone = start_run(workspace, mine.id, name="gone")
    log_batch(workspace, gone.id, params={"deleted_only": 1})
    delete_run(workspace, gone.id)
    elsewhere = start_run(workspace, other.id, name="x")
    log_batch(workspace, elsewhere.id, params={"other_only": 1})

    assert experiment_keys(workspace, mine.id) == {
        "params": ["alpha", "fixed"],
        "metrics": ["auc"],
        "tags": ["kind"],  # mlflow.* bookkeeping tags are left out
    }
    assert count_runs(workspace, mine.id) == 3
    assert count_runs(workspace, mine.id, "metrics.auc > 0.65 or params.alpha = '0'") == 2

    table = runs_table(
        workspace, mine.id, TableView(differences_only=True, sort=parse_sort("metrics.auc desc"))
    )
    assert [run.name for run in table.runs] == ["r2", "r1", "r0"]
    assert [c.name for c in table.columns] == ["metrics.auc", "params.alpha"]
    assert table.hidden_same == [Column("params", "fixed")]


def test_a_bad_filter_is_an_error_not_an_exception(workspace: Workspace) -> None:
    experiment = create_experiment(workspace, "e")
    table = runs_table(workspace, experiment.id, TableView(filter="params.a = "))
    assert table.runs == [] and table.error is not None and "position 12" in table.error
