"""Feedback over HTTP: the demo page's verdict form, the JSON API, the feedback page, export
as a dataset version (lineage feedback → dataset → run) and the `seedbed feedback` commands."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from auth_sessions import page_csrf, token_for
from conftest import api_client
from demo_rows import DEMO_FORM
from registry_models import log_small_model
from seedbed.auth import audit
from seedbed.auth.audit import AuditFilter
from seedbed.auth.tokens import ensure_admin_token
from seedbed.cli import app as cli_app
from seedbed.data.datasets import record_run_input
from seedbed.registry.models import register_version
from seedbed.tracking.experiments import create_experiment
from seedbed.tracking.runs import start_run
from seedbed.web.app import create_app
from seedbed.web.server import bind
from seedbed.workspace import Workspace

DEMO = "/ui/models/flight-delay/versions/champion/demo"
ROW = DEMO_FORM
SCRIPT = "<script>alert('fb')</script> really?"


def hidden(page: str, name: str) -> str:
    match = re.search(rf"name=\"{name}\" value='([^']*)'", page)
    assert match, f"no hidden {name} in the form"
    return html.unescape(match.group(1))


def test_verdict_form_under_a_demo_prediction(demo_workspace: Workspace) -> None:
    with api_client(demo_workspace, authenticated=False) as browser:
        browser.get("/login", params={"token": ensure_admin_token(demo_workspace)})
        csrf = page_csrf(browser, DEMO)
        scored = browser.post(
            DEMO, data={"csrf_token": csrf, **ROW}, headers={"hx-request": "true"}
        )
        assert scored.status_code == 200 and "feedback-form" in scored.text
        action = re.search(r'class="stack feedback-form" hx-post="([^"]+)"', scored.text)
        assert action and action.group(1) == "/ui/models/flight-delay/versions/1/feedback"
        assert '<option value="1">delayed &gt; 15 min</option>' in scored.text  # class labels
        inputs = json.loads(hidden(scored.text, "inputs_json"))
        predicted = json.loads(hidden(scored.text, "prediction_json"))["prediction"]
        other = "0" if str(predicted) == "1" else "1"
        form = {
            "csrf_token": csrf,
            "inputs_json": json.dumps(inputs),
            "prediction_json": json.dumps({"prediction": 1 - int(predicted)}),  # forged
            "correct": "no",
            "label": other,
            "comment": "form-test: storms that evening",
        }
        thanks = browser.post(action.group(1), data=form, headers={"hx-request": "true"})
        assert thanks.status_code == 200 and "Thanks — recorded (marked wrong" in thanks.text
        refused = browser.post(
            action.group(1), data={**form, "label": str(predicted)}, headers={"hx-request": "true"}
        )
        assert "Not recorded" in refused.text and "marked wrong" in refused.text
        plain = browser.post(action.group(1), data={**form, "correct": "", "label": ""})
        assert plain.status_code == 303 and plain.headers["location"].endswith("/versions/1/demo")
        forged = browser.post(action.group(1), data={**form, "csrf_token": "forged"})
        assert forged.status_code == 403
        found = browser.get(
            "/api/v1/models/flight-delay/feedback", params={"reviewer": "admin", "limit": 1000}
        ).json()["items"]
    mine = [i for i in found if i["comment"] == "form-test: storms that evening"]
    assert len(mine) == 2
    judged = mine[1]  # newest first: [1] is the htmx post, [0] the plain one
    assert judged["correct"] is False and judged["label"] == other and judged["version"] == 1
    # the stored prediction is the model's, not the forged one, with typed inputs
    assert judged["prediction"]["prediction"] == predicted
    assert judged["inputs"]["distance"] == 1000 and judged["inputs"]["carrier"] == "UA"
    assert mine[0]["correct"] is None


@pytest.fixture
def small(local_workspace: Workspace) -> Iterator[TestClient]:
    register_version(local_workspace, "small", log_small_model(local_workspace).id)
    with api_client(local_workspace) as http:
        yield http


def post(http: TestClient, **body: object) -> dict[str, object]:
    answer = http.post("/api/v1/models/small/feedback", json={"version": 1, **body})
    assert answer.status_code == 201, answer.text
    found: dict[str, object] = answer.json()
    return found


def test_api_page_export_and_lineage(local_workspace: Workspace, small: TestClient) -> None:
    row = {"x": 1.0, "n": 2}
    post(small, inputs=row, prediction=0, probabilities={"0": 0.8, "1": 0.2}, correct=True)
    post(small, inputs={**row, "x": 4.0}, prediction={"prediction": 1}, label="0")
    post(small, inputs={**row, "x": 5.0}, prediction=1, comment=SCRIPT)
    bad = small.post(
        "/api/v1/models/small/feedback",
        json={"version": 1, "inputs": row, "prediction": 0, "correct": True, "label": "1"},
    )
    assert bad.status_code == 400 and "marked right" in bad.json()["error"]["message"]
    missing = small.post(
        "/api/v1/models/small/feedback",
        json={"version": 9, "inputs": row, "prediction": 0, "correct": True},
    )
    assert missing.status_code == 404
    listed = small.get("/api/v1/models/small/feedback", params={"verdict": "wrong"}).json()
    assert listed["total"] == 1 and listed["items"][0]["label"] == "0"
    paged = small.get("/api/v1/models/small/feedback", params={"limit": 1, "offset": 1}).json()
    assert paged["total"] == 3 and paged["items"][0]["inputs"]["x"] == 4.0
    wrong_date = small.get("/api/v1/models/small/feedback", params={"since": "yesterday"})
    assert wrong_date.status_code == 400 and "date such as" in wrong_date.text
    summary = small.get("/api/v1/models/small/feedback/summary", params={"by": "x"}).json()
    assert (summary["total"], summary["with_verdict"], summary["agreement"]) == (3, 2, 0.5)

    page = small.get("/ui/models/small/feedback", params={"segment": "x", "value": "4"})
    assert page.status_code == 200
    assert "<td>admin" in page.text and 'id="agreement-by-segment"' in page.text
    assert page.text.count('class="inputs"') == 1  # the filter kept one item
    full = small.get("/ui/models/small/feedback").text
    assert "&lt;script&gt;alert(&#39;fb&#39;)&lt;/script&gt; really?" in full
    assert "<script>alert" not in full
    data = re.search(r'<script type="application/json" id="feedback-data">(.*?)</script>', full)
    assert data and json.loads(data.group(1))["by_segment"]
    assert '<script src="/static/feedback.js"' in full and "Export as dataset" in full
    card = small.get("/ui/models/small/feedback/card")
    assert "3</div>" in card.text and "50%" in card.text

    viewer = token_for(local_workspace, "vera", "viewer")
    as_viewer = {"Authorization": f"Bearer {viewer}"}
    given = small.post(
        "/api/v1/models/small/feedback",
        json={"version": 1, "inputs": row, "prediction": 0, "comment": "viewer says hi"},
        headers=as_viewer,
    )
    assert given.status_code == 201 and given.json()["reviewer"] == "vera"
    refused = small.post(
        "/api/v1/models/small/feedback/export", json={"name": "fb"}, headers=as_viewer
    )
    assert refused.status_code == 403

    first = small.post("/api/v1/models/small/feedback/export", json={"name": "small-feedback"})
    assert first.status_code == 201 and first.json()["created"] is True
    version = first.json()["version"]
    assert version["source"] == "feedback" and version["rows"] == 4
    assert version["source_detail"]["model"] == "small"
    assert version["source_detail"]["model_versions"] == [1]
    columns = [c["name"] for c in version["columns"]]
    assert columns[:5] == ["feedback_id", "model", "version", "x", "n"]
    assert {"prediction", "probability_0", "correct", "label", "comment", "reviewer"} <= set(
        columns
    )
    again = small.post("/api/v1/models/small/feedback/export", json={"name": "small-feedback"})
    assert again.json()["created"] is False and again.json()["version"]["version"] == 1
    exports = audit.search(local_workspace, AuditFilter(action_prefix="feedback.export"))
    assert [(e.target, e.detail["dataset"]) for e in exports] == [("small", "small-feedback/1")]

    run = start_run(local_workspace, create_experiment(local_workspace, "retrain").id)
    record_run_input(local_workspace, run.id, "small-feedback", 1)
    lineage = small.get("/api/v1/datasets/small-feedback/versions/1/lineage").json()
    assert [r["id"] for r in lineage["runs"]] == [run.id]
    dataset_page = small.get("/ui/data/datasets/small-feedback").text
    assert "feedback on model small" in dataset_page and "feedback" in dataset_page
    assert "small-feedback v1" in small.get("/ui/models/small/feedback").text

    with api_client(local_workspace, authenticated=False) as browser:
        browser.get("/login", params={"token": ensure_admin_token(local_workspace)})
        csrf = page_csrf(browser, "/ui/models/small/feedback?verdict=wrong")
        form = {"csrf_token": csrf, "dataset": "small-wrong", "verdict": "wrong"}
        made = browser.post("/ui/models/small/feedback/export", data=form)
        assert made.status_code == 303
        assert made.headers["location"] == "/ui/data/datasets/small-wrong?version=1"
        forged = browser.post("/ui/models/small/feedback/export", data={**form, "csrf_token": "x"})
        assert forged.status_code == 403
    wrong_only = small.get("/api/v1/datasets/small-wrong").json()["versions"][0]
    assert wrong_only["rows"] == 1 and wrong_only["source_detail"]["filters"] == {"correct": False}


@pytest.fixture
def served(local_workspace: Workspace) -> Iterator[str]:
    """The app on a real port in this process, for the CLI."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(local_workspace), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def test_feedback_commands(
    local_workspace: Workspace, small: TestClient, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEEDBED_URL", served)
    monkeypatch.setenv("SEEDBED_TOKEN", ensure_admin_token(local_workspace))
    monkeypatch.setenv("COLUMNS", "200")
    post(small, inputs={"x": 1.0, "n": 2}, prediction=0, correct=False, label="1")
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["feedback", "list", "small", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [i["label"] for i in json.loads(listed.output)] == ["1"]
    table = runner.invoke(cli_app, ["feedback", "list", "small", "--verdict", "wrong"])
    assert "Feedback on small" in table.output and "wrong" in table.output
    made = runner.invoke(cli_app, ["feedback", "export", "small", "--name", "fb", "--json"])
    assert made.exit_code == 0 and json.loads(made.output)["version"]["source"] == "feedback"
    same = runner.invoke(cli_app, ["feedback", "export", "small", "--name", "fb"])
    assert same.exit_code == 0 and "no new version" in same.output
    unknown = runner.invoke(cli_app, ["feedback", "list", "nope"])
    assert unknown.exit_code == 1 and "No registered model named 'nope'" in unknown.output


def test_odd_numbers_are_refused_not_500s(demo_client: TestClient) -> None:
    """Probabilities that are not numbers, and numbers past what the database stores."""
    version = demo_client.get("/api/v1/models/flight-delay/versions/champion").json()
    body = {
        "version": version["version"],
        "inputs": {"carrier": "UA"},
        "prediction": {"prediction": 1, "probabilities": {"1": "high"}},
        "correct": True,
    }
    answer = demo_client.post("/api/v1/models/flight-delay/feedback", json=body)
    assert answer.status_code == 400 and "from 0 to 1" in answer.json()["error"]["message"]
    huge = demo_client.get("/api/v1/models/flight-delay/feedback", params={"offset": "9" * 30})
    assert huge.status_code == 400 and "too large" in huge.json()["error"]["message"]
