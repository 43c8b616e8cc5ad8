"""A version's files lie under the artifacts of the run it records, so the version's PII flag
and lineage are those of the run that trained the model it serves (seedbed's API and MLflow's)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.conftest import api_client

from registry_models import log_small_model
from seedbed.data import datasets
from seedbed.errors import Invalid
from seedbed.registry import logged_models, models
from seedbed.tracking import run_artifacts
from seedbed.tracking.runs import Run, start_run
from seedbed.workspace import Workspace

FLAG = ["people v1: email (email)"]


def trained_on_people(workspace: Workspace, tmp_path: Path) -> Run:
    """A run that read a dataset of e-mail addresses and logged a model at `model`."""
    path = tmp_path / "people.parquet"
    emails = [f"user{i}@example.org" for i in range(30)]
    pq.write_table(pa.table({"id": list(range(30)), "email": emails}), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    datasets.publish_parquet(workspace, "people", path, digest, "upload")
    run = log_small_model(workspace)
    datasets.record_run_input(workspace, run.id, "people", 1)
    return run


def test_the_api_refuses_an_artifact_path_that_leaves_the_run(
    local_workspace: Workspace, tmp_path: Path
) -> None:
    trained = trained_on_people(local_workspace, tmp_path)
    clean = start_run(local_workspace, trained.experiment_id)
    other = f"{trained.id}/artifacts/model"
    with api_client(local_workspace) as http:
        for path in (
            f"../../{other}",
            f"model/../../../{other}",
            f"%2e%2e/%2e%2e/{other}",
            f"%252e%252e/%252e%252e/{other}",
            f"..\\..\\{trained.id}\\artifacts\\model",
            f"/runs/{other}",
        ):
            answer = http.post(
                "/api/v1/models/leaky/versions", json={"run_id": clean.id, "artifact_path": path}
            )
            assert answer.status_code == 400, (path, answer.text)
            message = answer.json()["error"]["message"]
            assert repr(path) in message and "relative path" in message, message
        assert http.get("/api/v1/models/leaky").status_code == 404  # nothing registered

        made = http.post("/api/v1/models/leaky/versions", json={"run_id": trained.id})
        assert made.status_code == 201, made.text
        assert made.json()["run_id"] == trained.id
        assert made.json()["trained_on_pii"] == FLAG


def test_mlflow_records_the_run_whose_files_a_version_serves(
    local_workspace: Workspace, tmp_path: Path
) -> None:
    trained = trained_on_people(local_workspace, tmp_path)
    clean = start_run(local_workspace, trained.experiment_id)
    logged = run_artifacts.log_run_model(local_workspace, trained.id, "model")
    experiment = trained.experiment_id
    its_sources = [
        f"runs:/{trained.id}/model",
        f"models:/{logged.id}",
        f"mlflow-artifacts:/{experiment}/{trained.id}/artifacts/model",
        f"mlflow-artifacts:/{experiment}/models/{logged.id}/artifacts",
    ]
    create = "/api/2.0/mlflow/model-versions/create"
    with api_client(local_workspace) as http:
        for source in its_sources:
            answer = http.post(create, json={"name": "m", "source": source, "run_id": clean.id})
            assert answer.status_code == 400, (source, answer.text)
            assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
            message = answer.json()["message"]
            assert "does not match" in message and f"run {trained.id}" in message, message
        for source in (
            f"runs:/{clean.id}/../../{trained.id}/artifacts/model",
            f"runs:/{clean.id}/%2e%2e/%2e%2e/{trained.id}/artifacts/model",
        ):
            answer = http.post(create, json={"name": "m", "source": source, "run_id": clean.id})
            assert answer.status_code == 400, (source, answer.text)
            assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
            assert "relative path" in answer.json()["message"]
        assert http.get("/api/v1/models/m").status_code == 404

        # A source alone records the run its files belong to; a matching run_id is accepted.
        for source in its_sources:
            made = http.post(create, json={"name": "m", "source": source})
            assert made.status_code == 200, made.text
            assert made.json()["model_version"]["run_id"] == trained.id
        again = http.post(
            create, json={"name": "m", "source": its_sources[1], "run_id": trained.id}
        )
        assert again.status_code == 200, again.text
        versions = http.get("/api/v1/models/m/versions").json()
    assert [v["run_id"] for v in versions] == [trained.id] * 5
    assert all(v["trained_on_pii"] == FLAG for v in versions)


def test_add_version_keeps_source_and_run_together(workspace: Workspace, tmp_path: Path) -> None:
    trained = trained_on_people(workspace, tmp_path)
    clean = start_run(workspace, trained.experiment_id)
    mismatch = f"Run {clean.id} does not match .* belong to run {trained.id}"
    with pytest.raises(Invalid, match=mismatch):
        models.add_version(workspace, "m", f"{trained.artifact_key}/model", clean.id)
    with pytest.raises(Invalid, match="not allowed"):
        models.add_version(workspace, "m", f"{clean.artifact_key}/../../{trained.id}/model", None)
    with pytest.raises(Invalid, match="not allowed"):
        models.register_version(workspace, "m", clean.id, f"../../{trained.id}/artifacts/model")
    # A model logged outside any run records no run, and cannot be given one.
    outside = logged_models.create(workspace, trained.experiment_id, "outside")
    workspace.artifacts.put_bytes(f"{outside.artifact_key}/MLmodel", b"flavors: {}\n")
    with pytest.raises(Invalid, match="belong to no run"):
        models.add_version(workspace, "m", outside.artifact_key, clean.id)
    assert models.add_version(workspace, "m", outside.artifact_key, None).run_id is None

    found = models.add_version(workspace, "m", f"{trained.artifact_key}/model/", None)
    assert (found.run_id, found.source) == (trained.id, f"{trained.artifact_key}/model")
    assert found.trained_on_pii == FLAG
    assert models.register_version(workspace, "m", trained.id).trained_on_pii == FLAG
