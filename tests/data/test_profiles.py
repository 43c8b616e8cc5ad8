from __future__ import annotations

from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from seedbed.data import datasets, profiles
from seedbed.settings import load_settings
from seedbed.workspace import Workspace


def publish(workspace: Workspace, tmp_path: Path, frame: pd.DataFrame) -> datasets.DatasetVersion:
    path = tmp_path / "d.parquet"
    frame.to_parquet(path, index=False)
    version, _ = datasets.publish_parquet(workspace, "d", path, "h", "upload")
    return version


def test_profile_is_computed_once_and_cached(local_workspace: Workspace, tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, None], "c": ["a", "b", "a", "a"]})
    version = publish(local_workspace, tmp_path, frame)
    first = profiles.get_profile(local_workspace, version)
    assert first.rows == 4 and not first.sampled
    assert first.column("x").null_count == 1 and first.column("x").mean == 2.0
    assert first.column("c").top_values[0].value == "a"
    key = version.path.replace("data.parquet", "profile.json")
    assert local_workspace.artifacts.exists(key)
    cached = profiles.get_profile(local_workspace, version)
    assert cached.seconds == first.seconds  # read back, not recomputed
    summary = {c["name"]: c for c in profiles.column_summary(local_workspace, version)}
    assert summary["x"]["null_share"] == 0.25 and "histogram" not in summary["x"]


def test_big_versions_are_sampled_and_say_so(tmp_path: Path) -> None:
    settings = load_settings(workspace=tmp_path / "ws", profile_max_rows=1000)
    with Workspace.open(settings) as workspace:
        version = publish(workspace, tmp_path, pd.DataFrame({"x": range(5000)}))
        profile = profiles.get_profile(workspace, version)
        assert profile.sampled and profile.rows == 5000 and profile.profiled_rows == 1000


def test_profile_api_and_page(client: TestClient) -> None:
    staged = client.post(
        "/api/v1/uploads", params={"filename": "p.csv"}, content=b"a,b\n1,x\n2,y\n3,x\n"
    ).json()
    client.post(f"/api/v1/uploads/{staged['id']}/publish", json={"name": "p"})
    profile = client.get("/api/v1/datasets/p/versions/1/profile").json()
    assert [c["name"] for c in profile["columns"]] == ["a", "b"]
    assert profile["columns"][0]["histogram"]["counts"]
    page = client.get("/ui/data/datasets/p/versions/1/profile")
    assert page.status_code == 200 and "Exact over every row" in page.text
    assert 'id="histogram-0"' in page.text and "/vendor/plotly.min.js" in page.text
    assert client.get("/vendor/plotly.min.js").headers["content-type"].startswith("text/javascript")
    shown = client.get("/api/v1/datasets/p/versions/latest/columns").json()
    assert shown["columns"][0]["distinct_count"] == 3
