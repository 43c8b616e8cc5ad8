"""A run's artifacts as seedbed's SDK reads and writes them, and the models it logs.

Files live under the run's store key `runs/<id>/artifacts`, where MLflow's artifact proxy, the
run page and the registry find them too. Paths are checked with the proxy's own rules
(`mlflow_artifacts.safe_path`), so a traversal is refused the same way on both APIs.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from seedbed.errors import Invalid, NotFound
from seedbed.registry import logged_models
from seedbed.registry.logged_models import LoggedModel
from seedbed.tracking.mlflow_artifacts import TEMPORARY, safe_path
from seedbed.tracking.runs import get_run
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class ArtifactFile:
    path: str  # relative to the run's artifact root, '/' separated
    size: int


def artifact_path(path: str) -> str:
    """`path` checked and normalised; an empty or traversing path is Invalid."""
    clean = safe_path(path)
    if not clean:
        raise Invalid("Name the artifact: an empty path points at the run's artifact root.")
    return clean


def proxy_path(workspace: Workspace, run_id: str, path: str) -> str:
    """The MLflow artifact-proxy path of a run's artifact (`<experiment>/<run>/artifacts/…`)."""
    run = get_run(workspace, run_id)
    return f"{run.experiment_id}/{run.id}/artifacts/{artifact_path(path)}"


def list_artifacts(workspace: Workspace, run_id: str, prefix: str = "") -> list[ArtifactFile]:
    """Every file a run logged (under `prefix`, if given), with its size, sorted by path."""
    run = get_run(workspace, run_id)
    clean = safe_path(prefix) if prefix else ""
    store = workspace.artifacts
    base = store.path(f"{run.artifact_key}/{clean}".rstrip("/"))
    if not store.fs.isdir(base):
        return []
    found = []
    for name, info in sorted(store.fs.find(base, detail=True).items()):
        relative = posixpath.relpath(str(name), store.path(run.artifact_key))
        if not TEMPORARY.search(relative):
            found.append(ArtifactFile(relative, int(info.get("size") or 0)))
    return found


def artifact_file(workspace: Workspace, run_id: str, path: str) -> ArtifactFile:
    """One artifact file with its size; NotFound when there is no file at `path`."""
    clean = artifact_path(path)
    store = workspace.artifacts
    target = store.path(f"{get_run(workspace, run_id).artifact_key}/{clean}")
    if not store.fs.isfile(target):
        raise NotFound(f"Run {run_id} has no artifact file {clean!r}.")
    return ArtifactFile(clean, int(store.fs.size(target) or 0))


def log_run_model(
    workspace: Workspace, run_id: str, path: str, model_type: str = "", user: str = ""
) -> LoggedModel:
    """Publish the MLmodel folder a run uploaded at `path` as an MLflow 3 logged model.

    The files stay in the run's artifacts (the run page shows them; `runs:/<run>/<path>`
    reads them) and are copied to the logged model's own folder, which MLflow 3 clients read
    when they resolve `runs:/` or `models:/m-…` URIs.
    """
    clean = artifact_path(path)
    run = get_run(workspace, run_id)
    source = f"{run.artifact_key}/{clean}"
    store = workspace.artifacts
    if not store.exists(f"{source}/MLmodel"):
        raise Invalid(f"Run {run_id} has no model at {clean!r}: upload the MLmodel folder first.")
    model = logged_models.create(workspace, run.experiment_id, clean, model_type, run.id, user=user)
    try:
        for key in store.list(source):
            if not TEMPORARY.search(key):
                target = store.path(f"{model.artifact_key}/{key}")
                store.fs.makedirs(posixpath.dirname(target), exist_ok=True)
                store.fs.cp_file(store.path(f"{source}/{key}"), target)
    except BaseException:
        logged_models.delete(workspace, model.id)
        raise
    return logged_models.finalize(workspace, model.id, "LOGGED_MODEL_READY")
