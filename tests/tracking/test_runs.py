from __future__ import annotations

import pytest

from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.tracking import runs
from seedbed.tracking.experiments import create_experiment
from seedbed.workspace import Workspace


@pytest.fixture
def experiment_id(workspace: Workspace) -> int:
    return create_experiment(workspace, "delays").id


def test_run_lifecycle(workspace: Workspace, experiment_id: int) -> None:
    run = runs.start_run(workspace, experiment_id, name="first", user="ada", tags={"kind": "x"})
    assert run.status == "RUNNING" and run.end_time is None and run.tags == {"kind": "x"}
    runs.log_params(workspace, run.id, {"alpha": 0.1, "features": "a,b"})
    runs.log_metrics(workspace, run.id, {"auc": 0.7, "loss": 1.0}, step=0)
    runs.log_metrics(workspace, run.id, {"loss": 0.5}, step=1)
    ended = runs.end_run(workspace, run.id)
    assert ended.status == "FINISHED" and ended.end_time is not None
    assert ended.params == {"alpha": "0.1", "features": "a,b"}
    assert ended.metrics == {"auc": 0.7, "loss": 0.5}
    assert [p.value for p in runs.metric_history(workspace, run.id, "loss")] == [1.0, 0.5]
    assert run.artifact_uri.endswith(f"runs/{run.id}/artifacts")


def test_params_are_write_once(workspace: Workspace, experiment_id: int) -> None:
    run = runs.start_run(workspace, experiment_id)
    runs.log_params(workspace, run.id, {"alpha": 1})
    runs.log_params(workspace, run.id, {"alpha": 1})  # the same value again is fine
    with pytest.raises(Conflict, match="write-once"):
        runs.log_params(workspace, run.id, {"alpha": 2, "beta": 3})
    assert runs.get_run(workspace, run.id).params == {"alpha": "1"}  # nothing half-written


def test_latest_metric_is_the_highest_step_not_the_last_write(
    workspace: Workspace, experiment_id: int
) -> None:
    run = runs.start_run(workspace, experiment_id)
    runs.log_metrics(workspace, run.id, {"loss": 0.2}, step=5, timestamp=2000)
    runs.log_metrics(workspace, run.id, {"loss": 0.9}, step=1, timestamp=3000)
    assert runs.get_run(workspace, run.id).metrics == {"loss": 0.2}
    assert [p.step for p in runs.metric_history(workspace, run.id, "loss")] == [1, 5]


def test_tags_can_be_overwritten(workspace: Workspace, experiment_id: int) -> None:
    run = runs.start_run(workspace, experiment_id)
    runs.set_tags(workspace, run.id, {"stage": "try"})
    runs.set_tags(workspace, run.id, {"stage": "final"})
    assert runs.get_run(workspace, run.id).tags == {"stage": "final"}


def test_list_runs_newest_first_with_values(workspace: Workspace, experiment_id: int) -> None:
    first = runs.start_run(workspace, experiment_id, name="a")
    runs.log_metrics(workspace, first.id, {"auc": 0.6})
    second = runs.start_run(workspace, experiment_id, name="b")
    listed = runs.list_runs(workspace, experiment_id)
    assert {r.name for r in listed} == {"a", "b"}
    assert next(r for r in listed if r.id == first.id).metrics == {"auc": 0.6}
    assert next(r for r in listed if r.id == second.id).metrics == {}


def test_bad_input(workspace: Workspace, experiment_id: int) -> None:
    run = runs.start_run(workspace, experiment_id)
    with pytest.raises(Invalid, match="number"):
        runs.log_metrics(workspace, run.id, {"auc": "high"})  # type: ignore[dict-item]
    with pytest.raises(Invalid):
        runs.log_params(workspace, run.id, {"": 1})
    with pytest.raises(Invalid, match="FINISHED"):
        runs.end_run(workspace, run.id, "DONE")
    with pytest.raises(NotFound):
        runs.log_metrics(workspace, "0" * 32, {"auc": 1.0})
    with pytest.raises(NotFound):
        runs.start_run(workspace, 12345)


def test_concurrent_writers_to_one_run_lose_nothing(
    workspace: Workspace, experiment_id: int
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from seedbed.tracking.runs import LoggedMetric

    run = runs.start_run(workspace, experiment_id, "busy", "ada")

    def write(number: int) -> None:
        for batch in range(10):
            runs.log_batch(
                workspace,
                run.id,
                metrics=[LoggedMetric("loss", number, number * 10 + batch, 1)],
                params={"shared": "same", f"p{number}_{batch}": "x"},
                tags={"who": "any", f"t{number}": str(batch)},
            )

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(write, range(6)))
    got = runs.get_run(workspace, run.id)
    assert len(got.params) == 61 and got.params["shared"] == "same"
    assert {got.tags[f"t{n}"] for n in range(6)} == {"9"}
    assert len(runs.metric_history(workspace, run.id, "loss")) == 60
    assert runs.latest_metric_points(workspace, [run.id])[run.id]["loss"].step == 59
    # A different value for a param already written is still refused, whoever wrote it.
    with pytest.raises(Conflict, match="write-once"):
        runs.log_params(workspace, run.id, {"shared": "other"})


def test_move_run_to_another_experiment(workspace: Workspace, experiment_id: int) -> None:
    run = runs.start_run(workspace, experiment_id, "wanderer", "ada")
    runs.log_metrics(workspace, run.id, {"auc": 0.7})
    other = create_experiment(workspace, "elsewhere")
    moved = runs.move_run(workspace, run.id, other.id, "ada")
    assert moved.experiment_id == other.id and moved.metrics == {"auc": 0.7}
    assert [r.id for r in runs.list_runs(workspace, other.id)] == [run.id]
    assert runs.list_runs(workspace, experiment_id) == []
    with pytest.raises(NotFound):
        runs.move_run(workspace, "nope", other.id)
    with pytest.raises(NotFound):
        runs.move_run(workspace, run.id, 9999)
