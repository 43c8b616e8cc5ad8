"""`seedbed jobs …` against a real server: scripts with arguments, failures, logs followed
live, cancel, bad input, capacity, profiles and who may set them, runs a job logs, and a
notebook job whose executed copy is kept."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest

from server_process import SeedbedServer
from server_process import run_cli as run

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("jobs-e2e") / "ws") as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: SeedbedServer) -> dict[str, str]:
    return {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}


def script(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(source, encoding="utf-8")
    return path


def submitted(*args: str, env: dict[str, str]) -> dict[str, Any]:
    done = run("jobs", "submit", *args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    job: dict[str, Any] = json.loads(done.stdout)
    return job


def shown(job_id: str, env: dict[str, str]) -> dict[str, Any]:
    done = run("jobs", "show", job_id, "--json", env=env)
    assert done.returncode == 0, done.stderr
    job: dict[str, Any] = json.loads(done.stdout)
    return job


def until_running(job_id: str, env: dict[str, str]) -> None:
    headers = {"authorization": f"Bearer {env['SEEDBED_TOKEN']}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = httpx.get(f"{env['SEEDBED_URL']}/api/v1/jobs/{job_id}", headers=headers).json()
        if found["job"]["status"] == "running":
            return
        time.sleep(0.1)
    pytest.fail(f"job {job_id} never started running")


def test_a_script_runs_with_its_arguments_and_reports(
    server: SeedbedServer, admin: dict[str, str], tmp_path: Path
) -> None:
    hello = script(
        tmp_path,
        "hello.py",
        textwrap.dedent("""\
            import os, sys
            env = os.environ
            print("args", sys.argv[1:])
            print("profile", env["SEEDBED_PROFILE"], "threads", env["OMP_NUM_THREADS"])
            print("gpus", repr(env["CUDA_VISIBLE_DEVICES"]), "lib", env["PYTHONPATH"])
            print("job", env["SEEDBED_JOB_ID"])
            total = sum(i * i for i in range(300_000))
            """),
    )
    done = run(
        "jobs", "submit", str(hello), "--profile", "small", "--wait", "--", "a", "b", env=admin
    )
    assert done.returncode == 0, done.stderr
    assert "args ['a', 'b']" in done.stdout
    assert "profile small threads 1" in done.stdout
    assert f"gpus '' lib {server.workspace / 'lib'}" in done.stdout
    assert "succeeded" in done.stdout

    listed = run("jobs", "list", "--json", env=admin)
    assert listed.returncode == 0, listed.stderr
    job = next(j for j in json.loads(listed.stdout) if j["name"] == "hello.py")
    assert job["status"] == "succeeded" and job["profile"] == "small" and job["cpus"] == 1
    assert f"job {job['id']}" in done.stdout

    found = shown(job["id"], admin)
    assert found["exit_code"] == 0
    assert found["cpu_seconds"] is not None and found["cpu_seconds"] > 0
    assert found["peak_memory_bytes"] > 1 << 20
    assert found["runs"] == []

    assert job["id"] in run("jobs", "list", env=admin).stdout  # the whole id, as show takes it
    logged = run("jobs", "logs", job["id"], env=admin)
    assert logged.returncode == 0 and "args ['a', 'b']" in logged.stdout


def test_a_failing_script_exits_non_zero(admin: dict[str, str], tmp_path: Path) -> None:
    broken = script(tmp_path, "broken.py", "import sys\nprint('about to fail')\nsys.exit(4)\n")
    done = run("jobs", "submit", str(broken), "--wait", env=admin)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert "about to fail" in done.stdout and "failed" in done.stdout
    listed = json.loads(run("jobs", "list", "--status", "failed", "--json", env=admin).stdout)
    assert [j["name"] for j in listed] == ["broken.py"] and listed[0]["exit_code"] == 4


def test_logs_follow_a_running_job_until_it_ends(admin: dict[str, str], tmp_path: Path) -> None:
    ticker = script(
        tmp_path,
        "ticker.py",
        "import time\nfor i in range(5):\n    print('tick', i)\n    time.sleep(0.3)\n",
    )
    job = submitted(str(ticker), env=admin)
    until_running(job["id"], admin)
    followed = run("jobs", "logs", "-f", job["id"], env=admin)
    assert followed.returncode == 0, followed.stderr
    assert [line for line in followed.stdout.splitlines() if line.startswith("tick")] == [
        f"tick {i}" for i in range(5)
    ]
    assert shown(job["id"], admin)["status"] == "succeeded"


def test_cancel_ends_a_sleeping_job(admin: dict[str, str], tmp_path: Path) -> None:
    sleeper = script(tmp_path, "sleeper.py", "import time\nprint('asleep')\ntime.sleep(120)\n")
    job = submitted(str(sleeper), env=admin)
    until_running(job["id"], admin)
    cancelled = run("jobs", "cancel", job["id"], env=admin)
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled" in cancelled.stdout
    found = shown(job["id"], admin)
    assert found["status"] == "cancelled" and found["finished_at"] is not None
    again = run("jobs", "cancel", job["id"], env=admin)
    assert again.returncode == 1 and "ended already" in again.stderr


def test_bad_submissions_are_refused_with_a_reason(admin: dict[str, str], tmp_path: Path) -> None:
    fine = script(tmp_path, "fine.py", "print('never runs')\n")
    for args, message in [
        ((str(fine), "--profile", "nope"), "No resource profile 'nope'"),
        ((str(tmp_path / "missing.py"),), "missing.py"),
        ((str(fine), "--cpus", "100000"), "can never run here"),
        ((str(fine), "--memory", "lots"), "is not a size"),
    ]:
        refused = run("jobs", "submit", *args, env=admin)
        assert refused.returncode == 1, (args, refused.stdout)
        assert message in refused.stderr, (args, refused.stderr)
    # Refused before it ran: no job of it is queued, running or done.
    headers = {"authorization": f"Bearer {admin['SEEDBED_TOKEN']}"}
    listed = httpx.get(f"{admin['SEEDBED_URL']}/api/v1/jobs", headers=headers).json()
    assert {j["status"] for j in listed if j["name"] == "fine.py"} <= {"failed"}


def test_capacity_and_profiles(server: SeedbedServer, admin: dict[str, str]) -> None:
    capacity = run("jobs", "capacity", "--json", env=admin)
    assert capacity.returncode == 0, capacity.stderr
    found = json.loads(capacity.stdout)
    assert found["backend"] == "local" and found["total"]["cpus"] >= 1
    assert found["total"]["memory_bytes"] > 0 and found["used"]["cpus"] >= 0

    made = run("jobs", "profile-set", "medium", "--cpus", "1", "--memory", "1GiB", env=admin)
    assert made.returncode == 0, made.stderr
    listed = run("jobs", "profiles", "--json", env=admin)
    profiles = {p["name"]: p for p in json.loads(listed.stdout)}
    assert {"small", "large", "gpu", "medium"} <= set(profiles)
    assert profiles["medium"]["memory"] == "1GiB" and profiles["medium"]["origin"] == "admin"

    # Users made through the API: `seedbed users` is tested in test_users_cli.py.
    api = httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {server.token}"})
    for user, role in [("eve", "editor"), ("vic", "viewer")]:
        api.post("/api/v1/users", json={"username": user, "role": role}).raise_for_status()
        made_token = api.post(f"/api/v1/users/{user}/tokens", json={"name": "cli"})
        env = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": made_token.json()["token"]}
        refused = run("jobs", "profile-set", "huge", "--cpus", "all", env=env)
        assert refused.returncode == 1 and "admin" in refused.stderr.lower(), refused.stderr
    assert "huge" not in [p["name"] for p in api.get("/api/v1/compute/profiles").json()]
    api.close()

    removed = run("jobs", "profile-remove", "medium", env=admin)
    assert removed.returncode == 0, removed.stderr
    refused = run("jobs", "profile-remove", "small", env=admin)
    assert refused.returncode == 1 and "seedbed.toml" in refused.stderr


def test_a_job_logs_a_run_as_its_submitter_with_a_token_revoked_at_its_end(
    server: SeedbedServer, admin: dict[str, str], tmp_path: Path
) -> None:
    # (a confined job may not write beside the test: it says its token in its log instead)
    logger = script(
        tmp_path,
        "logger.py",
        "import os, sys\n"
        "import seedbed as sb\n"
        "print('TOKEN=' + os.environ['SEEDBED_TOKEN'])\n"
        "print('logging a run')\n"
        "with sb.connect() as ws, ws.start_run(experiment='x') as run:\n"
        "    run.log_metrics({'a': 1})\n",
    )
    done = run("jobs", "submit", str(logger), "--wait", "--json", env=admin)
    assert done.returncode == 0, (done.stdout, done.stderr)
    job_id = json.loads(done.stdout)["id"]  # with --json the log goes to stderr
    assert "logging a run" in done.stderr
    found = shown(job_id, admin)
    assert found["status"] == "succeeded", found["message"]
    assert len(found["runs"]) == 1 and found["runs"][0]["status"] == "FINISHED"
    headers = {"authorization": f"Bearer {server.token}"}
    ran = httpx.get(f"{server.url}/api/v1/runs/{found['runs'][0]['id']}", headers=headers).json()
    assert ran["tags"]["seedbed.job_id"] == job_id
    assert ran["metrics"]["a"] == 1
    # The job's own token was the admin's, and stops working once the job has ended.
    job_token = done.stderr.split("TOKEN=", 1)[1].split()[0]
    assert job_token.startswith("sb_") and job_token != server.token
    after = httpx.get(f"{server.url}/api/v1/jobs", headers={"authorization": f"Bearer {job_token}"})
    assert after.status_code == 401


def test_a_notebook_job_keeps_the_executed_copy(
    server: SeedbedServer, admin: dict[str, str], tmp_path: Path
) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("print('hello from the notebook')"),
        nbformat.v4.new_code_cell("sum(range(10))"),
    ]
    path = tmp_path / "explore.ipynb"
    nbformat.write(notebook, path)
    done = run("jobs", "submit", str(path), "--wait", env=admin)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "succeeded" in done.stdout
    listed = json.loads(run("jobs", "list", "--json", env=admin).stdout)
    job = next(j for j in listed if j["name"] == "explore.ipynb")
    assert job["kind"] == "notebook"
    key = shown(job["id"], admin)["outputs"]["notebook"]
    assert key.endswith(".ipynb")
    executed = nbformat.read(server.workspace / "artifacts" / key, as_version=4)
    printed, computed = (cell.outputs for cell in executed.cells)
    assert printed[0]["text"] == "hello from the notebook\n"
    assert computed[0]["data"]["text/plain"] == "45"
