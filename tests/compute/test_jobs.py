"""The jobs service over HTTP with the real app and real subprocesses: function jobs, the
job's own token (revoked at its end), permissions, resource profiles, bad input."""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Iterator
from typing import Any

import cloudpickle
import pytest
from fastapi.testclient import TestClient
from tests.auth_sessions import token_for
from tests.conftest import api_client

from seedbed.auth import audit, tokens
from seedbed.compute import profiles
from seedbed.errors import Invalid
from seedbed.settings import ProfileSpec
from seedbed.workspace import Workspace


@pytest.fixture
def http(local_workspace: Workspace) -> Iterator[TestClient]:
    with api_client(local_workspace) as client:
        yield client


def function_body(function: Any, *args: Any, **size: Any) -> dict[str, Any]:
    # this module is not importable in the job: send its functions by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        payload = base64.b64encode(cloudpickle.dumps((function, args, {}))).decode()
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    return {"kind": "function", "content": payload, **size}


def wait(http: TestClient, job_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = http.get(f"/api/v1/jobs/{job_id}", headers=headers).json()["job"]
        if job["final"]:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end")


def environment() -> dict[str, str]:
    import os

    keys = ("SEEDBED_JOB_ID", "SEEDBED_PROFILE", "OMP_NUM_THREADS", "SEEDBED_URL")
    return {key: os.environ.get(key, "") for key in keys}


def test_a_function_job_runs_as_its_submitter_with_a_token_of_its_own(
    http: TestClient, local_workspace: Workspace
) -> None:
    made = http.post("/api/v1/jobs", json=function_body(environment, profile="small"))
    assert made.status_code == 201, made.text
    job = made.json()["job"]
    assert job["status"] in ("queued", "running") and job["profile"] == "small"
    assert job["cpus"] == 1 and job["memory_bytes"] == 2 * 2**30
    ended = wait(http, job["id"])
    assert ended["status"] == "succeeded", ended["message"]
    assert ended["cpu_seconds"] is not None and ended["peak_memory_bytes"] > 0
    result = cloudpickle.loads(http.get(f"/api/v1/jobs/{job['id']}/result").content)
    assert result[0] == "ok"
    assert result[1] == {
        "SEEDBED_JOB_ID": job["id"],
        "SEEDBED_PROFILE": "small",
        "OMP_NUM_THREADS": "1",
        "SEEDBED_URL": "http://127.0.0.1",
    }
    # the job's token was made for it and is revoked now that it ended
    own = [t for t in tokens.list_tokens(local_workspace) if t.name == f"job {job['id']}"]
    assert len(own) == 1 and own[0].revoked and own[0].username == "admin"
    actions = [(e.action, e.target) for e in audit.recent(local_workspace, 50)]
    assert ("job.submit", job["id"]) in actions and ("job.end", job["id"]) in actions
    listed = http.get("/api/v1/jobs", params={"status": "finished"}).json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert http.get("/api/v1/jobs", params={"status": "live"}).json() == []


def test_a_function_that_raises_fails_the_job_and_keeps_the_exception(http: TestClient) -> None:
    def broken() -> None:
        raise ValueError("no good")

    job = http.post("/api/v1/jobs", json=function_body(broken)).json()["job"]
    ended = wait(http, job["id"])
    assert ended["status"] == "failed" and ended["exit_code"] == 1
    kind, error, text = cloudpickle.loads(http.get(f"/api/v1/jobs/{job['id']}/result").content)
    assert kind == "error" and isinstance(error, ValueError) and "no good" in text
    log = http.get(f"/api/v1/jobs/{job['id']}/logs")
    assert "ValueError: no good" in log.text and log.headers["x-seedbed-status"] == "failed"
    follow = http.get(f"/api/v1/jobs/{job['id']}/logs", params={"offset": len(log.content)})
    assert follow.content == b""


def test_bad_jobs_are_refused_with_what_to_do(http: TestClient) -> None:
    def submit(**body: Any) -> Any:
        return http.post("/api/v1/jobs", json=body)

    unknown = submit(**function_body(print, profile="huge"))
    assert unknown.status_code == 404 and "the profiles are" in unknown.text
    too_big = submit(**function_body(print, cpus=64))
    assert too_big.status_code == 400 and "can never run here" in too_big.text
    assert http.get("/api/v1/jobs").json() == []  # nothing of it is kept
    not_python = submit(kind="script", filename="run.sh", content="echo hi")
    assert not_python.status_code == 400 and "not a Python script" in not_python.text
    not_a_notebook = submit(kind="notebook", filename="a.ipynb", content="{nope")
    assert not_a_notebook.status_code == 400 and "notebook JSON" in not_a_notebook.text
    garbage = submit(kind="function", content="%%%")
    assert garbage.status_code == 400 and "base64" in garbage.text
    retries = submit(**function_body(print, max_retries=99))
    assert retries.status_code == 422
    assert http.get("/api/v1/jobs/nope").status_code == 404
    job = submit(**function_body(print)).json()["job"]
    assert http.get(f"/api/v1/jobs/{job['id'][:8]}").json()["job"]["id"] == job["id"]
    wait(http, job["id"])
    assert http.get("/api/v1/jobs", params={"status": "live"}).json() == []


def test_who_may_do_what_with_jobs(http: TestClient, local_workspace: Workspace) -> None:
    viewer = {"Authorization": f"Bearer {token_for(local_workspace, 'vic', 'viewer')}"}
    editor = {"Authorization": f"Bearer {token_for(local_workspace, 'eve', 'editor')}"}
    refused = http.post("/api/v1/jobs", json=function_body(print), headers=viewer)
    assert refused.status_code == 403
    sleeper = function_body(time.sleep, 30)
    job = http.post("/api/v1/jobs", json=sleeper).json()["job"]  # the admin's
    assert http.get(f"/api/v1/jobs/{job['id']}", headers=viewer).status_code == 200
    assert http.get(f"/api/v1/jobs/{job['id']}/logs", headers=editor).status_code == 403
    assert http.post(f"/api/v1/jobs/{job['id']}/cancel", headers=editor).status_code == 403
    own = http.post("/api/v1/jobs", json=function_body(time.sleep, 30), headers=editor).json()
    cancelled = http.post(f"/api/v1/jobs/{own['job']['id']}/cancel", headers=editor)
    assert cancelled.status_code == 200
    assert wait(http, own["job"]["id"], editor)["status"] == "cancelled"
    assert http.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    assert wait(http, job["id"])["status"] == "cancelled"
    again = http.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 400 and "ended already" in again.text


def test_profiles_from_settings_and_from_admins(
    http: TestClient, local_workspace: Workspace
) -> None:
    listed = {p["name"]: p for p in http.get("/api/v1/compute/profiles").json()}
    assert set(listed) == {"small", "large", "gpu"} and listed["large"]["cpus"] == "all"
    made = http.put(
        "/api/v1/compute/profiles/medium", json={"cpus": 1.5, "memory": "1GiB", "gpus": 0}
    )
    assert made.status_code == 200 and made.json()["origin"] == "admin"
    job = http.post("/api/v1/jobs", json=function_body(print, profile="medium")).json()["job"]
    assert (job["cpus"], job["memory_bytes"]) == (1.5, 2**30)
    wait(http, job["id"])
    # explicit numbers win over the profile's
    job = http.post("/api/v1/jobs", json=function_body(print, profile="large", memory="10%"))
    total = http.get("/api/v1/compute/capacity").json()["total"]
    assert job.json()["job"]["cpus"] == total["cpus"]
    assert job.json()["job"]["memory_bytes"] == int(total["memory_bytes"] * 0.1)
    wait(http, job.json()["job"]["id"])
    bad = http.put("/api/v1/compute/profiles/odd", json={"cpus": "many", "memory": "1GiB"})
    assert bad.status_code == 400 and "'all'" in bad.text
    bad = http.put("/api/v1/compute/profiles/odd", json={"cpus": 1, "memory": "lots"})
    assert bad.status_code == 400 and "is not a size" in bad.text
    bad = http.put("/api/v1/compute/profiles/Bad Name", json={"cpus": 1, "memory": "1GiB"})
    assert bad.status_code == 400
    settings_one = http.delete("/api/v1/compute/profiles/small")
    assert settings_one.status_code == 400 and "seedbed.toml" in settings_one.text
    assert http.delete("/api/v1/compute/profiles/medium").status_code == 204
    editor = {"Authorization": f"Bearer {token_for(local_workspace, 'eve', 'editor')}"}
    refused = http.put(
        "/api/v1/compute/profiles/x", json={"cpus": 1, "memory": "1GiB"}, headers=editor
    )
    assert refused.status_code == 403


def test_memory_sizes() -> None:
    assert profiles.memory_bytes("2GiB", 0) == 2 * 2**30
    assert profiles.memory_bytes("512 MB", 0) == 512 * 10**6
    assert profiles.memory_bytes("75%", 1000) == 750
    assert profiles.memory_bytes(123, 0) == 123
    for bad in ("0%", "120%", "lots", "-1GiB"):
        with pytest.raises(Invalid):
            profiles.memory_bytes(bad, 1000)
    with pytest.raises(Invalid):
        profiles.check(ProfileSpec(cpus=0, memory="1GiB"))


def test_capacity_and_pages(http: TestClient) -> None:
    capacity = http.get("/api/v1/compute/capacity").json()
    assert capacity["backend"] == "local" and capacity["total"]["cpus"] >= 1
    job = http.post("/api/v1/jobs", json=function_body(print, "hi", name="greet")).json()["job"]
    wait(http, job["id"])
    page = http.get("/ui/jobs")
    assert page.status_code == 200 and "greet" in page.text and "CPUs" in page.text
    detail = http.get(f"/ui/jobs/{job['id']}")
    assert detail.status_code == 200 and "succeeded" in detail.text
    assert http.get("/ui/jobs/nope").status_code == 404
