"""`seedbed users …` against a real server, and on the workspace itself when none runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server_process import SeedbedServer
from server_process import run_cli as run

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("users-e2e") / "ws") as running:
        yield running


def test_users_through_the_server(server: SeedbedServer) -> None:
    env = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    added = run(
        "users",
        "add",
        "ada",
        "--role",
        "viewer",
        "--password-stdin",
        env=env,
        stdin="pass word 1\n",
    )
    assert added.returncode == 0, added.stderr
    listed = json.loads(run("users", "list", "--json", env=env).stdout)
    assert {(u["username"], u["role"]) for u in listed} == {("ada", "viewer"), ("admin", "admin")}
    made = run("users", "token", "create", "ada", "--name", "nb", "--json", env=env)
    token = json.loads(made.stdout)[0]["token"]
    as_ada = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert as_ada.json()["role"] == "viewer"
    # ada, a viewer, may list her own tokens but not the users.
    mine = run(
        "users", "token", "list", "ada", env={"SEEDBED_URL": server.url, "SEEDBED_TOKEN": token}
    )
    assert mine.returncode == 0 and "nb" in mine.stdout
    denied = run("users", "list", env={"SEEDBED_URL": server.url, "SEEDBED_TOKEN": token})
    assert denied.returncode == 1 and "needs the admin role" in denied.stderr

    # The refusals run the same CLI in this process (the real server answers them): a
    # process start per case would add seconds and test nothing more.
    from typer.testing import CliRunner

    from seedbed.cli import app

    for args, stdin, message in [
        (("users", "remove", "nobody"), None, "No user named 'nobody'"),
        (("users", "add", "bo", "--role", "owner", "--no-password"), None, "unknown"),
        (("users", "remove", "admin"), None, "last admin"),
        (("users", "add", "cy", "--password-stdin"), "short\n", "too short"),
        (("users", "add", "cy", "--password-stdin"), "\n", "empty"),
        (("users", "reset-password", "ada"), "", "--password-stdin"),  # no terminal to ask
    ]:
        failed = CliRunner().invoke(app, list(args), env=env, input=stdin)
        assert failed.exit_code == 1 and message in failed.stderr, (args, failed.stderr)

    [info] = json.loads(run("users", "token", "list", "ada", "--json", env=env).stdout)
    assert run("users", "token", "revoke", "ada", str(info["id"]), env=env).returncode == 0
    after = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    assert run("users", "set", "ada", "--disable", env=env).returncode == 0
    assert run("users", "remove", "ada", env=env).returncode == 0


def test_users_on_the_workspace_when_no_server_runs(tmp_path: Path) -> None:
    env = {"SEEDBED_WORKSPACE": str(tmp_path / "ws")}
    assert run("init", env=env).returncode == 0
    added = run(
        "users",
        "add",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        env=env,
        stdin="pass word 1\n",
    )
    assert added.returncode == 0, added.stderr
    assert (
        run(
            "users", "reset-password", "root", "--password-stdin", env=env, stdin="pass word 2\n"
        ).returncode
        == 0
    )
    listed = json.loads(run("users", "list", "--json", env=env).stdout)
    assert [u["username"] for u in listed] == ["admin", "root"]
    missing = run("users", "list", env={"SEEDBED_WORKSPACE": str(tmp_path / "none")})
    assert missing.returncode == 1 and "seedbed init" in missing.stderr
    # A bad expiry is a clear error, not a traceback.
    bad = run("users", "token", "create", "root", "--expires-in", "-1", env=env)
    assert bad.returncode == 1 and "positive number of days" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
