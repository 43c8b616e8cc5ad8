"""PII policies end to end against a real server: `seedbed privacy …`, uploads under the
policy, a viewer's download without the restricted columns, lineage and review, the SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import seedbed as sb
from seedbed.client_data import WithheldColumnsWarning
from server_process import SeedbedServer
from server_process import run_cli as run

pytestmark = pytest.mark.e2e


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

    # vic, without pii, never saw the restricted columns: what he derives is not restricted
    with sb.connect(url=server.url, token=token["token"]) as ws:
        with pytest.warns(WithheldColumnsWarning, match="card"):
            read = ws.datasets.read("people")
        features = read.assign(big=read["spend"] > 20)[["id", "big"]]
        published = ws.datasets.upload(features, "features", parents=["people@1"])
        assert published["created"]
        assert len(ws.datasets.read("features")) == 30
        # in SQL too, the restricted column is not there for him
        seen = ws.sql('select * from datasets."people@1" order by id')
        assert list(seen.columns) == ["id", "email", "spend"]
        with pytest.raises(sb.errors.Invalid, match="card"):
            ws.sql("select card from datasets.people")
    # the admin (pii) snapshots a query over people: restricted until reviewed
    with sb.connect(url=server.url, token=server.token) as ws:
        made = ws.datasets.from_query("cards", "select id, card from datasets.people")
        assert made["created"]
    with sb.connect(url=server.url, token=token["token"]) as ws:
        with pytest.raises(sb.errors.Forbidden, match="derived from restricted data"):
            ws.datasets.read("cards")
        with pytest.raises(sb.errors.Forbidden, match="derived from restricted data"):
            ws.sql("select count(*) from datasets.cards")
        with pytest.raises(sb.errors.Forbidden, match="pii permission"):
            ws.datasets.review("cards", 1)
    reviewed = run("data", "review", "cards", "--version", "1", "--note", "ok", env=admin)
    assert reviewed.returncode == 0, reviewed.stderr
    # reviewed, the version opens up; its own card column is still restricted by the scan
    with (
        sb.connect(url=server.url, token=token["token"]) as ws,
        pytest.warns(WithheldColumnsWarning, match="card"),
    ):
        assert list(ws.datasets.read("cards").columns) == ["id"]
    events = json.loads(run("audit", "list", "--json", "--limit", "100", env=admin).stdout)
    actions = {e["action"] for e in events}
    assert {"privacy.policy", "privacy.detokenize", "dataset.review"} <= actions
    purposes = {
        e["detail"].get("purpose") for e in events if e["action"] == "dataset.read_restricted"
    }
    assert "sql" in purposes


def cards_and_editor(server: SeedbedServer, tmp_path: Path, editor: str) -> str:
    """Dataset `cards-EDITOR` (its card column restricted by the default policy) and an
    editor without the pii permission; returns the editor's token."""
    admin = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    cards = tmp_path / "cards.csv"
    rows = [f"{i},4111 1111 1111 1111,{i * 3}" for i in range(20)]
    cards.write_text("id,card,spend\n" + "\n".join(rows) + "\n", encoding="utf-8")
    uploaded = run("data", "upload", str(cards), "--name", f"cards-{editor}", env=admin)
    assert uploaded.returncode == 0, uploaded.stderr
    made = run("users", "add", editor, "--role", "editor", "--no-password", env=admin)
    assert made.returncode == 0, made.stderr
    created = run("users", "token", "create", editor, "--json", env=admin)
    return str(json.loads(created.stdout)[0]["token"])


def test_a_job_reads_with_the_identity_of_its_submitter(
    server: SeedbedServer, tmp_path: Path
) -> None:
    admin = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    jo = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": cards_and_editor(server, tmp_path, "jo")}
    reader = tmp_path / "reader.py"
    reader.write_text(
        "import warnings\n"
        "import seedbed as sb\n"
        "warnings.simplefilter('ignore')\n"
        "with sb.connect() as ws:\n"
        "    print('ME=' + ws.request('GET', '/api/v1/me').json()['username'])\n"
        "    print('COLUMNS=' + ','.join(ws.datasets.read('cards-jo').columns))\n",
        encoding="utf-8",
    )
    seen = {}
    for who, env in (("jo", jo), ("admin", admin)):
        done = run("jobs", "submit", str(reader), "--wait", "--json", env=env)
        assert done.returncode == 0, (done.stdout, done.stderr)
        log = done.stderr  # with --json the job's log goes to stderr
        seen[who] = (log.split("ME=", 1)[1].split()[0], log.split("COLUMNS=", 1)[1].split()[0])
    # jo has no pii permission: inside his job, as outside, the card column is withheld
    assert seen["jo"] == ("jo", "id,spend")
    assert seen["admin"][1] == "id,card,spend"


def test_an_upload_names_what_its_client_read_as_parents(
    server: SeedbedServer, tmp_path: Path
) -> None:
    token = cards_and_editor(server, tmp_path, "lin")

    with sb.connect(url=server.url, token=server.token) as ws:
        frame = ws.datasets.read("cards-lin")  # the admin may read the card column
        assert "card" in frame.columns
        ws.datasets.upload(frame[["id", "spend"]], "spend-only")  # no parents given
        ws.datasets.upload(frame[["id"]], "ids-only", parents=[])  # none, said so
    with sb.connect(url=server.url, token=token) as ws:
        with pytest.raises(sb.errors.Forbidden, match="derived from restricted data"):
            ws.datasets.read("spend-only")
        assert len(ws.datasets.read("ids-only")) == 20
