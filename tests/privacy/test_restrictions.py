"""Restrictions follow lineage: a version derived from restricted data, or whose scan failed,
is readable only with `pii` until someone who has it reviews it; a model trained on PII is
flagged (SQLite and PostgreSQL for the services)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.auth_sessions import token_for
from tests.conftest import api_client

from seedbed.auth import audit
from seedbed.auth.users import create_user
from seedbed.data import datasets
from seedbed.errors import Forbidden, Invalid, NotFound
from seedbed.privacy import access, detection, policies, restrictions, scans
from seedbed.registry import models
from seedbed.tracking import experiments, runs
from seedbed.workspace import Workspace

EMAILS = [f"user{i}@example.org" for i in range(30)]


def publish(
    workspace: Workspace,
    tmp_path: Path,
    name: str,
    columns: dict[str, list[object]],
    **options: object,
) -> datasets.DatasetVersion:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.table(columns), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    version, _ = datasets.publish_parquet(
        workspace,
        name,
        path,
        digest,
        "upload",
        **options,  # type: ignore[arg-type]
    )
    return version


def test_data_derived_from_restricted_data_is_restricted_until_reviewed(
    workspace: Workspace, tmp_path: Path
) -> None:
    publish(workspace, tmp_path, "people", {"id": list(range(30)), "email": EMAILS})
    publish(workspace, tmp_path, "plain", {"id": list(range(30))})
    derived = publish(
        workspace,
        tmp_path,
        "features",
        {"id": list(range(30)), "n": [1] * 30},
        parents=["people@1", "plain"],
    )
    people_id = datasets.get_dataset(workspace, "features").id
    held = restrictions.get(workspace, people_id, derived.version)
    assert held is not None and held.active and held.kind == "derived"
    assert "people v1" in held.reason and "plain" not in held.reason
    assert restrictions.parents_of(workspace, people_id, derived.version) == [
        {"dataset": "people", "version": 1},
        {"dataset": "plain", "version": 1},
    ]
    viewer = create_user(workspace, "vic", role="viewer")
    with pytest.raises(Forbidden, match="derived from restricted data"):
        access.check_read(workspace, viewer, derived, "download")
    with pytest.raises(Forbidden, match="pii permission"):
        restrictions.review(workspace, viewer, "features", derived.version)
    reviewer = create_user(workspace, "rose", role="viewer", pii=True)
    assert access.check_read(workspace, reviewer, derived, "download").restricted
    reviewed = restrictions.review(workspace, reviewer, "features", 1, note="ids only")
    assert not reviewed.active and reviewed.reviewed_by == "rose"
    assert access.check_read(workspace, viewer, derived, "download") == access.Access()
    with pytest.raises(Invalid, match="nothing to review"):
        restrictions.review(workspace, reviewer, "features", 1)
    actions = [e.action for e in audit.recent(workspace, 100)]
    assert "dataset.review" in actions and "dataset.read_restricted" in actions
    # derived from unrestricted data only: not restricted
    clean = publish(workspace, tmp_path, "clean", {"id": [1, 2]}, parents=["plain"])
    assert restrictions.get(workspace, datasets.get_dataset(workspace, "clean").id, 1) is None
    assert clean.version == 1


def test_parents_must_exist(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nobody"):
        publish(workspace, tmp_path, "x", {"id": [1]}, parents=["nobody"])
    publish(workspace, tmp_path, "plain", {"id": [1]})
    with pytest.raises(Invalid, match="NAME@VERSION"):
        publish(workspace, tmp_path, "x", {"id": [1]}, parents=["plain@first"])
    # "²" passes str.isdigit but not int(); a trailing "@" names no version either
    for parent in ("plain@²", "plain@"):
        with pytest.raises(Invalid, match="NAME@VERSION"):
            publish(workspace, tmp_path, "x", {"id": [1]}, parents=[parent])
    with pytest.raises(NotFound):
        datasets.get_dataset(workspace, "x")


def test_a_version_whose_scan_failed_is_restricted_until_a_scan_succeeds(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(path: object) -> detection.ScanResult:
        raise MemoryError("the detector ran out of memory")

    # fault injection: the scanner fails for reasons of its own (no file damage)
    monkeypatch.setattr("seedbed.privacy.protect.scan_parquet", broken)
    version = publish(workspace, tmp_path, "people", {"email": EMAILS})
    dataset_id = datasets.get_dataset(workspace, "people").id
    held = restrictions.get(workspace, dataset_id, 1)
    assert held is not None and held.kind == "scan_failed" and "out of memory" in held.reason
    assert scans.get_scan(workspace, version).status == "failed"
    viewer = create_user(workspace, "vic", role="viewer")
    with pytest.raises(Forbidden):
        access.check_read(workspace, viewer, version, "sample")
    monkeypatch.undo()
    rescanned = scans.scan_version(workspace, "people", 1)
    assert rescanned.actions == {"email": "restrict"}
    assert restrictions.get(workspace, dataset_id, 1) is None
    assert access.check_read(workspace, viewer, version, "sample").withheld == ("email",)


def test_a_model_trained_on_pii_is_flagged(workspace: Workspace, tmp_path: Path) -> None:
    publish(workspace, tmp_path, "people", {"id": list(range(30)), "email": EMAILS})
    policies.set_rules(workspace, {"email": "hash"}, dataset="hashed")
    publish(workspace, tmp_path, "hashed", {"id": list(range(30)), "email": EMAILS})
    experiment = experiments.get_or_create_experiment(workspace, "e")
    flagged_models = []
    for dataset in ("people", "hashed"):
        run = runs.start_run(workspace, experiment.id, name=f"on-{dataset}")
        datasets.record_run_input(workspace, run.id, dataset, 1)
        source = f"{run.artifact_key}/model"
        workspace.artifacts.put_bytes(f"{source}/MLmodel", b"flavors: {}\n")
        flagged_models.append(models.add_version(workspace, f"m-{dataset}", source, run.id))
    on_people = models.get_version(workspace, "m-people", 1)
    assert on_people.trained_on_pii == ["people v1: email (email)"]
    # hashed values are no longer the raw personal data
    assert models.get_version(workspace, "m-hashed", 1).trained_on_pii == []
    assert models.list_versions(workspace, "m-people")[0].trained_on_pii == on_people.trained_on_pii


def test_review_and_restriction_over_http(local_workspace: Workspace, tmp_path: Path) -> None:
    publish(local_workspace, tmp_path, "people", {"id": list(range(30)), "email": EMAILS})
    viewer = {"Authorization": f"Bearer {token_for(local_workspace, 'vic', 'viewer')}"}
    with api_client(local_workspace) as http:
        staged = http.post(
            "/api/v1/uploads", params={"filename": "f.csv"}, content=b"id,n\n1,2\n3,4\n"
        )
        published = http.post(
            f"/api/v1/uploads/{staged.json()['id']}/publish",
            json={"name": "features", "parents": ["people@1"]},
        )
        assert published.status_code == 201, published.text
        shown = http.get("/api/v1/datasets/features/versions/1/restriction").json()
        assert shown["restriction"]["active"] and shown["parents"] == [
            {"dataset": "people", "version": 1}
        ]
        refused = http.get("/api/v1/datasets/features/versions/1/data", headers=viewer)
        assert refused.status_code == 403 and "review" in refused.text
        page = http.get("/ui/data/datasets/features", headers=viewer)
        assert page.status_code == 200 and "Restricted:" in page.text
        assert "Mark reviewed" not in page.text
        assert "Mark reviewed" in http.get("/ui/data/datasets/features").text
        denied = http.post(
            "/api/v1/datasets/features/versions/1/review", json={"note": "x"}, headers=viewer
        )
        assert denied.status_code == 403
        done = http.post("/api/v1/datasets/features/versions/1/review", json={"note": "ok"})
        assert done.status_code == 200 and done.json()["reviewed_by"] == "admin"
        assert (
            http.get("/api/v1/datasets/features/versions/1/data", headers=viewer).status_code == 200
        )
        bad = http.post(
            "/api/v1/uploads/nothing/publish", json={"name": "x", "parents": ["people@x"]}
        )
        assert bad.status_code in (400, 404)
