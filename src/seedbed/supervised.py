"""What the subprocesses seedbed supervises (JupyterLab, hosted apps) share: reading the end
of their log, and making sure they end."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path


def last_lines(path: Path, lines: int) -> str:
    """The last `lines` lines of a log file ("" while it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_or_kill(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait for a process asked to end; after `timeout_s`, kill its whole process group."""
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
