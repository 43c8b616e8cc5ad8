"""Tags on registered models and versions, Markdown descriptions and the alias history."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from auth_sessions import token_for
from conftest import api_client
from registry_models import log_small_model
from seedbed.errors import Invalid, NotFound
from seedbed.registry import alias_events, tags
from seedbed.registry import models as service
from seedbed.workspace import Workspace


def _two_versions(workspace: Workspace, name: str = "churn", run_id: str = "") -> str:
    run_id = run_id or log_small_model(workspace).id
    service.register_version(workspace, name, run_id, user="ana")
    service.register_version(workspace, name, run_id, user="ana")
    return run_id


def test_tags_follow_renames_and_deletes(workspace: Workspace) -> None:
    run_id = _two_versions(workspace)
    tags.set_model_tag(workspace, "churn", "team", "risk")
    tags.set_model_tag(workspace, "churn", "team", "growth")  # replaces
    tags.set_version_tag(workspace, "churn", 1, "validated", "yes")
    assert service.get_model(workspace, "churn").tags == {"team": "growth"}
    assert service.get_version(workspace, "churn", 1).tags == {"validated": "yes"}
    assert [v.tags for v in service.list_versions(workspace, "churn")] == [{}, {"validated": "yes"}]

    service.rename_model(workspace, "churn", "churn2")
    assert service.get_model(workspace, "churn2").tags == {"team": "growth"}
    assert service.get_version(workspace, "churn2", 1).tags == {"validated": "yes"}
    service.delete_version(workspace, "churn2", 1)
    service.delete_model(workspace, "churn2")
    _two_versions(workspace, "churn2", run_id)  # the name again: nothing of the old model is left
    assert service.get_model(workspace, "churn2").tags == {}
    assert service.get_version(workspace, "churn2", 1).tags == {}


def test_tag_errors(local_workspace: Workspace) -> None:
    _two_versions(local_workspace)
    with pytest.raises(NotFound, match="no tag 'nope'"):
        tags.delete_model_tag(local_workspace, "churn", "nope")
    with pytest.raises(NotFound, match="no version 9"):
        tags.set_version_tag(local_workspace, "churn", 9, "k", "v")
    with pytest.raises(Invalid, match="tag key"):
        tags.set_model_tag(local_workspace, "churn", " ", "v")


def test_alias_history_records_every_move(local_workspace: Workspace) -> None:
    _two_versions(local_workspace)
    service.set_alias(local_workspace, "churn", "champion", 1, user="ana")
    service.set_alias(local_workspace, "churn", "champion", 1, user="ana")  # no move, no event
    service.set_alias(local_workspace, "churn", "champion", 2, user="ben")
    service.set_alias(local_workspace, "churn", "challenger", 1, user="ben")
    service.delete_alias(local_workspace, "churn", "champion", user="cy")
    service.delete_version(local_workspace, "churn", 1, user="cy")  # takes challenger with it
    moves = [
        (e.alias, e.from_version, e.to_version, e.username)
        for e in alias_events.alias_history(local_workspace, "churn")
    ]
    assert moves == [
        ("challenger", 1, None, "cy"),
        ("champion", 2, None, "cy"),
        ("challenger", None, 1, "ben"),
        ("champion", 1, 2, "ben"),
        ("champion", None, 1, "ana"),
    ]


def test_api_tags_descriptions_and_history(local_workspace: Workspace) -> None:
    _two_versions(local_workspace)
    with api_client(local_workspace) as http:
        assert http.put("/api/v1/models/churn/tags/team", json={"value": "risk"}).status_code == 204
        path = "/api/v1/models/churn/versions/2/tags/stage"
        assert http.put(path, json={"value": "review"}).status_code == 204
        described = http.patch("/api/v1/models/churn", json={"description": "# Churn\nWho leaves."})
        assert described.json()["description"] == "# Churn\nWho leaves."
        version = http.patch("/api/v1/models/churn/versions/2", json={"description": "v2 *better*"})
        assert version.json()["tags"] == {"stage": "review"}
        assert (
            http.put("/api/v1/models/churn/aliases/champion", json={"version": 2}).status_code
            == 204
        )
        assert http.delete("/api/v1/models/churn/aliases/champion").status_code == 204
        history = http.get("/api/v1/models/churn/aliases/history").json()
        assert [(h["alias"], h["from_version"], h["to_version"]) for h in history] == [
            ("champion", 2, None),
            ("champion", None, 2),
        ]
        assert http.get("/api/v1/models/churn").json()["tags"] == {"team": "risk"}
        assert http.delete("/api/v1/models/churn/tags/team").status_code == 204
        assert http.delete("/api/v1/models/churn/tags/team").status_code == 404
        assert http.delete(path).status_code == 204

        viewer = token_for(local_workspace, "vera", "viewer")
        denied = http.put(
            "/api/v1/models/churn/tags/x",
            json={"value": "y"},
            headers={"Authorization": f"Bearer {viewer}"},
        )
        assert denied.status_code == 403


def test_model_page_shows_markdown_safely_tags_and_history(local_workspace: Workspace) -> None:
    _two_versions(local_workspace)
    service.update_model(local_workspace, "churn", "Who **leaves**. <script>alert(1)</script>")
    tags.set_model_tag(local_workspace, "churn", "team", "risk")
    service.set_alias(local_workspace, "churn", "champion", 2, user="ana")
    with api_client(local_workspace) as http:
        page = http.get("/ui/models/churn").text
        version_page = http.get("/ui/models/churn/versions/1")
    assert "<strong>leaves</strong>" in page and "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert "team: risk" in page and 'class="grid alias-history"' in page and ">ana<" in page
    assert 'href="/ui/models/churn/versions/2"' in page
    assert version_page.status_code == 200
    text = version_page.text
    # the signature with the training ranges, the requirements and the demo link
    assert "<td>x</td><td>double</td>" in text and "scikit-learn==" in text
    assert 'href="/ui/models/churn/versions/1/demo"' in text


def test_version_page_shows_lineage_to_the_feature_definitions(
    demo_client: TestClient,
) -> None:
    page = demo_client.get("/ui/models/flight-delay/versions/2")
    assert page.status_code == 200
    assert "flight-features" in page.text and "feature definitions" in page.text
    assert "roc_auc" in page.text and "/ui/runs/" in page.text
