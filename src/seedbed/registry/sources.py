"""Where a model version's files live (its `source`, an artifact-store key) and whose they are.

A version records the run it came from, and its PII flag and lineage follow that run
(models._flag_pii), so its files must lie under that run's artifacts: `runs/<run>/artifacts/…`,
or a logged model's folder `models/<id>/artifacts/…`, which belongs to the run that logged it.
A path that could climb out (`..`, an absolute path, a backslash, an encoded traversal) would let
a version record one run while serving another run's model, so it is refused.
"""

from __future__ import annotations

import re

from seedbed.errors import Invalid
from seedbed.registry import logged_models
from seedbed.tracking.runs import Run
from seedbed.workspace import Workspace

RUN_KEY = re.compile(r"runs/([0-9a-f]{32})/artifacts(?:/.*)?")
MODEL_KEY = re.compile(r"models/(m-[0-9a-f]{32})/artifacts(?:/.*)?")


def clean_path(path: str) -> str:
    """`path` as a relative, '/'-separated path; Invalid if it could leave the folder it names."""
    # The artifact proxy's own rules, so every way into the store refuses the same traversals;
    # imported here because that module pulls in the web layer, which imports the registry.
    from seedbed.tracking.mlflow_artifacts import safe_path

    return safe_path(path)


def run_model_key(run: Run, artifact_path: str) -> str:
    """The store key of the folder a run logged at `artifact_path` (inside the run's artifacts)."""
    return f"{run.artifact_key}/{clean_path(artifact_path)}".rstrip("/")


def owner_run(workspace: Workspace, key: str) -> str | None:
    """The run whose files `key` names: the run itself, or the run that logged a logged model;
    None for files outside any run (and for a logged model logged outside a run)."""
    found = RUN_KEY.fullmatch(key)
    if found:
        return found[1]
    found = MODEL_KEY.fullmatch(key)
    if found:
        return logged_models.get(workspace, found[1]).source_run_id
    return None


def recorded_run(workspace: Workspace, key: str, run_id: str | None) -> str | None:
    """The run a version of the files at `key` records: the run they belong to. Invalid when
    `run_id` names another run, since the version's PII flag and lineage would follow it."""
    owner = owner_run(workspace, key)
    if run_id is not None and run_id != owner:
        belongs = f"run {owner}" if owner else "no run"
        raise Invalid(
            f"Run {run_id} does not match the model files at {key!r}, which belong to "
            f"{belongs}: a version records the run that logged its model; give that run, or "
            "leave the run out and it is recorded."
        )
    return owner
