"""The log files of the subprocesses seedbed supervises (JupyterLab, hosted apps)."""

from __future__ import annotations

from pathlib import Path


def last_lines(path: Path, lines: int) -> str:
    """The last `lines` lines of a log file ("" while it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
