"""The real `seedbed up` in a subprocess, used over HTTP by the SDK and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import seedbed as sb
from seedbed.runtime import runtime_path
from server_process import SeedbedServer

pytestmark = pytest.mark.e2e
ROW = {
    "carrier": "UA",
    "origin": "EWR",
    "month": 12,
    "weekday": 5,
    "sched_hour": 18,
    "distance": 1000.0,
    "temp": 30.0,
    "wind_speed": 20.0,
    "precip": 0.1,
    "visib": 2.0,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("e2e") / "ws", demo=True) as running:
        yield running


def cli(*args: str, workspace: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDBED_")}
    if workspace is not None:
        env["SEEDBED_WORKSPACE"] = str(workspace)
    return subprocess.run(
        [sys.executable, "-m", "seedbed", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_sdk_finds_the_server_through_the_runtime_file(server: SeedbedServer) -> None:
    runtime = json.loads(runtime_path(server.workspace).read_text())
    assert runtime["url"] == server.url and runtime["pid"] == server.process.pid  # type: ignore[union-attr]
    with sb.connect(workspace=server.workspace) as ws:
        tables = ws.tables()
        assert set(tables["name"]) >= {"airlines", "airports", "flights", "planes", "weather"}
        delayed = ws.sql("select count(*) as n from flights where dep_delay > 15")
        assert int(delayed["n"][0]) > 50_000
        assert ws.sql_arrow("select * from airlines").num_rows == 16
        assert len(ws.table("planes", limit=7)) == 7


def test_sdk_logs_runs(server: SeedbedServer) -> None:
    ws = sb.connect(url=server.url, token=server.token)
    with ws.start_run(experiment="sdk-e2e", name="ok") as run:
        run.log_params({"alpha": 0.5})
        run.log_metric("loss", 1.0, step=0)
        run.log_metric("loss", 0.4, step=1)
        run.set_tags({"by": "test"})
    info = run.info()
    assert info["status"] == "FINISHED" and info["metrics"] == {"loss": 0.4}
    with pytest.raises(ZeroDivisionError), ws.start_run(experiment="sdk-e2e") as failing:
        1 / 0  # noqa: B018
    assert failing.info()["status"] == "FAILED"
    with pytest.raises(sb.Conflict, match="write-once"), ws.start_run(experiment="sdk-e2e") as r:
        r.log_param("a", 1)
        r.log_param("a", 2)
    assert {r["name"] for r in ws.runs("sdk-e2e")} >= {"ok"}
    ws.close()


def test_sdk_predicts_with_the_champion(server: SeedbedServer) -> None:
    with sb.connect(url=server.url, token=server.token) as ws:
        [answer] = ws.models.predict("flight-delay", [ROW])
        assert answer["prediction"] in (0, 1)
        assert sum(answer["probabilities"].values()) == pytest.approx(1.0)
        with pytest.raises(sb.Invalid, match="origin"):
            ws.models.predict("flight-delay", [{**ROW, "origin": "nowhere"}])
        with pytest.raises(sb.NotFound):
            ws.models.predict("no-such-model", [ROW])


def test_bad_token_is_unauthorized(server: SeedbedServer) -> None:
    with sb.connect(url=server.url, token="sb_wrong") as ws, pytest.raises(sb.Unauthorized):
        ws.tables()


def test_cli_talks_to_the_server(server: SeedbedServer) -> None:
    tables = cli("data", "tables", "--json", workspace=server.workspace)
    assert tables.returncode == 0, tables.stderr
    assert {t["name"] for t in json.loads(tables.stdout)} >= {"flights", "weather"}
    runs = cli("runs", "list", "flight-delays", "--json", workspace=server.workspace)
    assert {r["name"] for r in json.loads(runs.stdout)} == {
        "business-rule",
        "gradient-boosting",
        "gradient-boosting-features",
    }
    models = cli("models", "list", workspace=server.workspace)
    assert "flight-delay" in models.stdout and "champion" in models.stdout
    predicted = cli(
        "models", "predict", "flight-delay", json.dumps(ROW), workspace=server.workspace
    )
    assert predicted.returncode == 0 and "probabilities" in json.loads(predicted.stdout)
    bad = cli("models", "predict", "flight-delay", "{not json", workspace=server.workspace)
    assert bad.returncode == 1 and "not valid JSON" in bad.stderr


def test_a_second_server_on_the_same_workspace_is_refused(server: SeedbedServer) -> None:
    second = cli("up", "--workspace", str(server.workspace), "--port", "0")
    assert second.returncode == 1
    assert "already serves" in second.stderr and server.url in second.stderr


def test_sigterm_stops_cleanly_and_a_restart_reuses_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    first = SeedbedServer(root).start()
    token = first.token
    assert runtime_path(root).exists()
    assert first.stop(signal.SIGTERM) == 0
    assert not runtime_path(root).exists()
    with SeedbedServer(root) as again:
        assert again.token == token  # the admin's login token survives restarts
        with sb.connect(workspace=root) as ws:
            assert ws.health()
    assert again.stop(signal.SIGINT) == 0


def test_demo_is_reused_on_restart(server: SeedbedServer, tmp_path: Path) -> None:
    server.stop()
    with SeedbedServer(server.workspace, demo=True) as again:
        assert any("reusing" in line for line in again.output)
        with sb.connect(workspace=server.workspace) as ws:
            assert len(ws.models.list()) == 1


def test_no_server_gives_a_helpful_error(tmp_path: Path) -> None:
    with pytest.raises(sb.ServerNotFound, match="seedbed up"):
        sb.connect(workspace=tmp_path)
    with pytest.raises(sb.ServerNotFound, match="No seedbed server answers"):
        sb.connect(url="http://127.0.0.1:9", token="sb_x")
    result = cli("data", "tables", workspace=tmp_path)
    assert result.returncode == 1 and "seedbed up" in result.stderr


def test_init_makes_a_workspace(tmp_path: Path) -> None:
    result = cli("init", "--workspace", str(tmp_path / "new"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new" / "metadata.db").exists()
    assert (tmp_path / "new" / ".seedbed" / "token").exists()
