"""JupyterLab through a real `seedbed up`: a kernel of a workspace environment reaches the
server with `sb.connect()` and no arguments; only the workspace's environments are kernels;
JupyterLab restarts when it dies and stops with the server; a port in use is refused."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.auth_sessions import page_csrf
from tests.conftest import api_client, make_settings
from tests.server_process import SeedbedServer
from websockets.sync.client import connect as websocket

from seedbed.auth import tokens
from seedbed.compute import confine
from seedbed.notebooks import environments as envs
from seedbed.workspace import Workspace

CELL = "import seedbed as sb\nprint('answer', sb.connect().sql('select 42 as x').x[0])"


def execute(lab: dict[str, Any], kernel_id: str, code: str, timeout_s: float = 60) -> str:
    """Run `code` in a JupyterLab kernel over its websocket; returns what it printed."""
    token = lab["url"].split("token=")[1]
    url = f"ws://127.0.0.1:{lab['port']}/api/kernels/{kernel_id}/channels"
    msg_id = uuid.uuid4().hex
    request = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "test",
            "session": uuid.uuid4().hex,
            "version": "5.3",
            "date": "",
        },
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": False},
        "channel": "shell",
        "buffers": [],
    }
    printed: list[str] = []
    with websocket(url, additional_headers={"Authorization": f"token {token}"}) as channel:
        channel.send(json.dumps(request))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = json.loads(channel.recv(timeout=deadline - time.monotonic()))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                printed.append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(printed)
    raise AssertionError(f"The kernel did not finish; it printed {''.join(printed)!r}")


def wait_for(check: Any, timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("waited in vain")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) counts as gone
    status = Path(f"/proc/{pid}/stat")
    return not status.exists() or status.read_text().split(") ")[1][0] != "Z"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SeedbedServer]:
    with Workspace.open(make_settings(tmp_path / "ws")) as workspace:
        envs.create(workspace, "extra")  # a second environment: a second kernel
    with SeedbedServer(tmp_path / "ws") as running:
        yield running


def test_a_kernel_reaches_seedbed_without_arguments(server: SeedbedServer) -> None:
    api = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=90
    )
    started = time.monotonic()
    lab = api.post("/api/v1/notebooks/server").json()
    ready_s = time.monotonic() - started
    assert lab["url"].startswith("http://127.0.0.1:") and "token=" in lab["url"], lab
    assert ready_s < 20, f"JupyterLab took {ready_s:.1f} s"
    jupyter = httpx.Client(
        base_url=f"http://127.0.0.1:{lab['port']}",
        headers={"Authorization": f"token {lab['url'].split('token=')[1]}"},
        timeout=30,
    )
    assert jupyter.get("/api/status").status_code == 200
    assert httpx.get(f"http://127.0.0.1:{lab['port']}/api/kernelspecs").status_code == 403

    # the workspace's environments are the kernels, and no others (no ipykernel "python3")
    specs = jupyter.get("/api/kernelspecs").json()
    assert set(specs["kernelspecs"]) == {"default", "extra"}
    assert specs["default"] == "default"
    kernel_env = specs["kernelspecs"]["default"]["spec"]["env"]
    assert kernel_env["SEEDBED_URL"] == server.url

    kernel = jupyter.post("/api/kernels", json={"name": "default"}).json()
    assert "answer 42" in execute(lab, kernel["id"], CELL)
    where = execute(lab, kernel["id"], "import sys, os; print(sys.prefix, os.getcwd())")
    assert "environments/default/.venv" in where and where.strip().endswith("notebooks")
    if confine.available():
        # confined: the kernel saves files beside the notebooks but cannot read the
        # workspace's internals (the metadata DB, the admin's token)
        probe = (
            "import pathlib\n"
            "pathlib.Path('saved.txt').write_text('ok')\n"
            "for name in ('../metadata.db', '../.seedbed/token'):\n"
            "    try:\n"
            "        pathlib.Path(name).read_bytes(); print(name, 'read')\n"
            "    except PermissionError:\n"
            "        print(name, 'denied')\n"
        )
        said = execute(lab, kernel["id"], probe)
        assert "../metadata.db denied" in said and "../.seedbed/token denied" in said, said

    # a kernel that dies (killed here, as the kernel's OOM killer would) is reported
    kernel_pid = int(execute(lab, kernel["id"], "import os; print(os.getpid())").strip())
    assert api.get("/api/v1/notebooks/server").json()["kernel_events"] == []
    os.kill(kernel_pid, signal.SIGKILL)
    events = wait_for(
        lambda: api.get("/api/v1/notebooks/server").json()["kernel_events"], timeout_s=30
    )
    assert "a kernel died; JupyterLab restarted it (1/" in events[0]
    page = api.get("/ui/notebooks")
    assert "Kernels of your JupyterLab died" in page.text

    # the CLI finds the running JupyterLab and prints its URL
    cli = subprocess.run(
        [sys.executable, "-m", "seedbed", "notebook"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token},
    )
    assert cli.returncode == 0, cli.stderr
    assert lab["url"] in cli.stdout

    # killed, it comes back (same port, same token), and says it restarted
    os.kill(lab["pid"], signal.SIGKILL)
    again = wait_for(
        lambda: (
            (s := api.get("/api/v1/notebooks/server").json())["running"]
            and s["pid"] != lab["pid"]
            and s
        ),
        timeout_s=40,
    )
    assert again["restarts"] == 1 and again["url"] == lab["url"]
    assert jupyter.get("/api/status").status_code == 200

    # stopped with the server; the kernels' token stops working
    server.stop()
    wait_for(lambda: not alive(again["pid"]), timeout_s=15)
    with Workspace.open(make_settings(server.workspace)) as workspace:
        assert tokens.authenticate(workspace, kernel_env["SEEDBED_TOKEN"]) is None


@pytest.fixture
def http(local_workspace: Workspace) -> Iterator[TestClient]:
    with api_client(local_workspace) as client:
        yield client
        client.app.state.jupyter.close()  # type: ignore[attr-defined]


def test_a_port_in_use_is_refused_with_what_to_do(
    http: TestClient, local_workspace: Workspace
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        answer = http.post("/api/v1/notebooks/server", json={"port": port})
    assert answer.status_code == 409, answer.text
    message = answer.json()["error"]["message"]
    assert f"Port {port}" in message and "in use" in message
    assert http.get("/api/v1/notebooks/server").json() == {"running": False}
    # the token made for it is revoked again
    made = [t for t in tokens.list_tokens(local_workspace) if t.name.startswith("jupyterlab")]
    assert made and all(t.revoked for t in made)


def test_open_in_jupyterlab_starts_it_and_sends_the_browser_there(
    local_workspace: Workspace,
) -> None:
    (local_workspace.notebooks_dir / "my nb.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    token = tokens.ensure_admin_token(local_workspace)
    with api_client(local_workspace, authenticated=False) as browser:
        try:
            assert browser.get(f"/login?token={token}").status_code == 303
            csrf = page_csrf(browser, "/ui/notebooks/view/my%20nb.ipynb")
            opened = browser.post(
                "/ui/notebooks/open", data={"path": "my nb.ipynb", "csrf_token": csrf}
            )
            assert opened.status_code == 303, opened.text
            target = opened.headers["location"]
            assert target.startswith("http://127.0.0.1:") and "/lab/tree/my%20nb.ipynb?token=" in (
                target
            )
            assert httpx.get(target, timeout=30).status_code == 200  # the token lets it in
            assert "Open JupyterLab" in browser.get("/ui/notebooks").text  # it runs now
        finally:
            browser.app.state.jupyter.close()  # type: ignore[attr-defined]
