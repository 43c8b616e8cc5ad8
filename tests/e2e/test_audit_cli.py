"""`seedbed audit …` against a real server: list with filters, export to a file, bad input."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from server_process import SeedbedServer
from server_process import run_cli as run

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("audit-e2e") / "ws") as running:
        yield running


def test_audit_through_the_server(server: SeedbedServer, tmp_path: Path) -> None:
    env = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    added = run("users", "add", "ada", "--role", "viewer", "--no-password", env=env)
    assert added.returncode == 0, added.stderr
    listed = run("audit", "list", "--action", "user.", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    actions = [(e["username"], e["action"], e["target"]) for e in json.loads(listed.stdout)]
    assert actions[0] == ("admin", "user.create", "ada") and len(actions) == 2
    listed = run("audit", "list", "--action", "user.", "--user", "admin", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)
    assert [(e["username"], e["action"], e["target"]) for e in events] == [
        ("admin", "user.create", "ada")
    ]
    table = run("audit", "list", "--user", "admin", "--limit", "5", env=env)
    assert table.returncode == 0 and "user.create" in table.stdout

    target = tmp_path / "audit.csv"
    exported = run("audit", "export", "--format", "csv", "-o", str(target), env=env)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    # The export is audited before it runs, so it lists itself first.
    assert [(r["username"], r["action"], r["target"]) for r in rows[:2]] == [
        ("admin", "audit.export", "csv"),
        ("admin", "user.create", "ada"),
    ]
    jsonl = run("audit", "export", "--action", "user.", "--user", "admin", env=env)
    assert [json.loads(line)["target"] for line in jsonl.stdout.splitlines()] == ["ada"]

    for args, message in [
        (("audit", "list", "--since", "last tuesday"), "ISO 8601"),
        (("audit", "list", "--limit", "0"), "between 1 and 1000"),
        (("audit", "export", "--format", "xml", "-o", str(tmp_path / "x")), "csv or jsonl"),
    ]:
        failed = run(*args, env=env)
        assert failed.returncode == 1 and message in failed.stderr, (args, failed.stderr)
    assert not (tmp_path / "x").exists()


def test_audit_needs_the_admin_role(server: SeedbedServer) -> None:
    env = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    run("users", "add", "vic", "--role", "viewer", "--no-password", env=env)
    made = run("users", "token", "create", "vic", "--json", env=env)
    token = json.loads(made.stdout)[0]["token"]
    denied = run("audit", "list", env={"SEEDBED_URL": server.url, "SEEDBED_TOKEN": token})
    assert denied.returncode == 1 and "admin" in denied.stderr
