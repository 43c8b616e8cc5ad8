"""The local executor with real subprocesses: admission control, thread and GPU variables,
memory kills, timeouts, retries, cancel, logs, and reattaching after a restart."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from seedbed.compute.executor import JobSpec, JobStatus, Resources
from seedbed.compute.local import LocalExecutor
from seedbed.errors import Invalid

GiB = 2**30


class Heard:
    """What the listener heard, with a way to wait for a job's final state."""

    def __init__(self) -> None:
        self.events: list[tuple[str, JobStatus]] = []
        self.changed = threading.Condition()

    def __call__(self, job_id: str, status: JobStatus) -> None:
        with self.changed:
            self.events.append((job_id, status))
            self.changed.notify_all()

    def states(self, job_id: str) -> list[str]:
        return [s.state for j, s in self.events if j == job_id]

    def final(self, job_id: str, timeout: float = 30) -> JobStatus:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for j, status in self.events:
                    if j == job_id and status.final:
                        return status
                left = deadline - time.monotonic()
                assert left > 0, f"{job_id} did not end: {self.states(job_id)}"
                self.changed.wait(left)


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def executor(heard: Heard) -> Iterator[LocalExecutor]:
    running = LocalExecutor(total=Resources(2, 4 * GiB, 2), gpu_ids=[0, 1])
    running.start(heard)
    yield running
    running.close()


def spec(
    tmp_path: Path,
    job_id: str,
    code: str,
    cpus: float = 1,
    memory: int = GiB,
    gpus: int = 0,
    **options: object,
) -> JobSpec:
    folder = tmp_path / job_id
    return JobSpec(
        job_id=job_id,
        command=[sys.executable, "-c", code],
        env={"GREETING": "hello"},
        cwd=tmp_path,
        resources=Resources(cpus, memory, gpus),
        log_path=folder / "log.txt",
        state_dir=folder,
        **options,  # type: ignore[arg-type]
    )


