"""Uploads through the real app: every format, type edits, and every kind of bad input."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from seedbed.settings import load_settings
from seedbed.workspace import Workspace


def stage(client: TestClient, filename: str, body: bytes) -> dict:  # type: ignore[type-arg]
    answer = client.post("/api/v1/uploads", params={"filename": filename}, content=body)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def upload(client: TestClient, filename: str, body: bytes, name: str = "d") -> dict:  # type: ignore[type-arg]
    staged = stage(client, filename, body)
    answer = client.post(f"/api/v1/uploads/{staged['id']}/publish", json={"name": name})
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def error_of(client: TestClient, filename: str, body: bytes, status: int = 400) -> str:
    answer = client.post("/api/v1/uploads", params={"filename": filename}, content=body)
    assert answer.status_code == status, answer.text
    return str(answer.json()["error"]["message"])


def leftovers(workspace: Workspace) -> list[Path]:
    staging = workspace.runtime_dir / "uploads"
    return list(staging.iterdir()) if staging.exists() else []


def test_csv_upload_infers_types_and_publishes(client: TestClient) -> None:
    staged = stage(client, "people.csv", b"name,age,height\nada,36,1.7\nbo,41,1.8\n")
    assert staged["delimiter"] == "," and staged["encoding"] == "utf-8"
    assert [(c["name"], c["type"]) for c in staged["columns"]] == [
        ("name", "VARCHAR"),
        ("age", "BIGINT"),
        ("height", "DOUBLE"),
    ]
    assert staged["preview"] == [["ada", 36, 1.7], ["bo", 41, 1.8]]
    published = client.post(
        f"/api/v1/uploads/{staged['id']}/publish", json={"name": "people", "description": "Staff"}
    ).json()
    assert published["created"] and published["version"]["rows"] == 2
    assert published["version"]["source_detail"]["filename"] == "people.csv"


@pytest.mark.parametrize(
    ("filename", "body", "delimiter", "encoding"),
    [
        ("semi.csv", b"a;b\n1;2\n", ";", "utf-8"),
        ("tabs.tsv", b"a\tb\n1\t2\n", "\t", "utf-8"),
        ("bom.csv", b"\xef\xbb\xbfa,b\n1,2\n", ",", "utf-8"),
        ("latin.csv", "a,ville\n1,Zürich\n".encode("latin-1"), ",", "latin-1"),
        ("pipes.txt", b"a|b\n1|2\n", "|", "utf-8"),
    ],
)
def test_delimiters_and_encodings_are_detected(
    client: TestClient, filename: str, body: bytes, delimiter: str, encoding: str
) -> None:
    staged = stage(client, filename, body)
    assert (staged["delimiter"], staged["encoding"]) == (delimiter, encoding)
    assert staged["columns"][0]["name"] == "a"  # a BOM never ends up in a column name
    published = client.post(f"/api/v1/uploads/{staged['id']}/publish", json={"name": "x"})
    assert published.status_code == 201


def test_latin1_text_survives(client: TestClient, local_workspace: Workspace) -> None:
    upload(client, "latin.csv", "a,ville\n1,Zürich\n".encode("latin-1"), name="cities")
    from seedbed.data.datasets import get_version, sample

    rows = sample(local_workspace, get_version(local_workspace, "cities")).to_pydict()
    assert rows["ville"] == ["Zürich"]


def test_parquet_jsonl_and_excel(client: TestClient) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    assert upload(client, "f.parquet", buffer.getvalue(), "p")["version"]["rows"] == 2
    lines = b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n'
    assert upload(client, "f.jsonl", lines, "j")["version"]["rows"] == 2
    excel = io.BytesIO()
    frame.to_excel(excel, index=False)
    version = upload(client, "f.xlsx", excel.getvalue(), "e")["version"]
    assert version["rows"] == 2 and [c["name"] for c in version["columns"]] == ["a", "b"]


def test_same_file_twice_adds_no_version(client: TestClient) -> None:
    body = b"a,b\n1,2\n"
    assert upload(client, "d.csv", body)["created"]
    again = upload(client, "d.csv", body)
    assert not again["created"] and again["version"]["version"] == 1
    changed = upload(client, "d.csv", b"a,b\n1,3\n")
    assert changed["created"] and changed["version"]["version"] == 2


def test_columns_can_be_renamed_and_retyped_before_publishing(client: TestClient) -> None:
    staged = stage(client, "t.csv", b"id,amount\n1,10\n2,20\n")
    answer = client.post(
        f"/api/v1/uploads/{staged['id']}/publish",
        json={
            "name": "t",
            "columns": [
                {"name": "id", "type": "VARCHAR"},
                {"name": "amount_eur", "type": "DOUBLE"},
            ],
        },
    )
    assert answer.status_code == 201
    assert [(c["name"], c["type"]) for c in answer.json()["version"]["columns"]] == [
        ("id", "VARCHAR"),
        ("amount_eur", "DOUBLE"),
    ]


def test_a_bad_type_choice_names_the_line_and_leaves_the_upload(
    client: TestClient, local_workspace: Workspace
) -> None:
    staged = stage(client, "t.csv", b"id,code\n1,7\n2,x\n")
    bad = client.post(
        f"/api/v1/uploads/{staged['id']}/publish",
        json={
            "name": "t",
            "columns": [{"name": "id", "type": "BIGINT"}, {"name": "code", "type": "BIGINT"}],
        },
    )
    message = bad.json()["error"]["message"]
    assert bad.status_code == 400
    assert "line 3, column 'code': 'x' is not BIGINT" in message
    assert client.get("/api/v1/datasets/t").status_code == 404
    assert local_workspace.artifacts.list("datasets") == []
    retry = client.post(f"/api/v1/uploads/{staged['id']}/publish", json={"name": "t"})
    assert retry.status_code == 201  # the staged upload is still there to fix and publish


def test_publish_refuses_bad_column_lists(client: TestClient) -> None:
    staged = stage(client, "t.csv", b"a,b\n1,2\n")
    url = f"/api/v1/uploads/{staged['id']}/publish"
    short = client.post(url, json={"name": "t", "columns": [{"name": "a", "type": "BIGINT"}]})
    assert short.status_code == 400 and "exactly 2 columns" in short.json()["error"]["message"]
    odd = client.post(
        url,
        json={
            "name": "t",
            "columns": [{"name": "a", "type": "BLOB"}, {"name": "b", "type": "BIGINT"}],
        },
    )
    assert "not offered" in odd.json()["error"]["message"]
    twice = client.post(
        url,
        json={
            "name": "t",
            "columns": [{"name": "a", "type": "BIGINT"}, {"name": "a", "type": "BIGINT"}],
        },
    )
    assert "appears twice" in twice.json()["error"]["message"]
    assert client.post(url, json={"name": "bad name"}).status_code == 400


@pytest.mark.parametrize(
    ("filename", "body", "expected"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\n\n  \n", "is empty"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n", "line 3 has 3 fields but the header has 2"),
        ("short.csv", b"a,b,c\n1,2,3\n4,5\n", "line 3 has 2 fields but the header has 3"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
        ("noname.csv", b"a,,c\n1,2,3\n", "column 2 of the header has no name"),
        ("twice.csv", b"a,b,A\n1,2,3\n", "'A' appears twice (columns 1 and 3)"),
        ("bad.parquet", b"PAR1 not really", "not a valid Parquet file"),
        ("bad.jsonl", b'{"a": 1}\n{"a": \n', "could not be read"),
        ("bad.xlsx", b"not a workbook", "not a readable Excel workbook"),
        ("notes.docx", b"a,b\n1,2\n", "seedbed reads"),
    ],
)
def test_bad_files_are_refused_with_the_reason(
    client: TestClient, local_workspace: Workspace, filename: str, body: bytes, expected: str
) -> None:
    assert expected in error_of(client, filename, body)
    assert leftovers(local_workspace) == []


def test_undecodable_bytes_after_a_utf8_start(client: TestClient) -> None:
    body = b"a,b\n" + b"1,caf\xc3\xa9\n" * 40_000 + b"2,\xff\xfe\n"  # UTF-8, then garbage
    staged = stage(client, "mixed.csv", body)
    answer = client.post(f"/api/v1/uploads/{staged['id']}/publish", json={"name": "m"})
    message = answer.json()["error"]["message"]
    assert answer.status_code == 400 and "not valid UTF-8" in message and "40002" in message


def test_uploads_above_the_size_limit(tmp_path: Path) -> None:
    from conftest import api_client

    settings = load_settings(workspace=tmp_path / "ws", upload_max_bytes=10)
    with Workspace.open(settings) as workspace, api_client(workspace) as http:
        message = error_of(http, "big.csv", b"a,b\n1,2\n3,4\n", status=413)
        assert "limit is 10 bytes" in message and "upload_max_bytes" in message
        assert leftovers(workspace) == []


def test_an_upload_cut_off_half_way(client: TestClient, local_workspace: Workspace) -> None:
    answer = client.post(
        "/api/v1/uploads",
        params={"filename": "cut.csv"},
        content=b"a,b\n1,2\n",
        headers={"content-length": "100"},
    )
    assert answer.status_code == 400 and "cut off" in answer.json()["error"]["message"]
    assert leftovers(local_workspace) == []


def test_staged_uploads_can_be_discarded(client: TestClient, local_workspace: Workspace) -> None:
    staged = stage(client, "t.csv", b"a\n1\n")
    assert client.get(f"/api/v1/uploads/{staged['id']}").json()["filename"] == "t.csv"
    assert client.delete(f"/api/v1/uploads/{staged['id']}").status_code == 204
    assert client.get(f"/api/v1/uploads/{staged['id']}").status_code == 404
    assert client.get("/api/v1/uploads/../../etc").status_code == 404
    assert leftovers(local_workspace) == []


def test_download_returns_parquet(client: TestClient, tmp_path: Path) -> None:
    upload(client, "d.csv", b"a,b\n1,x\n2,y\n")
    answer = client.get("/api/v1/datasets/d/versions/latest/data")
    assert answer.headers["content-type"] == "application/vnd.apache.parquet"
    (tmp_path / "d.parquet").write_bytes(answer.content)
    assert pd.read_parquet(tmp_path / "d.parquet")["b"].tolist() == ["x", "y"]
    assert client.get("/api/v1/datasets/d/versions/abc").status_code == 400
    assert client.get("/api/v1/datasets/d/versions/9/data").status_code == 404


def test_viewers_cannot_upload(local_workspace: Workspace) -> None:
    from seedbed.auth import tokens, users
    from seedbed.web.app import create_app

    viewer = users.create_user(local_workspace, "vi", role="viewer")
    token = tokens.create_token(local_workspace, viewer, "t")
    with TestClient(
        create_app(local_workspace),
        base_url="http://127.0.0.1",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        assert error_of(http, "d.csv", b"a\n1\n", status=403)


def test_time_zone_timestamps(client: TestClient) -> None:
    staged = stage(
        client, "times.csv", b"at,n\n2013-01-01 10:00:00+00,1\n2013-01-01 11:00:00+00,2\n"
    )
    assert staged["columns"][0]["type"] == "TIMESTAMP WITH TIME ZONE"
    assert staged["preview"][0][0].startswith("2013-01-01")


def test_quoted_fields_beyond_the_sniffed_rows(
    client: TestClient, local_workspace: Workspace
) -> None:
    # the sniffer sees no quotes in its sample; a quoted comma further down still reads
    rows = "".join(f"{i},plain {i},{i / 2}\n" for i in range(30_000))
    body = f'id,name,score\n{rows}30000,"Smith, John",1.5\n30001,"say ""hi""",2\n'.encode()
    published = upload(client, "late_quotes.csv", body, name="late_quotes")
    assert published["version"]["rows"] == 30_002
    from seedbed.data.datasets import get_version, sample

    version = get_version(local_workspace, "late_quotes")
    tail = sample(local_workspace, version, rows=30_002).to_pandas().tail(2)
    assert tail["name"].tolist() == ["Smith, John", 'say "hi"']
    assert tail["score"].tolist() == [1.5, 2.0]


def test_day_first_dates_are_read_as_dates(client: TestClient) -> None:
    staged = stage(client, "days.csv", b"day,n\n31/01/2024,1\n29/02/2024,2\n")
    assert [c["type"] for c in staged["columns"]] == ["DATE", "BIGINT"]
    published = client.post(f"/api/v1/uploads/{staged['id']}/publish", json={"name": "days"})
    assert published.status_code == 201, published.text


def test_windows_line_ends_and_a_bom_read_every_row(client: TestClient) -> None:
    # Excel's "CSV UTF-8": a BOM, CRLF line ends, a quoted field with a line break inside
    rows = "".join(f"{i},row {i}\r\n" for i in range(5000))
    body = b"\xef\xbb\xbf" + f'id,label\r\n{rows}5000,"two\r\nlines"\r\n'.encode()
    staged = stage(client, "excel.csv", body)
    assert staged["preview"][:2] == [[0, "row 0"], [1, "row 1"]]
    published = client.post(f"/api/v1/uploads/{staged['id']}/publish", json={"name": "excel"})
    assert published.status_code == 201, published.text
    assert published.json()["version"]["rows"] == 5001
