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
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"
USER = "mlflow.user"
PYTHON_VERSION = "seedbed.python_version"
ENVIRONMENT_NAME = "seedbed.environment"  # the workspace environment the process runs in
# sha256 of the workspace environment's lock (its requirements.lock header) when the process
# runs in one, else of environment/requirements.txt (the exact installed distributions)
ENVIRONMENT_HASH = "seedbed.environment_lock"
LIB_VERSION = "seedbed.lib_version"  # content hash of the workspace lib/ the process imports
LIB_VARIABLE = "SEEDBED_WORKSPACE_LIB"
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
    pins: dict[str, str] = {}
    for distribution in metadata.distributions():  # in sys.path order
        name = distribution.metadata["Name"]
        key = canonicalize_name(name) if name else ""
        # An environment's own version of a package shadows the server's: the first is imported.
        if key and key not in pins:
            pins[key] = f"{name}=={distribution.version}"
    return "\n".join(sorted(pins.values(), key=str.lower)) + "\n"


def requirements_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def environment_tags(requirements: str) -> dict[str, str]:
    """The environment's name and lock hash when this process runs in a workspace
    environment; else the hash of `requirements` (the installed distributions), if any."""
    found = workspace_environment()
    if found is not None:
        name, lock = found
        return {ENVIRONMENT_NAME: name, ENVIRONMENT_HASH: lock}
    return {ENVIRONMENT_HASH: requirements_hash(requirements)} if requirements else {}


_LOCK_DIGEST = re.compile(r"sha256 ([0-9a-f]{64})")


def workspace_environment(prefix: str | None = None) -> tuple[str, str] | None:
    """(name, "sha256:…" of its lock) when `prefix` (this Python's) is a workspace
    environment's `<workspace>/environments/NAME/.venv`; None elsewhere or without a lock."""
    venv = Path(prefix if prefix is not None else sys.prefix)
    folder = venv.parent
    if venv.name != ".venv" or folder.parent.name != "environments":
        return None
    try:
        text = (folder / "requirements.lock").read_text("utf-8")
    except OSError:
        return None
    header = "".join(line for line in text.splitlines() if line.startswith("#"))
    match = _LOCK_DIGEST.search(header)
    if match:
        return folder.name, f"sha256:{match.group(1)}"
    # A lock without the digest in its header: hash its pins the way seedbed env lock does.
    pins = "\n".join(line for line in text.splitlines() if line and not line.startswith("#"))
    return folder.name, requirements_hash(pins)


def lib_folder() -> Path | None:
    """The workspace's lib/ this process imports from: $SEEDBED_WORKSPACE_LIB when set, else
    the sys.path entry named `lib` whose parent holds `environments/` or `seedbed.toml`."""
    given = os.environ.get(LIB_VARIABLE, "").strip()
    if given:
        return Path(given) if Path(given).is_dir() else None
    for entry in sys.path:
        path = Path(entry or ".")
        if path.name != "lib" or not path.is_dir():
            continue
        parent = path.parent
        if (parent / "environments").is_dir() or (parent / "seedbed.toml").is_file():
            return path
    return None


def lib_version(folder: Path) -> str:
    """A content hash of the files under `folder` (paths and bytes; caches and hidden files
    left out), so the same code gives the same version on any machine."""
    digest = hashlib.sha256()
    for path in sorted(_lib_files(folder)):
        relative = path.relative_to(folder).as_posix()
        try:
            content = path.read_bytes()
        except OSError:  # unreadable (confined, or removed meanwhile): its name still counts
            content = b""
        digest.update(f"{relative}\0{len(content)}\0".encode())
        digest.update(content)
    return f"sha256:{digest.hexdigest()}"


def _lib_files(folder: Path) -> list[Path]:
    found = []
    for directory, subfolders, files in os.walk(folder):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d != "__pycache__"]
        found += [
            Path(directory) / f for f in files if not f.startswith(".") and not f.endswith(".pyc")
        ]
    return found


def lib_tags() -> dict[str, str]:
    """`seedbed.lib_version` when the process sees a workspace lib/ folder; else {}."""
    folder = lib_folder()
    return {LIB_VERSION: lib_version(folder)} if folder is not None else {}
