"""Attacks and bad input through the real app: Host headers, oversized uploads, paths that
try to leave the artifact store, and script in names shown on pages (request bodies over
request_body_max_bytes: test_body_limit.py)."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from conftest import make_settings
from registry_models import log_small_model
from seedbed.auth.tokens import ensure_admin_token
from seedbed.web.app import create_app
from seedbed.workspace import Workspace

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


# -- Host header ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "localhost.:80x"])
def test_a_foreign_host_header_is_refused(client: TestClient, host: str) -> None:
    answer = client.get("/api/v1/tables", headers={"Host": host})
    assert answer.status_code == 400


def test_the_local_host_header_is_served(client: TestClient) -> None:
    assert client.get("/api/v1/tables", headers={"Host": "localhost:8765"}).status_code == 200


# -- oversized bodies -----------------------------------------------------------------------


@pytest.fixture
def small_limit_client(tmp_path: Path) -> TestClient:
    settings = make_settings(tmp_path / "ws").model_copy(update={"upload_max_bytes": 1000})
    workspace = Workspace.open(settings)
    token = ensure_admin_token(workspace)
    return TestClient(
        create_app(workspace),
        base_url="http://127.0.0.1",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_an_oversized_upload_is_413(small_limit_client: TestClient) -> None:
    body = b"a,b\n" + b"1,2\n" * 1000
    answer = small_limit_client.post("/api/v1/uploads?filename=big.csv", content=body)
    assert answer.status_code == 413, answer.text


def test_an_oversized_upload_without_length_is_413(small_limit_client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b"1,2\n" * 100

    answer = small_limit_client.post("/api/v1/uploads?filename=big.csv", content=chunks())
    assert answer.status_code == 413, answer.text


def test_an_oversized_artifact_is_413(small_limit_client: TestClient) -> None:
    run = _run(small_limit_client)
    answer = small_limit_client.put(f"/api/v1/runs/{run}/artifacts/big.bin", content=b"x" * 5000)
    assert answer.status_code == 413, answer.text


# -- paths that leave the store ----------------------------------------------------------------


def _run(http: TestClient, experiment: str = "attacks", name: str = "r") -> str:
    made = http.post("/api/2.0/mlflow/experiments/create", json={"name": experiment})
    experiment_id = (
        made.json()["experiment_id"]
        if made.status_code == 200
        else http.get(
            "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": experiment}
        ).json()["experiment"]["experiment_id"]
    )
    run = http.post(
        "/api/2.0/mlflow/runs/create", json={"experiment_id": experiment_id, "run_name": name}
    )
    assert run.status_code == 200, run.text
    return str(run.json()["run"]["info"]["run_id"])


BAD_PATHS = [
    "../../../../etc/passwd",
    "a/../../secret",
    "%2e%2e/%2e%2e/etc/passwd",
    "%252e%252e/%252e%252e/etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "..\\..\\etc\\passwd",
    "C:\\Windows\\win.ini",
]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_run_artifact_paths_stay_in_the_store(
    client: TestClient, local_workspace: Workspace, path: str
) -> None:
    run = _run(client)
    assert client.put(f"/api/v1/runs/{run}/artifacts/ok.txt", content=b"fine").status_code == 201
    got = client.get(f"/api/v1/runs/{run}/artifacts/{path}")
    assert got.status_code in (400, 404), (path, got.status_code)
    assert b"root:" not in got.content
    put = client.put(f"/api/v1/runs/{run}/artifacts/{path}", content=b"pwned")
    assert put.status_code in (400, 404, 405), (path, put.status_code)
    raw = client.get(f"/ui/runs/{run}/artifacts/raw", params={"path": path})
    assert raw.status_code in (400, 404) and b"root:" not in raw.content
    outside = [p for p in local_workspace.root.parent.rglob("*") if p.is_file()]
    assert not [p for p in outside if p.read_bytes() == b"pwned"]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_mlflow_artifact_proxy_paths_stay_in_the_store(
    client: TestClient, local_workspace: Workspace, path: str
) -> None:
    base = "/api/2.0/mlflow-artifacts/artifacts"
    got = client.get(f"{base}/{path}")
    assert got.status_code in (400, 404), (path, got.status_code)
    assert b"root:" not in got.content
    put = client.put(f"{base}/{path}", content=b"pwned")
    assert put.status_code in (400, 404, 405), (path, put.status_code)
    listed = client.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": path})
    assert listed.status_code in (400, 404) and b'"files"' not in listed.content
    outside = [p for p in local_workspace.root.parent.rglob("*") if p.is_file()]
    assert not [p for p in outside if p.read_bytes() == b"pwned"]


@pytest.mark.parametrize("name", ["../x", "..%2f..%2fetc", "%2e%2e", "a\\b", "/etc/passwd"])
def test_dataset_and_upload_names_are_not_paths(client: TestClient, name: str) -> None:
    for url in (
        f"/api/v1/datasets/{name}/versions/1/data",
        f"/api/v1/uploads/{name}",
        f"/api/v1/models/{name}",
    ):
        answer = client.get(url)
        assert answer.status_code in (400, 404, 405), (url, answer.status_code)
    answer = client.post(f"/api/v1/uploads?filename={name}", content=b"a\n1\n")
    assert answer.status_code in (201, 400), answer.text


# -- script in names ---------------------------------------------------------------------------


def escaped(evil: str) -> str:
    """The tag's opening as an escaping page shows it, whichever quote style it uses."""
    return html.escape(evil[evil.index("<") :], quote=False)[:9]


