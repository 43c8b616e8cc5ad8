"""Workspace environments with real uv installs from the machine's configured package index:
create, add (with a version), remove, lock, sync, lib/ importable, bad packages refused with
the resolver's message and the environment unchanged; jobs run in an environment."""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.auth_sessions import token_for
from tests.conftest import api_client

from seedbed.errors import Invalid, NotFound
from seedbed.notebooks import environments as envs
from seedbed.workspace import Workspace


def run_in(environment: envs.Environment, code: str) -> str:
    done = subprocess.run(
        [str(environment.python), "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def own(environment: envs.Environment) -> dict[str, str]:
    return {p.name.lower(): p.version for p in envs.packages(environment) if p.own}


def test_an_environment_layers_packages_over_the_servers(local_workspace: Workspace) -> None:
    (local_workspace.lib_dir / "team_code.py").write_text("ANSWER = 42\n")
    default = envs.get(local_workspace)  # made on first use
    assert default.python.is_file() and default.requirements == []
    # the server's packages and the team's lib/ are there at once
    assert run_in(default, "import seedbed, sklearn, team_code; print(team_code.ANSWER)") == "42"
    first_lock = default.lock_hash
    assert first_lock is not None

    added = envs.add(local_workspace, "default", "tabulate==0.8.10")
    assert added.requirements == ["tabulate==0.8.10"]
    assert own(added) == {"tabulate": "0.8.10"}
    assert run_in(added, "import tabulate; print(tabulate.__version__)") == "0.8.10"
    assert added.lock_hash != first_lock
    assert "tabulate==0.8.10" in (added.folder / envs.LOCK).read_text()
    # another version replaces the requirement
    upgraded = envs.add(local_workspace, "default", "tabulate>=0.9")
    assert upgraded.requirements == ["tabulate>=0.9"] and own(upgraded)["tabulate"] != "0.8.10"
    # the server's own Python is untouched
    assert subprocess.run([sys.executable, "-c", "import tabulate"]).returncode != 0

    removed = envs.remove(local_workspace, "default", "tabulate")
    assert removed.requirements == [] and own(removed) == {}
    assert removed.lock_hash == first_lock
    with pytest.raises(NotFound, match="not one of the packages"):
        envs.remove(local_workspace, "default", "tabulate")


def test_bad_packages_leave_the_environment_unchanged(local_workspace: Workspace) -> None:
    before = envs.get(local_workspace)
    requirements = (before.folder / envs.REQUIREMENTS).read_text()
    with pytest.raises(Invalid, match="uv said") as missing:
        envs.add(local_workspace, "default", "no-such-package-seedbed-zz")
    assert "not found" in str(missing.value) or "No solution" in str(missing.value)
    with pytest.raises(Invalid, match="No solution"):
        envs.add(local_workspace, "default", "tabulate==0.0.1")
    with pytest.raises(Invalid, match="not a package requirement"):
        envs.add(local_workspace, "default", "tabulate >> 1; ;")
    after = envs.get(local_workspace)
    assert (after.folder / envs.REQUIREMENTS).read_text() == requirements
    assert after.lock_hash == before.lock_hash and own(after) == {}
    with pytest.raises(Invalid, match="not allowed"):
        envs.create(local_workspace, "Bad Name")
    with pytest.raises(NotFound, match="the environments are: default"):
        envs.get(local_workspace, "nope")


def test_sync_makes_the_environment_match_its_lock(local_workspace: Workspace) -> None:
    made = envs.create(local_workspace, "work")
    envs.add(local_workspace, "work", "toolz")
    locked = envs.get(local_workspace, "work")
    # someone changes the environment by hand: sync puts it back
    subprocess.run(
        [envs.uv.binary(), "pip", "uninstall", "--python", str(made.python), "toolz"],
        env=envs.uv.environment(),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [envs.uv.binary(), "pip", "install", "--python", str(made.python), "tabulate"],
        env=envs.uv.environment(),
        check=True,
        capture_output=True,
    )
    synced, changed = envs.sync(local_workspace, "work")
    assert any(c.startswith("installed toolz==") for c in changed)
    assert "removed tabulate" in changed
    assert own(synced) == own(locked)
    assert envs.sync(local_workspace, "work")[1] == []
    assert [e.name for e in envs.list_environments(local_workspace)] == ["default", "work"]


@pytest.fixture
def http(local_workspace: Workspace) -> Iterator[TestClient]:
    with api_client(local_workspace) as client:
        yield client


def test_environments_over_http_and_jobs_in_them(
    http: TestClient, local_workspace: Workspace
) -> None:
    assert [e["name"] for e in http.get("/api/v1/environments").json()] == ["default"]
    assert http.post("/api/v1/environments", json={"name": "extra"}).status_code == 201
    added = http.post("/api/v1/environments/extra/packages", json={"spec": "toolz"})
    assert added.status_code == 200, added.text
    shown = http.get("/api/v1/environments/extra").json()
    assert any(p["name"].lower() == "toolz" and p["own"] for p in shown["packages"])
    refused = http.post("/api/v1/environments/extra/packages", json={"spec": "tabulate==0.0.1"})
    assert refused.status_code == 400 and "uv said" in refused.text
    viewer = {"Authorization": f"Bearer {token_for(local_workspace, 'vic', 'viewer')}"}
    denied = http.post("/api/v1/environments/extra/packages", json={"spec": "six"}, headers=viewer)
    assert denied.status_code == 403
    page = http.get("/ui/environment")
    assert page.status_code == 200 and "toolz" in page.text and 'name="spec"' in page.text
    # a job runs in the environment it names, and only there is toolz importable
    script = "import toolz, sys; print('toolz', toolz.__version__, sys.prefix)"
    body = {"kind": "script", "filename": "t.py", "content": script, "environment": "extra"}
    job = http.post("/api/v1/jobs", json=body).json()["job"]
    assert job["environment"] == "extra" and job["environment_lock"].startswith("sha256:")
    assert job["python_version"] == platform.python_version()
    assert job["lib_version"].startswith("sha256:")
    import time

    deadline = time.monotonic() + 60
    while not http.get(f"/api/v1/jobs/{job['id']}").json()["job"]["final"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    log = http.get(f"/api/v1/jobs/{job['id']}/logs").text
    assert log.startswith("toolz ") and "environments/extra/.venv" in log
    unknown = http.post("/api/v1/jobs", json={**body, "environment": "nope"})
    assert unknown.status_code == 404
