"""Running uv with the machine's package settings.

uv does not read pip's configuration, so an install through uv could see other packages
than `pip install` would. seedbed carries pip's effective settings (its config files and
PIP_* variables, as `pip config list` reports them) over to uv's own variables: index
URLs, find-links, constraints and the certificate bundle.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from seedbed.errors import Invalid

# pip's setting names, as `pip config list` prints them after "global." or ":env:."
_PIP_TO_UV = {
    "index-url": "UV_DEFAULT_INDEX",
    "extra-index-url": "UV_INDEX",
    "find-links": "UV_FIND_LINKS",
    "constraint": "UV_CONSTRAINT",
    "cert": "SSL_CERT_FILE",
}


def binary() -> str:
    """The uv executable: the one installed beside this Python (the `uv` package), else PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "uv"
    if beside.is_file():
        return str(beside)
    found = shutil.which("uv")
    if found is None:
        raise Invalid("uv is not installed: pip install uv (seedbed depends on it).")
    return found


@functools.lru_cache(maxsize=1)
def pip_settings() -> dict[str, str]:
    """pip's effective settings (files and environment), by setting name."""
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    found: dict[str, str] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        value = value.strip().strip("'\"")
        # environment variables (":env:") win over files, as in pip
        if key.startswith(":env:") or name not in found:
            found[name] = value
    return found


def environment() -> dict[str, str]:
    """The variables that make uv install what pip would on this machine."""
    env = dict(os.environ)
    settings = pip_settings()
    for pip_name, uv_name in _PIP_TO_UV.items():
        if pip_name in settings and uv_name not in os.environ:
            env[uv_name] = settings[pip_name]
    indexes = len(env.get("UV_INDEX", "").split()) + int("UV_DEFAULT_INDEX" in env)
    if indexes > 1 or "UV_INDEX" in env:
        # pip takes the best version from every index; uv, by default, the first index that
        # has the package at all
        env.setdefault("UV_INDEX_STRATEGY", "unsafe-best-match")
    env.setdefault("UV_NO_PROGRESS", "1")
    env.setdefault("UV_PYTHON_DOWNLOADS", "never")  # the workspace's Python, never a download
    return env


def run(arguments: list[str], timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    """Run uv; the result holds its output (stderr has the resolver's messages)."""
    return subprocess.run(
        [binary(), *arguments],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=timeout_s,
        check=False,
    )
