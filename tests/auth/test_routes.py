"""/api/v1/users and the token attacks: missing, wrong, expired, revoked, a disabled owner."""

from __future__ import annotations

from fastapi.testclient import TestClient

from auth_sessions import token_for
from seedbed.auth import tokens, users
from seedbed.auth.tables import api_tokens
from seedbed.db import now_ms
from seedbed.workspace import Workspace


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admins_manage_users_over_the_api(client: TestClient) -> None:
    created = client.post(
        "/api/v1/users",
        json={"username": "ada", "role": "viewer", "password": "pass word 1", "pii": True},
    )
    assert created.status_code == 201 and created.json()["pii"] is True
    assert client.post("/api/v1/users", json={"username": "ada"}).status_code == 409
    weak = client.post("/api/v1/users", json={"username": "bo", "password": "123"})
    assert weak.status_code == 400 and "at least 8" in weak.json()["error"]["message"]
    changed = client.patch("/api/v1/users/ada", json={"role": "editor"})
    assert changed.json()["role"] == "editor" and changed.json()["pii"] is True
    assert client.put("/api/v1/users/ada/password", json={"password": "x"}).status_code == 400
    listed = client.get("/api/v1/users").json()
    assert [u["username"] for u in listed] == ["ada", "admin"]
    last = client.delete("/api/v1/users/admin")
    assert last.status_code == 409 and "last admin" in last.json()["error"]["message"]
    assert client.delete("/api/v1/users/ada").status_code == 204
    assert client.delete("/api/v1/users/ada").status_code == 404


def test_users_manage_their_own_tokens_only(local_workspace: Workspace, client: TestClient) -> None:
    mine = token_for(local_workspace, "vic", "viewer")
    created = client.post(
        "/api/v1/users/vic/tokens", json={"name": "nb", "expires_in_days": 1}, headers=bearer(mine)
    )
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith(body["info"]["prefix"]) and body["info"]["expires_at"]
    assert tokens.authenticate(local_workspace, body["token"]).username == "vic"  # type: ignore[union-attr]
    listed = client.get("/api/v1/users/vic/tokens", headers=bearer(mine)).json()
    assert [t["name"] for t in listed] == ["test", "nb"]
    assert "token" not in listed[1] and all(t["last_used_at"] for t in listed)
    assert client.get("/api/v1/users/admin/tokens", headers=bearer(mine)).status_code == 403
    assert client.get("/api/v1/users", headers=bearer(mine)).status_code == 403
    revoked = client.delete(f"/api/v1/users/vic/tokens/{body['info']['id']}", headers=bearer(mine))
    assert revoked.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(body["token"])).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(mine)).json()["username"] == "vic"
    # An admin sees and revokes anyone's.
    assert len(client.get("/api/v1/users/vic/tokens").json()) == 2


def test_missing_wrong_expired_and_revoked_tokens_get_401(
    local_workspace: Workspace, browser_client: TestClient
) -> None:
    ada = users.create_user(local_workspace, "ada", role="editor")
    expired = tokens.create_token(local_workspace, ada, "old", expires_in_s=3600)
    revoked = tokens.create_token(local_workspace, ada, "gone")
    with local_workspace.engine.begin() as connection:
        connection.execute(
            api_tokens.update().where(api_tokens.c.name == "old").values(expires_at=now_ms() - 1)
        )
    tokens.revoke_token(local_workspace, ada, tokens.list_tokens(local_workspace, ada)[1].id)
    cases = {
        "missing": {},
        "wrong": bearer("sb_" + "x" * 43),
        "not ours": bearer("ghp_notatoken"),
        "empty": {"Authorization": "Bearer "},
        "expired": bearer(expired),
        "revoked": bearer(revoked),
    }
    for case, headers in cases.items():
        for method, path in (("GET", "/api/v1/tables"), ("POST", "/api/v1/experiments")):
            answer = browser_client.request(method, path, headers=headers, json={"name": "x"})
            assert answer.status_code == 401, f"{case} token: {method} {path}"
        mlflow = browser_client.post(
            "/api/2.0/mlflow/runs/create", headers=headers, json={"experiment_id": "0"}
        )
        assert mlflow.status_code == 401 and mlflow.json()["error_code"] == "UNAUTHENTICATED"


def test_a_disabled_users_token_is_refused_at_once(
    local_workspace: Workspace, client: TestClient
) -> None:
    token = token_for(local_workspace, "ada", "editor")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200  # cached now
    assert client.patch("/api/v1/users/ada", json={"disabled": True}).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.patch("/api/v1/users/ada", json={"disabled": False}).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    client.patch("/api/v1/users/ada", json={"role": "viewer"})  # a role change applies at once
    refused = client.post("/api/v1/experiments", json={"name": "e"}, headers=bearer(token))
    assert refused.status_code == 403


def test_a_viewer_gets_mlflows_permission_denied(
    local_workspace: Workspace, client: TestClient
) -> None:
    token = token_for(local_workspace, "vic", "viewer")
    answer = client.post(
        "/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, headers=bearer(token)
    )
    assert answer.status_code == 403
    assert answer.json()["error_code"] == "PERMISSION_DENIED"
    assert "needs the editor or admin role" in answer.json()["message"]
    search = client.post(
        "/api/2.0/mlflow/experiments/search", json={"max_results": 10}, headers=bearer(token)
    )
    assert search.status_code == 200
