from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seedbed.errors import Conflict
from seedbed.runtime import ServerLock, read_runtime, remove_runtime, write_runtime


def test_runtime_file_round_trip(tmp_path: Path) -> None:
    (tmp_path / ".seedbed").mkdir()
    assert read_runtime(tmp_path) is None
    write_runtime(tmp_path, "http://127.0.0.1:1234", tmp_path / "token")
    data = read_runtime(tmp_path)
    assert data is not None and data["url"] == "http://127.0.0.1:1234"
    remove_runtime(tmp_path)
    assert read_runtime(tmp_path) is None


def test_lock_is_exclusive_across_processes(tmp_path: Path) -> None:
    lock = ServerLock(tmp_path)
    lock.acquire()
    write_runtime(tmp_path, "http://127.0.0.1:1", tmp_path / "token")
    code = (
        "from pathlib import Path; from seedbed.runtime import ServerLock; "
        f"ServerLock(Path({str(tmp_path)!r})).acquire()"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert other.returncode != 0 and "already serves" in other.stderr
    assert "http://127.0.0.1:1" in other.stderr
    lock.release()
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert again.returncode == 0


def test_lock_within_one_process_also_refuses(tmp_path: Path) -> None:
    first = ServerLock(tmp_path)
    first.acquire()
    with pytest.raises(Conflict, match="another --workspace"):
        ServerLock(tmp_path).acquire()
    first.release()
