"""PII policies end to end against a real server: `seedbed privacy …`, uploads under the
policy, a viewer's download without the restricted columns, lineage and review, the SDK."""

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
from seedbed.client_data import WithheldColumnsWarning
from server_process import SeedbedServer

pytestmark = pytest.mark.e2e


def run(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SEEDBED_")}
    return subprocess.run(
        [sys.executable, "-m", "seedbed", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=clean | env | {"COLUMNS": "200"},
        timeout=120,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("privacy-e2e") / "ws") as running:
        yield running


def test_policies_uploads_and_reviews_through_the_server(
    server: SeedbedServer, tmp_path: Path
) -> None:
    admin = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    refused = run("privacy", "policy", "set", "email", "shred", env=admin)
    assert refused.returncode != 0 and "Unknown action 'shred'" in refused.stdout + refused.stderr
    assert run("privacy", "policy", "set", "email", "tokenize", env=admin).returncode == 0
    shown = run("privacy", "policy", "show", "--json", env=admin)
    assert json.loads(shown.stdout)["email"] == "tokenize"
    assert json.loads(shown.stdout)["payment_card"] == "restrict"

    people = tmp_path / "people.csv"
    rows = [f"{i},user{i}@example.org,4111 1111 1111 1111,{i * 2}" for i in range(30)]
    people.write_text("id,email,card,spend\n" + "\n".join(rows) + "\n", encoding="utf-8")
    uploaded = run("data", "upload", str(people), "--name", "people", "--json", env=admin)
    assert uploaded.returncode == 0, uploaded.stderr
    shown = run("data", "show", "people", "--json", env=admin)
    columns = {c["name"]: c for c in json.loads(shown.stdout)["columns"]}
    assert columns["email"]["pii"]["action"] == "tokenize"
    assert columns["card"]["pii"]["action"] == "restrict"

    made = run("users", "add", "vic", "--role", "editor", "--no-password", env=admin)
    assert made.returncode == 0, made.stderr
    token = json.loads(run("users", "token", "create", "vic", "--json", env=admin).stdout)[0]
    vic = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": token["token"]}
    target = tmp_path / "vic.parquet"
    downloaded = run("data", "download", "people", "-o", str(target), env=vic)
    assert downloaded.returncode == 0, downloaded.stderr
    assert "card" in downloaded.stdout and "pii permission" in downloaded.stdout
    frame = pd.read_parquet(target)
    assert list(frame.columns) == ["id", "email", "spend"]
    assert frame["email"].str.startswith("tok_").all()
    # only the pii permission turns tokens back into values
    denied = run("privacy", "detokenize", frame["email"][3], env=vic)
    assert denied.returncode != 0
    back = run("privacy", "detokenize", "--json", env=admin, stdin=frame["email"][3] + "\n")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout) == {frame["email"][3]: "user3@example.org"}

    # vic derives features from people: restricted until someone with pii reviews them
    with sb.connect(url=server.url, token=token["token"]) as ws:
        with pytest.warns(WithheldColumnsWarning, match="card"):
            read = ws.datasets.read("people")
        features = read.assign(big=read["spend"] > 20)[["id", "big"]]
        published = ws.datasets.upload(features, "features", parents=["people@1"])
        assert published["created"]
        with pytest.raises(sb.errors.Forbidden, match="derived from restricted data"):
            ws.datasets.read("features")
        with pytest.raises(sb.errors.Forbidden, match="pii permission"):
            ws.datasets.review("features", 1)
    reviewed = run("data", "review", "features", "--version", "1", "--note", "ok", env=admin)
    assert reviewed.returncode == 0, reviewed.stderr
    with sb.connect(url=server.url, token=token["token"]) as ws:
        assert len(ws.datasets.read("features")) == 30
    events = json.loads(run("audit", "list", "--json", "--limit", "100", env=admin).stdout)
    actions = {e["action"] for e in events}
    assert {"privacy.policy", "privacy.detokenize", "dataset.review"} <= actions
