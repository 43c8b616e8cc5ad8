from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from seedbed.data import datasets
from seedbed.data.lineage import lineage as dataset_lineage
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.registry.models import register_version
from seedbed.workspace import Workspace


def parquet(tmp_path: Path, frame: pd.DataFrame, name: str = "x.parquet") -> Path:
    path = tmp_path / name
    frame.to_parquet(path, index=False)
    return path


def test_publish_versions_and_read_back(workspace: Workspace, tmp_path: Path) -> None:
    first, created = datasets.publish_parquet(
        workspace,
        "sales",
        parquet(tmp_path, pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})),
        "h1",
        "upload",
        {"filename": "sales.csv"},
        author="ada",
        description="Sales",
    )
    assert created and first.version == 1 and first.rows == 2
    assert [(c.name, c.type) for c in first.columns] == [("a", "BIGINT"), ("b", "VARCHAR")]
    second, created = datasets.publish_parquet(
        workspace, "sales", parquet(tmp_path, pd.DataFrame({"a": [3]})), "h2", "query"
    )
    assert created and second.version == 2
    dataset = datasets.get_dataset(workspace, "sales")
    assert [v.version for v in dataset.versions] == [2, 1] and dataset.owner == "ada"
    assert datasets.get_version(workspace, "sales").version == 2
    assert datasets.sample(workspace, first).to_pydict() == {"a": [1, 2], "b": ["x", "y"]}
    assert workspace.artifacts.exists(first.path)
    assert [d.name for d in datasets.list_datasets(workspace)] == ["sales"]


def test_identical_content_adds_no_version(workspace: Workspace, tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1]})
    datasets.publish_parquet(workspace, "d", parquet(tmp_path, frame), "same", "upload")
    again, created = datasets.publish_parquet(
        workspace, "d", parquet(tmp_path, frame, "y.parquet"), "same", "upload"
    )
    assert not created and again.version == 1
    assert len(datasets.get_dataset(workspace, "d").versions) == 1


def test_bad_names_and_sources(workspace: Workspace, tmp_path: Path) -> None:
    path = parquet(tmp_path, pd.DataFrame({"a": [1]}))
    with pytest.raises(Invalid, match="not allowed"):
        datasets.publish_parquet(workspace, "no spaces", path, "h", "upload")
    with pytest.raises(Invalid, match="Source"):
        datasets.publish_parquet(workspace, "d", path, "h", "email")
    with pytest.raises(NotFound):
        datasets.get_dataset(workspace, "d")  # nothing half-written
    assert workspace.artifacts.list("datasets") == []


def test_missing_versions(workspace: Workspace, tmp_path: Path) -> None:
    datasets.publish_parquet(
        workspace, "d", parquet(tmp_path, pd.DataFrame({"a": [1]})), "h", "upload"
    )
    with pytest.raises(NotFound, match="versions: 1"):
        datasets.get_version(workspace, "d", 7)
    with pytest.raises(NotFound, match="seedbed data list"):
        datasets.get_dataset(workspace, "nope")


def test_soft_delete_refused_while_a_model_depends(workspace: Workspace, tmp_path: Path) -> None:
    from registry_models import log_small_model  # the registry tests' tiny logged model

    datasets.publish_parquet(
        workspace, "d", parquet(tmp_path, pd.DataFrame({"a": [1]})), "h1", "upload"
    )
    datasets.publish_parquet(
        workspace, "d", parquet(tmp_path, pd.DataFrame({"a": [2]})), "h2", "upload"
    )
    run = log_small_model(workspace)
    datasets.record_run_input(workspace, run.id, "d", 1)
    assert [r["id"] for r in dataset_lineage(workspace, "d", 1).runs] == [run.id]
    assert datasets.inputs_of_runs(workspace, [run.id, "other"]) == {
        run.id: [("d", 1)],
        "other": [],
    }
    datasets.delete_version(workspace, "d", 2)  # no model: allowed
    assert [v.version for v in datasets.get_dataset(workspace, "d").versions] == [1]
    register_version(workspace, "m", run.id)
    with pytest.raises(Conflict, match="m v1"):
        datasets.delete_version(workspace, "d", 1)
    assert datasets.get_version(workspace, "d", 1).version == 1
