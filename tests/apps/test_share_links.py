"""Share links: editors create, list and revoke them; a visitor with one gives a name, predicts
and leaves feedback on that one model, and reaches nothing else; refused links get a 403 page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from conftest import api_client
from demo_rows import DEMO_FORM
from seedbed.apps import feedback, share_links
from seedbed.apps.tables import share_links as share_links_table
from seedbed.auth import audit, tokens, users
from seedbed.errors import Invalid
from seedbed.workspace import Workspace

API = "/api/v1/models/flight-delay/share-links"
ROW = DEMO_FORM
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def share_path(url: str) -> str:
    path = url.split("://", 1)[1].split("/", 1)[1]
    assert path.startswith("share/")
    return "/" + path


def enter(visitor: TestClient, path: str, name: str) -> str:
    """Open a share link, give a name; returns the CSRF token of the demo page."""
    ask = visitor.get(path)
    assert ask.status_code == 200 and "Your name" in ask.text
    csrf = CSRF.search(ask.text)
    assert csrf
    answer = visitor.post(path + "/name", data={"reviewer": name, "csrf_token": csrf.group(1)})
    assert answer.status_code == 303 and answer.headers["location"] == path
    page = visitor.get(path)
    assert page.status_code == 200 and f"Reviewing as <strong>{name}</strong>" in page.text
    token = CSRF.search(page.text)
    assert token
    return token.group(1)


def test_expiry_is_parsed_and_bounded() -> None:
    assert share_links.parse_expiry("7d") == 7 * 86_400_000
    assert share_links.parse_expiry("30m") == 30 * 60_000
    for bad in ("", "7", "0d", "7 days", "-1d", "91d"):
        with pytest.raises(Invalid):
            share_links.parse_expiry(bad)


def test_a_visitor_names_themself_predicts_and_leaves_feedback(
    demo_workspace: Workspace, demo_client: TestClient
) -> None:
    created = demo_client.post(API, json={"reference": "champion", "expires": "7d", "note": "ops"})
    assert created.status_code == 201, created.text
    link = created.json()
    assert link["status"] == "active" and link["note"] == "ops"
    listed = demo_client.get(API).json()["links"]
    assert link["id"] in [item["id"] for item in listed]
    path = share_path(link["url"])
    with api_client(demo_workspace, authenticated=False) as visitor:
        csrf = enter(visitor, path, "Rita Reviewer")
        answer = visitor.post(
            path + "/predict",
            data={**ROW, "distance": "9000", "csrf_token": csrf},
            headers={"hx-request": "true"},
        )
        assert answer.status_code == 200, answer.text
        assert "Prediction:" in answer.text and answer.text.count("%</td>") == 2
        assert "What moved this prediction" in answer.text
        assert "distance" in answer.text and "above" in answer.text  # the range warning
        assert f'action="{path}/feedback"' in answer.text
        inputs_json = re.search(r"name=\"inputs_json\" value='([^']+)'", answer.text)
        assert inputs_json
        thanks = visitor.post(
            path + "/feedback",
            data={
                "inputs_json": inputs_json.group(1).replace("&#34;", '"'),
                "prediction_json": "{}",
                "correct": "yes",
                "label": "",
                "comment": "Storms at EWR delay everything",
                "csrf_token": csrf,
            },
            headers={"hx-request": "true"},
        )
        assert thanks.status_code == 200 and "Thanks" in thanks.text, thanks.text
        forged = visitor.post(path + "/feedback", data={"comment": "x", "csrf_token": "forged"})
        assert forged.status_code == 403
    items = feedback.list_feedback(
        demo_workspace, "flight-delay", feedback.FeedbackFilter(reviewer="Rita Reviewer")
    ).items
    assert len(items) == 1
    item = items[0]
    assert item.via == "share" and item.share_link_id == link["id"]
    assert item.correct is True and item.comment == "Storms at EWR delay everything"
    assert item.inputs["distance"] == 9000


def test_a_share_link_opens_nothing_else(
    demo_workspace: Workspace, demo_client: TestClient
) -> None:
    link = demo_client.post(API, json={"reference": "challenger", "expires": "1h"}).json()
    path = share_path(link["url"])
    with api_client(demo_workspace, authenticated=False) as visitor:
        enter(visitor, path, "Sam")
        for page in (
            "/ui/",
            "/ui/models",
            "/ui/models/flight-delay",
            "/ui/models/flight-delay/versions/champion/demo",
            "/ui/models/flight-delay/compare-demo",
            "/ui/data",
        ):
            answer = visitor.get(page)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        for method, api in (
            ("GET", "/api/v1/models"),
            ("GET", API),
            ("POST", "/api/v1/models/flight-delay/versions/champion/predict"),
            ("POST", "/api/v1/models/flight-delay/feedback"),
        ):
            assert visitor.request(method, api, json={}).status_code == 401, api
        # the signature covers the id: another id, or a token cut short, is refused
        link_id, signature = path.removeprefix("/share/").split(".", 1)
        other = "0" * 32 if link_id != "0" * 32 else "1" * 32
        for forged in (f"/share/{other}.{signature}", f"/share/{link_id}", "/share/x"):
            answer = visitor.get(forged)
            assert answer.status_code == 403 and "not valid" in answer.text, forged
        # the reviewer's name belongs to one link: a second link asks again
        second = demo_client.post(API, json={"reference": "1", "expires": "1h"}).json()
        assert "Your name" in visitor.get(share_path(second["url"])).text


def test_expired_and_revoked_links_get_a_403_page(
    demo_workspace: Workspace, demo_client: TestClient
) -> None:
    expiring = demo_client.post(API, json={"expires": "30m"}).json()
    revoked = demo_client.post(API, json={"expires": "7d", "note": "to revoke"}).json()
    with demo_workspace.engine.begin() as connection:  # half an hour passes for this link
        connection.execute(
            update(share_links_table)
            .where(share_links_table.c.id == expiring["id"])
            .values(expires_at=expiring["expires_at"] - 31 * 60_000)
        )
    gone = demo_client.delete(f"/api/v1/share-links/{revoked['id']}")
    assert gone.status_code == 200 and gone.json()["status"] == "revoked"
    with api_client(demo_workspace, authenticated=False) as visitor:
        for link, word in ((expiring, "expired"), (revoked, "revoked")):
            path = share_path(link["url"])
            answer = visitor.get(path)
            assert answer.status_code == 403 and f"was {word}" in answer.text
            assert visitor.post(path + "/predict", data=ROW).status_code == 403
    statuses = {item["id"]: item["status"] for item in demo_client.get(API).json()["links"]}
    assert statuses[expiring["id"]] == "expired" and statuses[revoked["id"]] == "revoked"
    actions = [(e.action, e.detail.get("link")) for e in audit.recent(demo_workspace, 50)]
    assert ("share_link.create", revoked["id"]) in actions
    assert ("share_link.revoke", revoked["id"]) in actions
    missing = demo_client.delete("/api/v1/share-links/nope")
    assert missing.status_code == 404


def test_only_editors_create_links_and_bad_input_is_named(demo_workspace: Workspace) -> None:
    viewer = users.create_user(demo_workspace, "share-viewer", role="viewer")
    token = tokens.create_token(demo_workspace, viewer, "test")
    with api_client(demo_workspace, authenticated=False) as http:
        http.headers["Authorization"] = f"Bearer {token}"
        assert http.post(API, json={"expires": "7d"}).status_code == 403
        assert http.get(API).status_code == 403
    with api_client(demo_workspace) as editor:
        too_long = editor.post(API, json={"expires": "1y"})
        assert too_long.status_code == 400 and "30m, 12h, 7d or 2w" in too_long.text
        no_alias = editor.post(API, json={"reference": "staging"})
        assert no_alias.status_code == 404 and "staging" in no_alias.text
        no_model = editor.post("/api/v1/models/nope/share-links", json={})
        assert no_model.status_code == 404


def test_predictions_through_a_link_are_rate_limited(
    demo_workspace: Workspace, demo_client: TestClient
) -> None:
    link = demo_client.post(API, json={"expires": "1h"}).json()
    path = share_path(link["url"])
    with api_client(demo_workspace, authenticated=False) as visitor:
        csrf = enter(visitor, path, "Busy Bee")
        # incomplete forms are answered fast and still count: the limit is on attempts
        for _ in range(60):
            answer = visitor.post(
                path + "/predict", data={"csrf_token": csrf}, headers={"hx-request": "true"}
            )
            assert answer.status_code == 200
        limited = visitor.post(path + "/predict", data={"csrf_token": csrf})
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "60 predictions a minute" in limited.text
        # feedback scores the row again, so it counts too (and cannot go around the limit)
        sent = visitor.post(path + "/feedback", data={"csrf_token": csrf, "inputs_json": "{}"})
        assert sent.status_code == 429
