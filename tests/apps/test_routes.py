from __future__ import annotations

import re

from fastapi.testclient import TestClient

from seedbed.workspace import Workspace

DEMO = "/ui/models/flight-delay/versions/champion/demo"


def logged_in(workspace: Workspace, client: TestClient) -> str:
    """Log the browser in through the login link; returns the page's CSRF token."""
    from seedbed.auth.tokens import ensure_admin_token

    client.get("/login", params={"token": ensure_admin_token(workspace)})
    page = client.get(DEMO)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_demo_form_is_built_from_the_signature(demo_client: TestClient) -> None:
    page = demo_client.get(DEMO)
    assert page.status_code == 200
    for field in ("carrier", "origin", "sched_hour", "visib"):
        assert f'name="{field}"' in page.text
    assert '<option value="LGA"' in page.text  # categories seen in training


def test_demo_form_predicts(demo_workspace: Workspace) -> None:
    from conftest import api_client

    with api_client(demo_workspace, authenticated=False) as browser:
        csrf = logged_in(demo_workspace, browser)
        from demo_rows import DEMO_FORM

        form = {"csrf_token": csrf, **DEMO_FORM}
        answer = browser.post(DEMO, data=form, headers={"hx-request": "true"})
        assert answer.status_code == 200 and "Prediction:" in answer.text
        assert answer.text.count("%</td>") == 2  # both class probabilities
        wrong = browser.post(DEMO, data={**form, "sched_hour": "1.5"})
        assert wrong.status_code == 400 and "not a whole number" in wrong.text
        forged = browser.post(DEMO, data={**form, "csrf_token": "forged"})
        assert forged.status_code == 403 and "CSRF" in forged.text


def test_predict_api(demo_client: TestClient) -> None:
    row = {
        "carrier": "UA",
        "origin": "EWR",
        "month": 12,
        "weekday": 5,
        "sched_hour": 18,
        "distance": 1000,
        "temp": 30,
        "wind_speed": 20,
        "precip": 0.1,
        "visib": 2,
    }
    answer = demo_client.post(
        "/api/v1/models/flight-delay/versions/champion/predict", json={"inputs": [row, row]}
    )
    body = answer.json()
    assert answer.status_code == 200 and body["version"] == 1
    assert len(body["predictions"]) == 2 and body["predictions"][0]["prediction"] in (0, 1)
    bad = demo_client.post(
        "/api/v1/models/flight-delay/versions/champion/predict",
        json={"inputs": [{**row, "origin": "XXX"}]},
    )
    assert bad.status_code == 422 and "origin" in bad.json()["error"]["message"]
    missing = demo_client.post(
        "/api/v1/models/flight-delay/versions/7/predict", json={"inputs": [row]}
    )
    assert missing.status_code == 404


def test_a_prediction_comes_with_warnings_an_explanation_and_a_feedback_form(
    demo_workspace: Workspace,
) -> None:
    from conftest import api_client

    with api_client(demo_workspace, authenticated=False) as browser:
        csrf = logged_in(demo_workspace, browser)
        form = {
            "csrf_token": csrf,
            "carrier": "UA",
            "origin": "EWR",
            "month": "12",
            "weekday": "5",
            "sched_hour": "18",
            "distance": "9000",
            "temp": "30",
            "wind_speed": "20",
            "precip": "0.1",
            "visib": "2",
        }
        answer = browser.post(DEMO, data=form, headers={"hx-request": "true"})
        assert answer.status_code == 200
        assert "distance 9000 is above the largest value seen in training" in answer.text
        assert "What moved this prediction" in answer.text and "not SHAP" in answer.text
        assert answer.text.count("<tr data-input=") >= 5
        assert 'action="/ui/models/flight-delay/versions/1/feedback"' in answer.text


def test_champion_and_challenger_side_by_side(demo_client: TestClient) -> None:
    page = demo_client.get("/ui/models/flight-delay/compare-demo?a=champion&b=challenger")
    assert page.status_code == 200
    assert 'data-side="champion"' in page.text and 'data-side="challenger"' in page.text
    assert 'method="get" action="/ui/models/flight-delay/compare-demo"' in page.text
    # the challenger takes feature-store inputs the champion ignores, and the other way round
    assert "ignored by champion" in page.text
    fields = dict(
        re.findall(r'id="f-(\w+)" name="\w+" type="number" step="\w+" value="([^"]*)"', page.text)
    )
    query = {"a": "champion", "b": "challenger", "predict": "1", "carrier": "UA", "origin": "EWR"}
    query |= {name: value or "0" for name, value in fields.items()}
    answer = demo_client.get("/ui/models/flight-delay/compare-demo", params=query)
    assert answer.status_code == 200, answer.text
    assert answer.text.count("Prediction:") == 2 and answer.text.count("%</td>") == 4
    missing = demo_client.get("/ui/models/flight-delay/compare-demo?a=champion&b=nope")
    assert missing.status_code == 404


def test_the_model_page_links_demos_side_by_side_and_share_links(demo_client: TestClient) -> None:
    page = demo_client.get("/ui/models/flight-delay")
    assert page.status_code == 200
    assert 'href="/ui/models/flight-delay/versions/champion/demo"' in page.text
    assert 'href="/ui/models/flight-delay/compare-demo?a=champion&amp;b=challenger"' in page.text
    assert 'hx-get="/ui/models/flight-delay/share-links"' in page.text
    section = demo_client.get("/ui/models/flight-delay/share-links")
    assert section.status_code == 200 and "Create share link" in section.text
