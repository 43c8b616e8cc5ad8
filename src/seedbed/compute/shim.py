"""The process that watches one local job: `python -I shim.py STATE_DIR`.

Run by path, not as a module, so that it imports the standard library only and starts in
a few milliseconds. It leads the job's process group (the server starts it in a new
session), runs the command from STATE_DIR/spec.json with its output appended to the log,
and keeps STATE_DIR/status.json up to date (written atomically). It enforces the job's
memory limit (the resident memory of its process tree, sampled every 50 ms) and timeout,
retries a non-zero exit, and records the exit code, CPU time and peak memory. Since it
outlives the server, a restarted server reattaches to it by its pid, or reads how the
job ended from status.json.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

SAMPLE_S = 0.05  # how often the job's memory is sampled
PAGE = os.sysconf("SC_PAGE_SIZE")


def now_ms() -> int:
    return int(time.time() * 1000)


def write_status(state_dir: Path, status: dict[str, Any]) -> None:
    temporary = state_dir / "status.json.tmp"
    temporary.write_text(json.dumps(status), encoding="utf-8")
    os.replace(temporary, state_dir / "status.json")


def group_members(group: int, me: int) -> list[int]:
    """The pids of the job's process group, this shim left out."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # field 5 of stat, after the command's ")"
            found.append(int(entry))
    return found


def descendants(root: int) -> list[int]:
    """The job's process tree below `root` (its first process included), read from each
    task's `children` file: a few reads per sample, however many processes the machine runs.
    Falls back to scanning for the process group where the kernel has no such files."""
    found = [root]
    index = 0
    while index < len(found):
        pid = found[index]
        index += 1
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                    found.extend(int(child) for child in handle.read().split())
            except FileNotFoundError:
                return group_members(os.getpgid(0), os.getpid())
            except OSError:
                continue
    return found


def resident_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def kill_members(group: int, me: int, sig: int, root: int) -> None:
    for pid in set(group_members(group, me)) | set(descendants(root)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


class Watch:
    """One attempt: sample memory until the child ends, kill it past its limit or time."""

    def __init__(self, spec: dict[str, Any], child: int) -> None:
        self.spec = spec
        self.child = child
        self.peak = 0
        self.reason = ""  # killed_memory or timed_out
        self.group = os.getpgid(0)
        self.me = os.getpid()
        # Set by the main thread once it reaped the child: only it waits (wait4), so the
        # watch never reaps the child first.
        self.done = threading.Event()

    def run(self, deadline: float | None) -> None:
        limit = self.spec.get("memory_bytes")
        while not self.done.is_set():
            used = resident_bytes(descendants(self.child))
            self.peak = max(self.peak, used)
            if limit and used > limit:
                self.reason = "killed_memory"
                kill_members(self.group, self.me, signal.SIGKILL, self.child)
                return
            if deadline is not None and time.monotonic() > deadline:
                self.reason = "timed_out"
                kill_members(self.group, self.me, signal.SIGTERM, self.child)
                if not self.done.wait(2.0):  # a grace period, then no more asking
                    kill_members(self.group, self.me, signal.SIGKILL, self.child)
                return
            self.done.wait(SAMPLE_S)


def confinement(spec: dict[str, Any]) -> Any:
    """What the child runs before the job's program: Landlock's rules, when the spec has any.
    confine.py is loaded by its path: the shim imports nothing but the standard library."""
    rules = spec.get("confine")
    if not rules:
        return None
    loader = importlib.util.spec_from_file_location(
        "seedbed_confine", Path(__file__).with_name("confine.py")
    )
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return lambda: module.restrict(rules["read"], rules["write"])


def main(state_dir: Path) -> int:
    spec = json.loads((state_dir / "spec.json").read_text(encoding="utf-8"))
    confine = confinement(spec)
    cancelled = threading.Event()

    def on_term(signum: int, frame: object) -> None:
        cancelled.set()

    signal.signal(signal.SIGTERM, on_term)
    env = dict(spec["env"])
    timeout = spec.get("timeout_s")
    started = now_ms()
    deadline = time.monotonic() + timeout if timeout else None
    status: dict[str, Any] = {"state": "running", "started_at": started, "shim_pid": os.getpid()}
    attempts = 1 + int(spec.get("max_retries") or 0)
    cpu = 0.0
    peak = 0
    code: int | None = None
    reason = ""
    with open(spec["log_path"], "ab", buffering=0) as log:
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                log.write(f"\n--- seedbed: attempt {attempt} of {attempts} ---\n".encode())
            try:
                child = subprocess.Popen(
                    spec["command"],
                    cwd=spec["cwd"],
                    env=env,
                    stdout=log,
                    stderr=log,
                    stdin=subprocess.DEVNULL,
                    preexec_fn=confine,  # in the child, before the job's program starts
                )
            except (OSError, subprocess.SubprocessError) as exc:
                status.update(
                    state="failed",
                    finished_at=now_ms(),
                    message=f"Could not start the job: {exc}",
                )
                write_status(state_dir, status)
                return 0
            status.update(attempt=attempt, pid=child.pid)
            write_status(state_dir, status)
            watch = Watch(spec, child.pid)
            watcher = threading.Thread(target=watch.run, args=(deadline,), daemon=True)
            watcher.start()
            _, wait_status, usage = os.wait4(child.pid, 0)
            child.returncode = code = os.waitstatus_to_exitcode(wait_status)
            watch.done.set()
            watcher.join()
            cpu += usage.ru_utime + usage.ru_stime
            peak = max(peak, watch.peak, usage.ru_maxrss * 1024)
            reason = watch.reason
            if cancelled.is_set():
                reason = "cancelled"
            if code == 0 or reason:
                break
    if reason == "killed_memory":
        message = (
            f"Killed for memory: it used {peak / 2**20:,.0f} MiB, over its limit of "
            f"{spec['memory_bytes'] / 2**20:,.0f} MiB. Ask for a bigger profile or use less."
        )
    elif reason == "timed_out":
        message = f"Stopped after its timeout of {timeout:g} s."
    elif reason == "cancelled":
        message = "Cancelled."
    elif code == 0:
        message = ""
    elif code is not None and code < 0:
        message = f"Killed by signal {signal.Signals(-code).name}."
    else:
        message = f"Exited with status {code}" + (
            f" after {attempts} attempts." if attempts > 1 else "."
        )
    state = reason or ("succeeded" if code == 0 else "failed")
    status.update(
        state=state,
        exit_code=code,
        finished_at=now_ms(),
        cpu_seconds=round(cpu, 3),
        peak_memory_bytes=peak,
        message=message,
    )
    write_status(state_dir, status)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