@pytest.mark.parametrize("evil", [SCRIPT, IMG])
def test_script_in_experiment_run_and_tag_names_is_escaped(client: TestClient, evil: str) -> None:
    run = _run(client, experiment=f"exp {evil}", name=f"run {evil}")
    tagged = client.post(
        "/api/2.0/mlflow/runs/set-tag", json={"run_id": run, "key": f"k{evil}", "value": evil}
    )
    assert tagged.status_code == 200, tagged.text
    client.post(
        "/api/2.0/mlflow/runs/log-parameter", json={"run_id": run, "key": "p", "value": evil}
    )
    experiment_id = client.get(f"/api/2.0/mlflow/runs/get?run_id={run}").json()["run"]["info"][
        "experiment_id"
    ]
    for page in (
        "/ui/experiments",
        f"/ui/experiments/{experiment_id}",
        f"/ui/runs/{run}",
    ):
        answer = client.get(page)
        assert answer.status_code == 200, (page, answer.status_code)
        assert evil not in answer.text, page
        assert escaped(evil) in answer.text, page


@pytest.mark.parametrize("evil", [SCRIPT, IMG])
def test_script_in_column_names_is_escaped(client: TestClient, evil: str) -> None:
    column = evil.replace('"', "'")
    csv = f'"{column}",b\n1,2\n'.encode()
    staged = client.post("/api/v1/uploads?filename=evil.csv", content=csv)
    assert staged.status_code == 201, staged.text
    upload_id = staged.json()["id"]
    published = client.post(f"/api/v1/uploads/{upload_id}/publish", json={"name": "evil"})
    assert published.status_code == 201, published.text
    page = client.get("/ui/data/datasets/evil")
    assert page.status_code == 200
    assert column not in page.text
    assert escaped(column) in page.text


