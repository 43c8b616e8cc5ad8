"""A server restart while jobs run: a job that still runs is reattached and ends normally; one
whose process died meanwhile is marked lost; one that ended meanwhile gets its real end.
Never is a job left "running" for ever."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import seedbed as sb
from server_process import SeedbedServer

pytestmark = pytest.mark.e2e


def until(check: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def test_jobs_survive_a_restart_or_are_marked_lost(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    slow = tmp_path / "slow.py"
    slow.write_text("import time\nprint('start', flush=True)\ntime.sleep(4)\nprint('end')\n")
    quick = tmp_path / "quick.py"
    quick.write_text("import time\ntime.sleep(1)\nprint('quick done')\n")
    doomed = tmp_path / "doomed.py"
    doomed.write_text("import time\ntime.sleep(60)\n")
    first = SeedbedServer(workspace).start()
    try:
        with sb.connect(url=first.url, token=first.token) as ws:
            kept = ws.jobs.submit_script(slow, profile="small")
            ended = ws.jobs.submit_script(quick, cpus=0.5, memory="256MiB")
            lost = ws.jobs.submit_script(doomed, cpus=0.5, memory="256MiB")
            until(lambda: all(j.refresh().status == "running" for j in (kept, ended, lost)))
            until(lambda: "start" in "".join(kept.logs()))
            shim = lost.data["pid"]
    finally:
        assert first.stop() == 0
    # while no server runs: one job's process dies, another ends on its own
    os.killpg(shim, signal.SIGKILL)
    time.sleep(1.5)
    with SeedbedServer(workspace) as second, sb.connect(url=second.url, token=second.token) as ws:
        assert ws.jobs.get(lost.id).status == "lost"
        assert "server was down" in ws.jobs.get(lost.id).data["message"]
        finished = ws.jobs.get(ended.id)
        assert finished.status == "succeeded" and "quick done" in "".join(finished.logs())
        reattached = ws.jobs.get(kept.id)
        assert reattached.status in ("running", "succeeded")
        reattached.wait(30)
        assert reattached.status == "succeeded"
        assert "start\nend\n" in "".join(reattached.logs())
        assert ws.jobs.list(status="live") == []
        assert ws.jobs.capacity()["used"]["cpus"] == 0
