"""What a run used, captured where it runs: code version, Python, installed packages, profile.

Tag names are MLflow's where MLflow has one (`mlflow.source.*`, `mlflow.user`), so a run
started by seedbed's SDK reads like one started by the mlflow client.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"
USER = "mlflow.user"
PYTHON_VERSION = "seedbed.python_version"
ENVIRONMENT_HASH = "seedbed.environment_lock"  # sha256 of environment/requirements.txt
RESOURCE_PROFILE = "seedbed.resource_profile"
REQUIREMENTS_ARTIFACT = "environment/requirements.txt"
PROFILE_VARIABLE = "SEEDBED_PROFILE"
JOB_VARIABLE = "SEEDBED_JOB_ID"
JOB_TAG = "seedbed.job_id"


def context_tags(main_file: str | None = None) -> dict[str, str]:
    """The tags describing where and how this process runs (MLflow's names where it has them)."""
    source = main_file if main_file is not None else (sys.argv[0] if sys.argv else "")
    in_notebook = "ipykernel" in sys.modules
    tags = {
        USER: _user(),
        SOURCE_NAME: source or "<console>",
        SOURCE_TYPE: "NOTEBOOK" if in_notebook else "LOCAL",
        PYTHON_VERSION: platform.python_version(),
    }
    # A notebook's argv names the kernel launcher; its code lives where it was started.
    code_at = Path.cwd() if in_notebook or not source else Path(source).resolve()
    tags.update(git_tags(code_at))
    profile = os.environ.get(PROFILE_VARIABLE, "").strip()
    if profile:
        tags[RESOURCE_PROFILE] = profile
    job = os.environ.get(JOB_VARIABLE, "").strip()
    if job:
        tags[JOB_TAG] = job  # links the run to the seedbed job it ran in
    return tags


def _user() -> str:
    try:
        return getpass.getuser()
    except (ImportError, KeyError, OSError):
        return "unknown"


def git_tags(path: Path) -> dict[str, str]:
    """Commit, branch and remote of the git repository holding `path`; {} outside one."""
    folder = path if path.is_dir() else path.parent
    if not folder.is_dir():
        return {}
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return {}
    tags = {GIT_COMMIT: commit}
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        tags[GIT_BRANCH] = branch
    remote = _git(folder, "remote", "get-url", "origin")
    if remote:
        tags[GIT_REPO_URL] = remote
    return tags


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git, or it hung
        return None
    answer = done.stdout.strip()
    return answer if done.returncode == 0 and answer else None


def installed_requirements() -> str:
    """The installed distributions as sorted `name==version` lines (what `pip freeze` lists)."""
    # Reading every distribution's metadata takes ~150 ms; an install or removal changes the
    # modification time of its site-packages folder, so that is the key of a small memo.
    return _requirements(tuple(_folder_stamp(entry) for entry in sys.path))


def _folder_stamp(entry: str) -> tuple[str, int]:
    try:
        return entry, os.stat(entry or ".").st_mtime_ns
    except OSError:
        return entry, 0


@functools.lru_cache(maxsize=4)
def _requirements(_stamps: tuple[tuple[str, int], ...]) -> str:
    pins = set()
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            pins.add(f"{name}=={distribution.version}")
    return "\n".join(sorted(pins, key=str.lower)) + "\n"


def requirements_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
