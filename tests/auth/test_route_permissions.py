"""Every route, found by walking the app (MLflow's mounted sub-application included), refuses
the anonymous, and every unsafe method refuses a viewer: a new route cannot forget."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from auth_sessions import password_login
from conftest import api_client
from seedbed.auth import users
from seedbed.web.app import create_app
from seedbed.web.security import is_api, is_mlflow, is_public
from seedbed.workspace import Workspace

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Unsafe methods a viewer may use: they read (search, score, query) or touch only the
# viewer's own session and tokens. Anything else that writes must refuse a viewer.
VIEWER_MAY_POST = {
    "/logout",
    "/api/v1/sql",
    "/api/v1/sql/{query_id}/cancel",
    "/api/v1/models/{name}/versions/{reference}/predict",
    "/api/v1/features/online",  # looks features up
    "/api/v1/features/training-set",  # reads; saving it as a dataset needs an editor
    "/ui/models/{name}/versions/{reference}/demo",
    "/ui/models/{name}/versions/{reference}/batch",  # scores a CSV; writes nothing
    "/api/v1/models/{target}/predict",  # NAME@ALIAS
    "/api/v1/models/{name}/feedback",  # every reader may review a model
    "/ui/models/{name}/versions/{version}/feedback",
    "/apps/{name}/{path:path}",  # a hosted app's own requests; it acts as its author
    "/ui/tokens",
    "/ui/tokens/{token_id}/revoke",
    "/api/v1/users/{username}/tokens",  # checked below with the viewer's own name
    "/api/v1/users/{username}/tokens/{token_id}",
}
MLFLOW_READS = {
    "/experiments/search",
    "/runs/search",
    "/registered-models/get-latest-versions",
    "/logged-models/search",
}
PARAM = re.compile(r"\{[^}]+\}")


def walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(template, concrete path, method) for every endpoint, mounted apps included."""
    for route in routes:
        if hasattr(route, "effective_candidates"):
            # FastAPI >= 0.165 keeps an included router whole; its candidates carry full paths.
            yield from walk(route.effective_candidates(), prefix)
        elif hasattr(route, "original_route"):
            # websocket routes have no methods: tests/apps/test_hosted.py checks theirs
            for method in sorted(getattr(route.original_route, "methods", None) or ()):
                if method != "HEAD":
                    yield prefix + route.path, prefix + PARAM.sub("1", route.path), method
        elif isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if inner is not None:
                yield from walk(inner, prefix + route.path)
            else:  # static files
                yield prefix + route.path, prefix + route.path + "/x", "GET"
        elif isinstance(route, Route):
            template = prefix + route.path
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    yield template, PARAM.sub("1", template), method


@pytest.fixture(scope="module")
def endpoints(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str]]:
    from conftest import make_settings

    with Workspace.open(make_settings(tmp_path_factory.mktemp("routes") / "ws")) as workspace:
        found = sorted(set(walk(create_app(workspace).routes)))
    assert len(found) > 100
    assert ("/api/2.0/mlflow/runs/create", "/api/2.0/mlflow/runs/create", "POST") in found
    return found


def is_read(template: str) -> bool:
    if template in VIEWER_MAY_POST:
        return True
    return any(template.endswith("/mlflow" + read) for read in MLFLOW_READS)


def test_the_viewer_allowances_name_real_routes(endpoints: list[tuple[str, str, str]]) -> None:
    templates = {template for template, _path, method in endpoints if method in UNSAFE}
    assert templates >= VIEWER_MAY_POST, VIEWER_MAY_POST - templates
    for read in MLFLOW_READS:
        assert f"/api/2.0/mlflow{read}" in templates, read


def test_every_private_route_refuses_the_anonymous(
    endpoints: list[tuple[str, str, str]], browser_client: TestClient
) -> None:
    checked = 0
    for template, path, method in endpoints:
        if is_public(path):
            continue
        answer = browser_client.request(method, path)
        if is_api(path):
            assert answer.status_code == 401, f"{method} {template} answered {answer.status_code}"
        else:
            assert answer.status_code == 303, f"{method} {template} answered {answer.status_code}"
            assert answer.headers["location"].startswith("/login?next=")
        checked += 1
    assert checked > 100


def test_every_write_refuses_a_viewer(
    endpoints: list[tuple[str, str, str]], local_workspace: Workspace
) -> None:
    # a password session: the allowed writes include revoking the viewer's own tokens,
    # which would end a session started with one of them
    users.create_user(local_workspace, "viewer", role="viewer", password="pass word 1")
    with api_client(local_workspace, authenticated=False) as http:
        csrf = password_login(http, "viewer", "pass word 1")
        http.headers["x-csrf-token"] = csrf  # so only the role can refuse, never CSRF
        refused, allowed = 0, 0
        for template, path, method in endpoints:
            if method not in UNSAFE or is_public(path):
                continue
            if template == "/logout":
                continue  # ends the session these checks run in; tested in tests/web
            if is_read(template):
                path = path.replace("/users/1/", "/users/viewer/")
                answer = http.request(method, path)
                assert answer.status_code not in (401, 403), f"{method} {template}: {answer.text}"
                allowed += 1
                continue
            answer = http.request(method, path)
            assert answer.status_code == 403, f"{method} {template} let a viewer through"
            if is_mlflow(path):
                assert answer.json()["error_code"] == "PERMISSION_DENIED"
            refused += 1
    assert refused > 50 and allowed >= 5
