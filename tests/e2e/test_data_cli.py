"""Datasets through the real server: the SDK and the `seedbed data` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import seedbed as sb
from server_process import SeedbedServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("data-e2e") / "ws") as running:
        yield running


def cli(server: SeedbedServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEEDBED_")}
    env |= {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "seedbed", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_upload_list_show_download(server: SeedbedServer, tmp_path: Path) -> None:
    source = tmp_path / "sales.csv"
    source.write_text("region,amount\nnorth,10\nsouth,20\nnorth,5\n")
    first = cli(server, "data", "upload", str(source), "--name", "sales", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["version"]["version"] == 1
    again = cli(server, "data", "upload", str(source), "--name", "sales")
    assert again.returncode == 0 and "no new version" in again.stdout
    listed = json.loads(cli(server, "data", "list", "--json").stdout)
    assert [d["name"] for d in listed] == ["sales"]
    shown = json.loads(cli(server, "data", "show", "sales", "--json").stdout)
    assert [v["version"] for v in shown["versions"]] == [1]
    assert [(c["name"], c["type"]) for c in shown["columns"]] == [
        ("region", "VARCHAR"),
        ("amount", "BIGINT"),
    ]
    target = tmp_path / "out.parquet"
    saved = cli(server, "data", "download", "sales", "-o", str(target))
    assert saved.returncode == 0
    assert pd.read_parquet(target)["amount"].sum() == 35
    table = cli(server, "data", "show", "sales")
    assert "region" in table.stdout and "Versions of sales" in table.stdout


def test_cli_refuses_bad_files(server: SeedbedServer, tmp_path: Path) -> None:
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n")
    result = cli(server, "data", "upload", str(ragged), "--name", "r")
    assert result.returncode == 1 and "line 3 has 3 fields" in result.stderr
    missing = cli(server, "data", "upload", str(tmp_path / "nope.csv"), "--name", "r")
    assert missing.returncode == 1 and "is not a file" in missing.stderr
    absent = cli(server, "data", "show", "nothing-here")
    assert absent.returncode == 1 and "No dataset named" in absent.stderr


def test_sdk_uploads_dataframes_and_reads_them_back(server: SeedbedServer) -> None:
    frame = pd.DataFrame({"x": [1.5, 2.5], "label": ["a", "b"]})
    with sb.connect(url=server.url, token=server.token) as ws:
        published = ws.datasets.upload(frame, name="frame")
        assert published["created"] and published["version"]["rows"] == 2
        back = ws.datasets.read("frame")
        pd.testing.assert_frame_equal(back, frame)
        result = ws.query("select 21 * 2 as answer")
        assert result.arrow().column("answer").to_pylist() == [42]
        assert result.pandas()["answer"][0] == 42
        assert result.polars()["answer"][0] == 42
        with pytest.raises(sb.NotFound):
            ws.datasets.read("missing")


def test_cli_show_json_flags_pii_columns(server: SeedbedServer, tmp_path: Path) -> None:
    source = tmp_path / "contacts.csv"
    rows = "".join(f"{i},person{i}@example.com,{i * 2.5}\n" for i in range(40))
    source.write_text("id,contact,amount\n" + rows)
    uploaded = cli(server, "data", "upload", str(source), "--name", "contacts", "--json")
    assert uploaded.returncode == 0, uploaded.stderr
    shown = json.loads(cli(server, "data", "show", "contacts", "--json").stdout)
    pii = {c["name"]: c["pii"] for c in shown["columns"]}
    assert pii["id"] is None and pii["amount"] is None
    assert pii["contact"]["type"] == "email" and pii["contact"]["confidence"] > 0.9
    assert (pii["contact"]["matched"], pii["contact"]["sampled"]) == (40, 40)
