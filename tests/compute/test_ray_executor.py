"""The Ray executor against a real local Ray cluster (2 CPUs), started once for the module."""

from __future__ import annotations

import ast
import ipaddress
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ray_cluster import RayCluster, cluster_listening_sockets
from seedbed.compute.executor import (
    CANCELLED,
    FAILED,
    LOST,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    THREAD_VARIABLES,
    TIMED_OUT,
    JobSpec,
    JobStatus,
    Resources,
)
from seedbed.compute.ray_executor import RayExecutor
from seedbed.errors import Invalid

WAIT_S = 60


class Heard:
    """Every (job id, state) a listener heard, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, JobStatus]] = []
        self._lock = threading.Lock()

    def __call__(self, job_id: str, status: JobStatus) -> None:
        with self._lock:
            self.events.append((job_id, status))

    def states(self, job_id: str) -> list[str]:
        with self._lock:
            return [status.state for heard_id, status in self.events if heard_id == job_id]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    with RayCluster(tmp_path_factory.mktemp("ray"), num_cpus=2) as running:
        yield running


@pytest.fixture(scope="module")
def heard() -> Heard:
    return Heard()


@pytest.fixture(scope="module")
def executor(cluster: RayCluster, heard: Heard) -> Iterator[RayExecutor]:
    ray_executor = RayExecutor(cluster.address, token=cluster.token)
    ray_executor.start(heard)
    yield ray_executor
    ray_executor.close()


def spec_for(
    tmp_path: Path, code: str, cpus: float = 1, timeout_s: float | None = None, **env: str
) -> JobSpec:
    job_id = uuid.uuid4().hex
    return JobSpec(
        job_id=job_id,
        command=[sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        resources=Resources(cpus=cpus, memory_bytes=256 << 20),
        log_path=tmp_path / job_id / "log.txt",
        timeout_s=timeout_s,
    )


def wait_final(executor: RayExecutor, job_id: str) -> JobStatus:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        status = executor.status(job_id)
        if status.final:
            return status
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {executor.status(job_id).state} after {WAIT_S} s")


def wait_running(executor: RayExecutor, job_id: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while executor.status(job_id).state != RUNNING:
        assert time.monotonic() < deadline, f"job {job_id} never ran"
        time.sleep(0.1)


def test_a_job_succeeds_and_its_output_is_in_the_log(
    executor: RayExecutor, heard: Heard, tmp_path: Path
) -> None:
    spec = spec_for(tmp_path, "print('hello from ray')")
    assert executor.submit(spec).state == QUEUED
    status = wait_final(executor, spec.job_id)
    assert status.state == SUCCEEDED
    assert status.exit_code == 0
    assert status.started_at is not None and status.finished_at is not None
    assert b"hello from ray" in spec.log_path.read_bytes()
    data, offset = executor.logs(spec.job_id)
    assert b"hello from ray" in data
    assert executor.logs(spec.job_id, offset) == (b"", offset)
    tail, _ = executor.logs(spec.job_id, data.index(b"hello"))
    assert tail.startswith(b"hello from ray")
    assert heard.states(spec.job_id) == [RUNNING, SUCCEEDED]


def test_a_failing_job_fails_with_its_exit_code_and_message(
    executor: RayExecutor, tmp_path: Path
) -> None:
    spec = spec_for(tmp_path, "import sys; print('no such table', file=sys.stderr); sys.exit(3)")
    executor.submit(spec)
    status = wait_final(executor, spec.job_id)
    assert status.state == FAILED
    assert status.exit_code == 3
    assert status.message == "Exited with status 3."
    assert b"no such table" in spec.log_path.read_bytes()


def test_a_job_sees_its_env_and_thread_counts_in_its_folder(
    executor: RayExecutor, tmp_path: Path
) -> None:
    names = ["SEEDBED_URL", *THREAD_VARIABLES, "CUDA_VISIBLE_DEVICES"]
    code = (
        "import os, sys; "
        f"print({{n: os.environ.get(n) for n in {names!r}}}); "
        "print('cwd', os.getcwd()); print('exe', sys.executable)"
    )
    spec = spec_for(tmp_path, code, cpus=2, SEEDBED_URL="http://127.0.0.1:8765")
    executor.submit(spec)
    assert wait_final(executor, spec.job_id).state == SUCCEEDED
    log = spec.log_path.read_text()
    seen = ast.literal_eval(next(line for line in log.splitlines() if line.startswith("{")))
    assert seen == {
        "SEEDBED_URL": "http://127.0.0.1:8765",
        **{name: "2" for name in THREAD_VARIABLES},
        "CUDA_VISIBLE_DEVICES": "",
    }
    assert f"cwd {tmp_path}" in log
    assert f"exe {sys.executable}" in log


def test_a_failing_job_is_tried_again_up_to_its_retries(
    executor: RayExecutor, heard: Heard, tmp_path: Path
) -> None:
    spec = replace(spec_for(tmp_path, "print('attempt'); raise SystemExit(1)"), max_retries=1)
    executor.submit(spec)
    status = wait_final(executor, spec.job_id)
    assert (status.state, status.attempt) == (FAILED, 1)
    assert status.message == "Exited with status 1 after 2 attempts."
    assert spec.log_path.read_text().count("attempt\n") == 2
    assert heard.states(spec.job_id) == [RUNNING, QUEUED, RUNNING, FAILED]


def test_cancel_stops_a_running_job(executor: RayExecutor, heard: Heard, tmp_path: Path) -> None:
    spec = spec_for(tmp_path, "import time; print('started', flush=True); time.sleep(120)")
    executor.submit(spec)
    wait_running(executor, spec.job_id)
    deadline = time.monotonic() + WAIT_S
    while b"started" not in executor.logs(spec.job_id)[0]:  # logs come while it runs
        assert time.monotonic() < deadline, "no live log"
        time.sleep(0.2)
    executor.cancel(spec.job_id)
    status = wait_final(executor, spec.job_id)
    assert status.state == CANCELLED
    assert heard.states(spec.job_id)[-1] == CANCELLED


def test_a_job_over_its_timeout_is_stopped(executor: RayExecutor, tmp_path: Path) -> None:
    spec = spec_for(tmp_path, "import time; time.sleep(120)", timeout_s=1)
    executor.submit(spec)
    status = wait_final(executor, spec.job_id)
    assert status.state == TIMED_OUT
    assert "timeout of 1 s" in status.message


def test_a_job_larger_than_the_cluster_is_refused_at_submit(
    executor: RayExecutor, tmp_path: Path
) -> None:
    spec = spec_for(tmp_path, "pass", cpus=3)
    with pytest.raises(Invalid, match=r"3 CPUs \(the cluster has 2\)"):
        executor.submit(spec)


def test_capacity_is_the_clusters(executor: RayExecutor, cluster: RayCluster) -> None:
    capacity = executor.capacity()
    assert capacity.backend == "ray"
    assert capacity.total.cpus == 2
    assert capacity.total.memory_bytes == cluster.memory_bytes
    assert capacity.total.gpus == 0
    assert capacity.detail == cluster.address


def test_reconcile_reattaches_to_a_running_job(
    executor: RayExecutor, cluster: RayCluster, tmp_path: Path
) -> None:
    spec = spec_for(tmp_path, "import time; time.sleep(2); print('done')")
    executor.submit(spec)
    wait_running(executor, spec.job_id)
    # A second executor stands for the server after a restart.
    heard_after = Heard()
    restarted = RayExecutor(cluster.address, token=cluster.token)
    restarted.start(heard_after)
    try:
        assert restarted.reconcile(spec.job_id, executor.status(spec.job_id), spec).state == (
            RUNNING
        )
        assert wait_final(restarted, spec.job_id).state == SUCCEEDED
        assert heard_after.states(spec.job_id) == [SUCCEEDED]
        # Once it ended, reconcile reads its final state.
        finished = RayExecutor(cluster.address, token=cluster.token)
        assert finished.reconcile(spec.job_id, JobStatus(state=RUNNING), spec).state == SUCCEEDED
    finally:
        restarted.close()


def test_reconcile_submits_a_queued_job_the_cluster_never_got(
    cluster: RayCluster, tmp_path: Path
) -> None:
    spec = spec_for(tmp_path, "import os; print('token', os.environ['SEEDBED_TOKEN'])")
    restarted = RayExecutor(cluster.address, token=cluster.token)
    restarted.start(Heard())
    try:
        fresh = replace(spec, env={"SEEDBED_TOKEN": "new"})
        assert restarted.reconcile(spec.job_id, JobStatus(state=QUEUED), fresh).state == QUEUED
        assert wait_final(restarted, spec.job_id).state == SUCCEEDED
        assert "token new" in spec.log_path.read_text()
    finally:
        restarted.close()


def test_reconcile_of_a_job_the_cluster_does_not_know_is_lost(
    executor: RayExecutor, tmp_path: Path
) -> None:
    spec = spec_for(tmp_path, "pass")
    status = executor.reconcile(spec.job_id, JobStatus(state=RUNNING), spec)
    assert status.state == LOST
    assert "does not know this job" in status.message


def test_the_cluster_listens_on_loopback_only(cluster: RayCluster) -> None:
    sockets = cluster_listening_sockets(cluster.pid)
    # The GCS, raylet, dashboard, its agent and the runtime-env agent at least.
    assert len(sockets) >= 5, sockets
    for local, process in sockets:
        host = local.rsplit(":", 1)[0].strip("[]").removeprefix("::ffff:")
        assert host != "*" and ipaddress.ip_address(host).is_loopback, (local, process)


def test_without_ray_the_executor_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray sees
    monkeypatch.setitem(sys.modules, "ray.job_submission", None)
    with pytest.raises(Invalid, match=r"pip install 'seedbed\[ray\]'"):
        RayExecutor("http://127.0.0.1:8265")
