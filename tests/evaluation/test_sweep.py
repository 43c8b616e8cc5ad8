"""Starting, following and cancelling evaluations over HTTP with the real app: bad specs
and missing data are refused with every problem and leave nothing behind; a good spec
opens a parent run and submits one `evaluation` job per combination."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.auth_sessions import token_for
from tests.conftest import api_client

from seedbed.compute.tables import jobs
from seedbed.data import datasets
from seedbed.evaluation.tables import evaluations
from seedbed.tracking.runs import get_run, start_run
from seedbed.tracking.tables import runs
from seedbed.workspace import Workspace


@pytest.fixture
def http(workspace: Workspace, tmp_path: Path) -> Iterator[TestClient]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=200),
            "carrier": rng.choice(["UA", "AA"], size=200),
            "delayed": rng.integers(0, 2, size=200),
        }
    )
    path = tmp_path / "flights.parquet"
    frame.to_parquet(path)
    datasets.publish_parquet(workspace, "flights", path, "h1", "upload")
    with api_client(workspace) as client:
        yield client


def spec(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "delays",
        "dataset": "flights",
        "target": "delayed",
        "cv_folds": 3,
        "feature_sets": {"all": ["x", "carrier"]},
        "algorithms": [{"estimator": "LogisticRegression", "params": {"C": [0.1, 1.0]}}],
        "baselines": [{"kind": "majority"}],
        "slices": ["carrier"],
    }
    return {**base, **changes}


def counts(workspace: Workspace) -> tuple[int, int, int]:
    with workspace.engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.execute(table.select()).all().__len__()
            for table in (evaluations, runs, jobs)
        )


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        (
            {"spec": spec(target=None, metrics=["rmse"])},
            ["needs `target`"],
        ),
        (
            {"spec": spec(algorithms=[], cv_folds=1)},
            ["algorithms:", "cv_folds:"],
        ),
        (
            {"spec": spec(dataset="nope")},
            ["dataset: No dataset named 'nope'"],
        ),
        (
            {"spec": spec(target="late", feature_sets={"all": ["x", "speed"]}, slices=["hub"])},
            [
                "target: no column 'late'",
                "feature_sets.all: no column 'speed'",
                "slices: no column 'hub'",
            ],
        ),
        (
            {
                "spec": spec(
                    dataset=None, training_set={"entity_rows": "rows", "features": ["weather"]}
                )
            },
            ["training_set.entity_rows: No dataset named 'rows'", "training_set.features:"],
        ),
        (
            {"spec": spec(), "profile": "no-such-profile"},
            ["no-such-profile"],
        ),
    ],
)
def test_bad_specs_are_refused_with_every_problem_and_create_nothing(
    http: TestClient, workspace: Workspace, body: dict[str, Any], problems: list[str]
) -> None:
    before = counts(workspace)
    response = http.post("/api/v1/evaluations", json=body)
    assert response.status_code in (400, 404), response.text
    message = response.json()["error"]["message"]
    for problem in problems:
        assert problem in message
    assert counts(workspace) == before


def test_a_spec_starts_a_parent_run_and_one_job_per_combination_then_cancels(
    http: TestClient, workspace: Workspace
) -> None:
    response = http.post("/api/v1/evaluations", json={"spec": spec(), "profile": "small"})
    assert response.status_code == 201, response.text
    started = response.json()
    assert started["status"] == "running" and started["profile"] == "small"
    labels = [job["label"] for job in started["jobs"]]
    assert labels == [
        "baseline: majority",
        "all x LogisticRegression (C=0.1)",
        "all x LogisticRegression (C=1.0)",
    ]
    parent = get_run(workspace, started["id"])
    assert parent.tags["seedbed.kind"] == "evaluation"
    assert parent.tags["seedbed.primary_metric"] == "roc_auc"
    stored = workspace.artifacts.get_bytes(f"{parent.artifact_key}/evaluation/spec.json")
    assert json.loads(stored)["dataset"] == "flights"

    listed = http.get("/api/v1/jobs").json()
    ours = {job["id"]: job for job in listed if job["kind"] == "evaluation"}
    workers = started["workers"]
    assert set(workers) == set(ours) and 1 <= len(workers) <= 3  # as many as fit side by side
    for number, worker in enumerate(workers, start=1):
        job = ours[worker]
        assert job["name"] == f"delays: worker {number} of {len(workers)}"
        assert job["profile"] == "small"
        command = job["command"]
        assert command[1:3] == ["-P", str(Path(command[2]))] and command[2].endswith("job.py")
        assert command[4:] == ["--worker", worker, started["id"]]
        assert json.loads(Path(command[3]).read_text())["name"] == "delays"
    # Workers claim combinations one at a time, slowest first, never one twice.
    claim = f"/api/v1/evaluations/{started['id']}/claim"
    stranger = http.post(claim, json={"worker": "not-a-worker"})
    assert stranger.status_code == 400 and "not a worker" in stranger.json()["error"]["message"]
    claimed = [http.post(claim, json={"worker": workers[0]}).json()["index"] for _ in range(4)]
    unclaimed = [
        i["index"]
        for i in http.get(f"/api/v1/evaluations/{started['id']}").json()["evaluation"]["jobs"]
        if not i["job_id"]
    ]
    assert unclaimed == [] and claimed[3] is None
    assert claimed[:3] == [1, 2, 0] or set(claimed[:3]) == {0, 1, 2}  # a worker may have won one

    assert [e["id"] for e in http.get("/api/v1/evaluations").json()] == [started["id"]]
    other = {"Authorization": f"Bearer {token_for(workspace, 'bo', 'editor')}"}
    refused = http.post(f"/api/v1/evaluations/{started['id']}/cancel", headers=other)
    assert refused.status_code == 403
    viewer = {"Authorization": f"Bearer {token_for(workspace, 'vi', 'viewer')}"}
    assert (
        http.post("/api/v1/evaluations", json={"spec": spec()}, headers=viewer).status_code == 403
    )
    cancelled = http.post(f"/api/v1/evaluations/{started['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert get_run(workspace, started["id"]).status == "KILLED"
    again = http.post(f"/api/v1/evaluations/{started['id']}/cancel")
    assert again.status_code == 400 and "ended already" in again.json()["error"]["message"]
    shown = http.get(f"/api/v1/evaluations/{started['id']}").json()
    assert shown["evaluation"]["status"] == "cancelled"
    assert shown["report"]["primary_metric"] == "roc_auc"
    service = http.app.state.jobs  # type: ignore[attr-defined]
    for worker in workers:  # their ends are recorded by threads: let them finish first
        service.wait(worker, timeout_s=30)


def test_registering_needs_a_model_run_of_that_evaluation(
    http: TestClient, workspace: Workspace
) -> None:
    started = http.post("/api/v1/evaluations", json={"spec": spec()}).json()
    http.post(f"/api/v1/evaluations/{started['id']}/cancel")
    parent = get_run(workspace, started["id"])
    stranger = start_run(workspace, parent.experiment_id, "elsewhere", "admin")
    response = http.post(
        f"/api/v1/evaluations/{started['id']}/register",
        json={"run_id": stranger.id, "model_name": "delay"},
    )
    assert response.status_code == 400
    assert "is not a run of evaluation" in response.json()["error"]["message"]
    missing = http.get("/api/v1/evaluations/0123456789abcdef")
    assert missing.status_code == 404


def test_the_slowest_combinations_are_submitted_first() -> None:
    from seedbed.evaluation.spec import parse_spec
    from seedbed.evaluation.sweep import longest_first

    chosen = parse_spec(
        {
            "dataset": "d",
            "target": "y",
            "feature_sets": {"narrow": ["a"], "wide": ["a", "b", "c"]},
            "algorithms": [{"estimator": "LogisticRegression"}],
            "baselines": [{"kind": "majority"}],
        }
    )
    order = [(c.kind, c.feature_set) for c in longest_first(chosen)]
    assert order == [("model", "wide"), ("model", "narrow"), ("baseline", "")]
    assert sorted(c.index for c in longest_first(chosen)) == [0, 1, 2]
