"""Profiles of dataset versions: computed once with DuckDB, cached beside the Parquet file."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import duckdb

from seedbed.data.datasets import DatasetVersion, local_parquet
from seedbed.data.profiling import Profile, profile_parquet
from seedbed.workspace import Workspace


def _key(version: DatasetVersion) -> str:
    return version.path.rsplit("/", 1)[0] + "/profile.json"


def get_profile(workspace: Workspace, version: DatasetVersion, refresh: bool = False) -> Profile:
    """The version's profile; versions never change, so the cached one stays right."""
    key = _key(version)
    if not refresh and workspace.artifacts.exists(key):
        return Profile.from_dict(json.loads(workspace.artifacts.get_bytes(key)))
    with local_parquet(workspace, version) as path, duckdb.connect() as connection:
        profile = profile_parquet(
            connection, str(path), max_rows=workspace.settings.profile_max_rows
        )
    workspace.artifacts.put_bytes(key, json.dumps(profile.to_dict()).encode())
    return profile


def column_summary(workspace: Workspace, version: DatasetVersion) -> list[dict[str, Any]]:
    """Each column's name and type with its statistics, for `seedbed data show`."""
    profile = get_profile(workspace, version)
    summary = []
    for column in profile.columns:
        stats = asdict(column)
        stats.pop("histogram", None)
        summary.append(stats)
    return summary


def withhold(profile: dict[str, Any], withheld: tuple[str, ...]) -> dict[str, Any]:
    """A profile (as a dict) without the statistics of withheld columns: their min, max and
    top values are their data. Correlations involving them go too."""
    if not withheld:
        return profile
    hidden = set(withheld)
    columns = [
        {"name": c["name"], "type": c["type"], "kind": c.get("kind"), "withheld": True}
        if c["name"] in hidden
        else c
        for c in profile["columns"]
    ]
    correlations = profile.get("correlations")
    if correlations is not None:
        keep = [i for i, name in enumerate(correlations["columns"]) if name not in hidden]
        correlations = {
            **correlations,
            "columns": [correlations["columns"][i] for i in keep],
            "matrix": [[correlations["matrix"][i][j] for j in keep] for i in keep],
        }
    return {**profile, "columns": columns, "correlations": correlations}