def alive(pid: int) -> bool:
    """Running, not a zombie (this machine's init may leave orphans unreaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


ENV_CODE = (
    "import os; print(os.environ['GREETING'], os.environ['OMP_NUM_THREADS'], "
    "os.environ['MKL_NUM_THREADS'], repr(os.environ['CUDA_VISIBLE_DEVICES']))"
)


def test_a_job_runs_with_its_environment_and_reports(
    executor: LocalExecutor, heard: Heard, tmp_path: Path
) -> None:
    executor.submit(spec(tmp_path, "a", ENV_CODE, cpus=2))
    done = heard.final("a")
    assert done.state == "succeeded" and done.exit_code == 0
    assert heard.states("a") == ["running", "succeeded"]
    assert done.cpu_seconds is not None and done.cpu_seconds >= 0
    assert done.peak_memory_bytes is not None and done.peak_memory_bytes > 1 << 20
    data, offset = executor.logs("a")
    assert data.decode() == "hello 2 2 ''\n" and offset == len(data)
    assert executor.logs("a", offset) == (b"", offset)


def test_a_job_never_sees_the_servers_secrets(
    executor: LocalExecutor, heard: Heard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_DATABASE_URL", "postgresql://seedbed:s3cret@db/seedbed")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cret")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    code = (
        "import os; print(sorted(k for k in os.environ if 'SECRET' in k or 'DATABASE' in k), "
        "os.environ.get('LC_ALL'), bool(os.environ.get('PATH')))"
    )
    executor.submit(spec(tmp_path, "s", code))
    assert heard.final("s").state == "succeeded"
    assert executor.logs("s")[0].decode() == "[] C.UTF-8 True\n"


def test_gpus_are_given_out_by_id_and_taken_back(
    executor: LocalExecutor, heard: Heard, tmp_path: Path
) -> None:
    """No GPU here: the assignment is checked through CUDA_VISIBLE_DEVICES, as the issue asks."""
    code = "import os, time; print(os.environ['CUDA_VISIBLE_DEVICES']); time.sleep(0.5)"
    executor.submit(spec(tmp_path, "g1", code, gpus=1))
    executor.submit(spec(tmp_path, "g2", code, gpus=1))
    first, second = heard.final("g1"), heard.final("g2")
    seen = {executor.logs("g1")[0].decode().strip(), executor.logs("g2")[0].decode().strip()}
    assert seen == {"0", "1"} and first.gpu_ids != second.gpu_ids
    executor.submit(spec(tmp_path, "g3", code, gpus=2))
    assert executor.logs("g3")[0] == b"" or True
    heard.final("g3")
    assert executor.logs("g3")[0].decode().strip() == "0,1"
    assert executor.capacity().used == Resources(0, 0, 0)


def test_jobs_queue_when_the_machine_is_full(
    executor: LocalExecutor, heard: Heard, tmp_path: Path
) -> None:
    sleeper = "import time; time.sleep(1.0)"
    for name in ("q1", "q2", "q3"):
        executor.submit(spec(tmp_path, name, sleeper))
    time.sleep(0.4)
    capacity = executor.capacity()
    assert (capacity.running, capacity.queued) == (2, 1)
    assert capacity.used.cpus == 2
    assert heard.states("q3") == []  # still waiting for a CPU
    for name in ("q1", "q2", "q3"):
        assert heard.final(name).state == "succeeded"
    started = {name: heard.final(name).started_at for name in ("q1", "q2", "q3")}
    ended = {name: heard.final(name).finished_at for name in ("q1", "q2")}
    assert started["q3"] >= min(ended.values())  # type: ignore[type-var]


def test_a_job_that_can_never_fit_is_refused_at_once(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    with pytest.raises(Invalid, match=r"3 CPUs \(the machine has 2\)"):
        executor.submit(spec(tmp_path, "big", "pass", cpus=3))
    with pytest.raises(Invalid, match="GPUs"):
        executor.submit(spec(tmp_path, "gpus", "pass", gpus=3))
    with pytest.raises(Invalid, match="GiB of memory"):
        executor.submit(spec(tmp_path, "mem", "pass", memory=8 * GiB))


def test_a_job_over_its_memory_is_killed_and_said_so(
    executor: LocalExecutor, heard: Heard, tmp_path: Path
) -> None:
    code = "x = bytearray(400 * 2**20); import time; time.sleep(5)"
    executor.submit(spec(tmp_path, "m", code, memory=200 * 2**20))
    done = heard.final("m")
    assert done.state == "killed_memory"
    assert "Killed for memory" in done.message and "200 MiB" in done.message
    assert done.peak_memory_bytes is not None and done.peak_memory_bytes > 200 * 2**20
    # memory held by a child process counts too
    spawner = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        "'x = bytearray(400 * 2**20); import time; time.sleep(5)'])"
    )
    executor.submit(spec(tmp_path, "m2", spawner, memory=200 * 2**20))
    assert heard.final("m2").state == "killed_memory"


def test_timeouts_retries_and_failures(
    executor: LocalExecutor, heard: Heard, tmp_path: Path
) -> None:
    executor.submit(spec(tmp_path, "slow", "import time; time.sleep(30)", timeout_s=0.5))
    executor.submit(spec(tmp_path, "flaky", "import sys; print('try'); sys.exit(4)", max_retries=2))
    slow, flaky = heard.final("slow"), heard.final("flaky")
    assert slow.state == "timed_out" and "timeout of 0.5 s" in slow.message
    assert flaky.state == "failed" and flaky.exit_code == 4 and flaky.attempt == 3
    assert executor.logs("flaky")[0].decode().count("try") == 3


def test_cancel_stops_the_whole_process_group(
    executor: LocalExecutor, heard: Heard, tmp_path: Path
) -> None:
    code = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(child.pid, flush=True); time.sleep(60)"
    )
    executor.submit(spec(tmp_path, "c", code))
    deadline = time.monotonic() + 10
    while not executor.logs("c")[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(executor.logs("c")[0].split()[0])
    executor.cancel("c")
    assert heard.final("c").state == "cancelled"
    time.sleep(0.2)
    assert not alive(grandchild)
    # a queued job is cancelled without ever running
    executor.submit(spec(tmp_path, "w1", "import time; time.sleep(1)", cpus=2))
    executor.submit(spec(tmp_path, "w2", "pass", cpus=2))
    assert executor.cancel("w2").state == "cancelled"
    assert heard.states("w2") == ["cancelled"]


def test_a_restarted_server_reattaches_or_reads_the_end(heard: Heard, tmp_path: Path) -> None:
    first = LocalExecutor(total=Resources(2, 4 * GiB, 0))
    first.start(lambda job_id, status: None)
    long, short = (
        spec(tmp_path, "long", "import time; time.sleep(1.5)"),
        spec(tmp_path, "short", "pass"),
    )
    first.submit(long)
    first.submit(short)
    deadline = time.monotonic() + 10
    while (first.status("long").pid is None or not first.status("short").final) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    running = first.status("long")
    first.close()  # the server goes away; the jobs do not
    second = LocalExecutor(total=Resources(2, 4 * GiB, 0))
    second.start(heard)
    assert second.reconcile("long", running, long).state == "running"
    assert second.capacity().used.cpus == 1
    assert second.reconcile("short", JobStatus(state="running", pid=1), short).state == "succeeded"
    assert heard.final("long").state == "succeeded"
    gone = spec(tmp_path, "gone", "pass")
    lost = second.reconcile("gone", JobStatus(state="running", pid=999_999_999), gone)
    assert lost.state == "lost" and "server was down" in lost.message
    second.close()