@pytest.mark.parametrize("evil", [SCRIPT, IMG])
def test_script_in_model_version_descriptions_and_tags_is_escaped(
    client: TestClient, local_workspace: Workspace, evil: str
) -> None:
    run = log_small_model(local_workspace)
    model = client.post(
        "/api/2.0/mlflow/registered-models/create",
        json={"name": "evil", "description": evil, "tags": [{"key": evil, "value": evil}]},
    )
    assert model.status_code == 200, model.text
    version = client.post(
        "/api/2.0/mlflow/model-versions/create",
        json={
            "name": "evil",
            "source": f"runs:/{run.id}/model",
            "run_id": run.id,
            "description": evil,
            "tags": [{"key": evil, "value": evil}],
        },
    )
    assert version.status_code == 200, version.text
    second = client.post(
        "/api/v1/models/evil/versions", json={"run_id": run.id, "description": f"v2 {evil}"}
    )
    assert second.status_code == 201, second.text
    for page in ("/ui/models", f"/ui/runs/{run.id}"):
        answer = client.get(page)
        assert answer.status_code == 200, (page, answer.status_code)
        assert evil not in answer.text, page
    for page in ("/ui/models/evil", "/ui/models/evil/versions/1/demo"):
        answer = client.get(page)
        assert answer.status_code == 200, (page, answer.status_code)
        assert evil not in answer.text, page
        assert escaped(evil) in answer.text, page


@pytest.mark.parametrize("evil", [SCRIPT, IMG])
def test_script_in_a_model_name_is_refused_and_echoed_escaped(
    client: TestClient, local_workspace: Workspace, evil: str
) -> None:
    made = client.post("/api/2.0/mlflow/registered-models/create", json={"name": evil})
    assert made.status_code == 400, made.text
    run = log_small_model(local_workspace)
    registered = client.post(
        f"/api/v1/models/{quote(evil, safe='')}/versions", json={"run_id": run.id}
    )
    assert registered.status_code in (400, 404, 405), registered.text
    listing = client.get("/ui/models")
    assert evil not in listing.text and "No registered models yet" in listing.text
    page = client.get(f"/ui/models/{quote(evil, safe='')}")
    assert page.status_code == 404
    assert evil not in page.text
    assert escaped(evil) in page.text


@pytest.mark.parametrize("evil", [SCRIPT, IMG])
def test_script_in_a_dataset_name_is_refused_and_echoed_escaped(
    client: TestClient, evil: str
) -> None:
    staged = client.post("/api/v1/uploads", params={"filename": "a.csv"}, content=b"a\n1\n")
    published = client.post(f"/api/v1/uploads/{staged.json()['id']}/publish", json={"name": evil})
    assert published.status_code == 400
    assert published.headers["content-type"].startswith("application/json")
    assert "is not allowed" in published.json()["error"]["message"]
    assert client.get("/api/v1/datasets").json() == []
    page = client.get(f"/ui/data/datasets/{quote(evil, safe='')}")
    assert page.status_code == 404
    assert evil not in page.text


# -- paths in listings and forms ------------------------------------------------------------------


@pytest.mark.parametrize("path", BAD_PATHS)
def test_run_artifact_listings_stay_in_the_store(client: TestClient, path: str) -> None:
    run = _run(client)
    assert client.put(f"/api/v1/runs/{run}/artifacts/ok.txt", content=b"fine").status_code == 201
    listed = client.get(f"/api/v1/runs/{run}/artifacts", params={"path": path})
    assert listed.status_code in (400, 404), (path, listed.status_code, listed.text)
    page = client.get(f"/ui/runs/{run}/artifacts", params={"path": path})
    assert page.status_code in (400, 404), (path, page.status_code)


@pytest.mark.parametrize(
    "path", ["../secret.ipynb", "/etc/passwd", "..%2f..%2fetc%2fpasswd", "a/../../x.ipynb"]
)
def test_notebook_paths_stay_in_the_notebooks_folder(
    local_workspace: Workspace, browser_client: TestClient, path: str
) -> None:
    from auth_sessions import password_login
    from seedbed.auth import users

    users.create_user(local_workspace, "ed", role="editor", password="pass word 1")
    csrf = password_login(browser_client, "ed", "pass word 1")
    opened = browser_client.post(
        "/ui/notebooks/open", data={"path": path, "csrf_token": csrf}, follow_redirects=False
    )
    assert opened.status_code in (400, 404), (path, opened.status_code)
    viewed = browser_client.get(f"/ui/notebooks/view/{path}", follow_redirects=False)
    assert viewed.status_code in (400, 404), (path, viewed.status_code)
    assert "root:" not in viewed.text
