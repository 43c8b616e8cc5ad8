"""What a run records about where it ran, captured for real: a script run with a workspace
environment's Python logs to a real `seedbed up`, and its tags name the environment, its
lock, the exact packages and the version of the team's lib/."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import seedbed as sb
from seedbed import run_context
from seedbed.notebooks import environments as envs
from seedbed.workspace import Workspace
from server_process import SeedbedServer

pytestmark = pytest.mark.e2e

SCRIPT = """
import seedbed as sb, team_code
run = sb.connect().start_run(experiment="env-capture")
run.log_metric("answer", team_code.ANSWER)
run.end()
print(run.id)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("run-context") / "ws") as running:
        yield running


def run_script(python: Path, server: SeedbedServer, folder: Path) -> dict[str, str]:
    script = folder / "train.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDBED_")}
    env |= {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    done = subprocess.run(
        [str(python), str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    with sb.connect(url=server.url, token=server.token) as ws:
        run_id = done.stdout.strip()
        tags: dict[str, str] = ws.get_run(run_id)["tags"]
        pins = ws.download_artifact(run_id, run_context.REQUIREMENTS_ARTIFACT, folder)
        tags["_requirements"] = pins.read_text()
    return tags


def test_a_run_in_a_workspace_environment_records_it(
    local_workspace: Workspace, server: SeedbedServer, tmp_path: Path
) -> None:
    local_workspace.lib_dir.mkdir(exist_ok=True)
    code = local_workspace.lib_dir / "team_code.py"
    code.write_text("ANSWER = 42\n")
    environment = envs.get(local_workspace)
    assert environment.lock_hash is not None

    tags = run_script(environment.python, server, tmp_path)
    assert tags["seedbed.environment"] == "default"
    assert tags["seedbed.environment_lock"] == f"sha256:{environment.lock_hash}"
    assert tags["seedbed.python_version"] == platform.python_version()
    first = tags["seedbed.lib_version"]
    assert first == run_context.lib_version(local_workspace.lib_dir)
    # the exact distributions the environment's Python imports, one version per package
    pinned = set(tags["_requirements"].splitlines())
    assert pinned == {f"{p.name}=={p.version}" for p in envs.packages(environment)}

    code.write_text("ANSWER = 43\n")  # the team changes its code: another lib/ version
    changed = run_script(environment.python, server, tmp_path)
    assert changed["seedbed.lib_version"] not in (first, "")
    assert changed["seedbed.lib_version"] == run_context.lib_version(local_workspace.lib_dir)
    assert changed["seedbed.environment_lock"] == tags["seedbed.environment_lock"]


def test_outside_an_environment_the_lock_is_the_hash_of_the_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_context.workspace_environment(str(tmp_path / ".venv")) is None
    requirements = run_context.installed_requirements()
    assert run_context.environment_tags(requirements) == {
        "seedbed.environment_lock": run_context.requirements_hash(requirements)
    }
    # a lib/ named explicitly wins over the one found on sys.path
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "features.py").write_text("X = 1\n")
    monkeypatch.setenv(run_context.LIB_VARIABLE, str(tmp_path / "mine"))
    assert run_context.lib_tags() == {
        "seedbed.lib_version": run_context.lib_version(tmp_path / "mine")
    }
    before = run_context.lib_version(tmp_path / "mine")
    (tmp_path / "mine" / "__pycache__").mkdir()
    (tmp_path / "mine" / "__pycache__" / "features.cpython-311.pyc").write_bytes(b"x")
    assert run_context.lib_version(tmp_path / "mine") == before  # caches are not code
    (tmp_path / "mine" / "more.py").write_text("Y = 2\n")
    assert run_context.lib_version(tmp_path / "mine") != before
