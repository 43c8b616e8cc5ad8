"""The online lookup checks its body by hand (it skips FastAPI's validation for speed):
each malformed body gets a 400 that says what is wrong."""

from __future__ import annotations

import pytest

from conftest import api_client
from seedbed.workspace import Workspace


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "Send an object"),
        (b'{"features": "weather", "entities": []}', '"features" must be a list'),
        (b'{"features": ["weather"], "entities": [1]}', '"entities" must be a list of objects'),
        (b'{"features": ["weather"], "entities": [], "full_names": 1}', '"full_names"'),
        (b'{"features": ["weather"], "entities": [], "extra": 1}', "Unknown fields ['extra']"),
    ],
)
def test_malformed_bodies_are_a_400(local_workspace: Workspace, body: bytes, message: str) -> None:
    with api_client(local_workspace) as http:
        answer = http.post("/api/v1/features/online", content=body)
    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]


def test_the_lookup_needs_a_login(local_workspace: Workspace) -> None:
    with api_client(local_workspace, authenticated=False) as http:
        answer = http.post("/api/v1/features/online", json={"features": [], "entities": []})
    assert answer.status_code == 401


def test_the_lookup_is_documented(local_workspace: Workspace) -> None:
    with api_client(local_workspace) as http:
        schema = http.get("/api/v1/openapi.json").json()
    body = schema["paths"]["/api/v1/features/online"]["post"]["requestBody"]
    assert "entities" in body["content"]["application/json"]["schema"]["properties"]
