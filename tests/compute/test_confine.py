"""Local jobs confined with Landlock: they read lib/, notebooks/ and features/ and the rest of
the machine, write only their own folder and /tmp, and cannot read the workspace's
internals (metadata DB, warehouse, artifacts, keys, the admin's token)."""

from __future__ import annotations

import base64
import os
import sys
import time
from typing import Any

import cloudpickle
import pytest
from tests.conftest import api_client

from seedbed.compute import confine
from seedbed.data.secrets import secret_box
from seedbed.workspace import Workspace

pytestmark = pytest.mark.skipif(not confine.available(), reason="this kernel has no Landlock")


def probe(root: str) -> dict[str, Any]:
    """What a job may do with the workspace, tried one thing at a time."""
    import pathlib
    import tempfile

    def attempt(action: Any) -> str:
        try:
            action()
        except PermissionError:
            return "denied"
        except FileNotFoundError:
            return "missing"
        return "ok"

    base = pathlib.Path(root)
    home = pathlib.Path(os.environ["HOME"])
    return {
        "metadata": attempt(lambda: (base / "metadata.db").read_bytes()),
        "token": attempt(lambda: (base / ".seedbed" / "token").read_text()),
        "key": attempt(lambda: (base / ".seedbed" / "secret.key").read_bytes()),
        "warehouse": attempt(lambda: (base / "warehouse.duckdb").read_bytes()),
        "artifacts": attempt(lambda: os.listdir(base / "artifacts")),
        "list_root": attempt(lambda: os.listdir(base)),
        "write_root": attempt(lambda: (base / "x.txt").write_text("x")),
        "lib": attempt(lambda: (base / "lib" / "helper.py").read_text()),
        "write_lib": attempt(lambda: (base / "lib" / "evil.py").write_text("x")),
        "home": attempt(lambda: (home / "out.txt").write_text("x")),
        "tmp": attempt(lambda: tempfile.NamedTemporaryFile().close()),
        "etc": attempt(lambda: pathlib.Path("/etc/hostname").read_text()),
        "other_jobs": attempt(lambda: os.listdir(home.parent.parent)),
    }


def test_a_job_cannot_read_the_workspace_internals(local_workspace: Workspace) -> None:
    (local_workspace.lib_dir / "helper.py").write_text("ANSWER = 42\n")
    secret_box(local_workspace).derive("test")  # the workspace key exists
    with api_client(local_workspace) as http:
        (local_workspace.root / "warehouse.duckdb").touch()
        local_workspace.artifacts.put_bytes("x/y.txt", b"secret")
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        try:
            body = cloudpickle.dumps((probe, (str(local_workspace.root),), {}))
        finally:
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        made = http.post(
            "/api/v1/jobs",
            json={"kind": "function", "content": base64.b64encode(body).decode()},
        )
        assert made.status_code == 201, made.text
        job_id = made.json()["job"]["id"]
        deadline = time.monotonic() + 60
        while not http.get(f"/api/v1/jobs/{job_id}").json()["job"]["final"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        answer = http.get(f"/api/v1/jobs/{job_id}/result")
        assert answer.status_code == 200, http.get(f"/api/v1/jobs/{job_id}/logs").text
        kind, found = cloudpickle.loads(answer.content)[:2]
    assert kind == "ok", found
    assert found == {
        "metadata": "denied",
        "token": "denied",
        "key": "denied",
        "warehouse": "denied",
        "artifacts": "denied",
        "list_root": "denied",
        "write_root": "denied",
        "lib": "ok",
        "write_lib": "denied",
        "home": "ok",
        "tmp": "ok",
        "etc": "ok",
        "other_jobs": "denied",
    }


def test_paths_outside_a_folder(tmp_path: Any) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "beside").mkdir()
    (tmp_path / "ws" / "inside").mkdir()
    found = confine.outside(tmp_path / "ws")
    assert str(tmp_path / "beside") in found
    assert not any(p.startswith(str(tmp_path / "ws")) for p in found)
    assert "/" not in found and str(tmp_path) not in found
