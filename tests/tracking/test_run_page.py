"""The run page over the real app: header, charts' data, artifact browser, previews, raw files."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from seedbed.tracking.runs import LoggedMetric, log_batch
from seedbed.workspace import Workspace

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
SVG = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>alert(2)</script></svg>"
HTML = b"<!doctype html><title>fig</title><script>document.title = 'drawn'</script>"


def make_run(client: TestClient, **tags: str) -> dict[str, Any]:
    run: dict[str, Any] = client.post(
        "/api/v1/runs", json={"experiment": "page-tests", "name": "trial", "tags": tags}
    ).json()
    return run


def put(workspace: Workspace, run: dict[str, Any], path: str, data: bytes) -> None:
    workspace.artifacts.put_bytes(f"runs/{run['id']}/artifacts/{path}", data)


@pytest.fixture
def run(client: TestClient, local_workspace: Workspace) -> dict[str, Any]:
    """A run with metrics and artifacts of every preview kind."""
    run = make_run(client, **{"mlflow.source.git.commit": "0123456789abcdef" * 2, "team": "x"})
    for step in range(3):
        client.post(
            f"/api/v1/runs/{run['id']}/metrics",
            json={"metrics": {"loss": 1 / (step + 1)}, "step": step},
        )
    client.post(f"/api/v1/runs/{run['id']}/metrics", json={"metrics": {"auc": 0.75}})
    put(local_workspace, run, "notes.md", b"# Notes\n<script>alert(1)</script>\n")
    put(local_workspace, run, "plots/loss.png", PNG)
    put(local_workspace, run, "plots/shape.svg", SVG)
    put(local_workspace, run, "plots/figure.html", HTML)
    put(
        local_workspace,
        run,
        "data/predictions.csv",
        b"id,score\n" + b"".join(f"{i},{i / 1000}\n".encode() for i in range(500)),
    )
    put(local_workspace, run, "data/big.log", b"line of log text\n" * 20_000)
    put(local_workspace, run, "model.pkl", b"\x80\x04binary")
    return run


def test_run_page_header_metrics_and_links(client: TestClient, run: dict[str, Any]) -> None:
    child = make_run(client, **{"mlflow.parentRunId": run["id"]})
    page = client.get(f"/ui/runs/{child['id']}")
    assert page.status_code == 200
    assert f'<a href="/ui/runs/{run["id"]}">trial</a>' in page.text  # the parent
    page = client.get(f"/ui/runs/{run['id']}")
    assert page.status_code == 200
    html = page.text
    assert "page-tests" in html and run["id"] in html and "RUNNING" in html
    assert "Git commit" in html and "0123456789ab" in html
    assert re.search(r'<figure class="chart" data-key="loss" data-total="3">', html)
    assert 'data-key="auc"' not in html  # one point: a table row, not a chart
    assert re.search(r"<td>auc</td><td class=\"num\">0.75</td>", html)
    assert "/static/run.js" in html and "/vendor/plotly.min.js" in html
    assert "Child runs" in html and f"/ui/runs/{child['id']}" in html


def test_chart_json_of_a_100k_point_metric_sends_at_most_1000(
    client: TestClient, local_workspace: Workspace
) -> None:
    run = make_run(client)
    points = [LoggedMetric("loss", float(i % 977), step=i, timestamp=i) for i in range(100_000)]
    log_batch(local_workspace, run["id"], points)
    began = time.perf_counter()
    page = client.get(f"/ui/runs/{run['id']}")
    assert page.status_code == 200 and len(page.content) < 100_000
    chart = client.get(
        f"/ui/runs/{run['id']}/metrics/chart", params={"key": "loss", "max_points": 100_000}
    )
    elapsed = time.perf_counter() - began
    assert chart.status_code == 200
    data = chart.json()
    assert data["total"] == 100_000 and data["key"] == "loss"
    assert 100 < len(data["values"]) <= 1000
    assert len(data["steps"]) == len(data["timestamps"]) == len(data["values"])
    assert data["steps"][0] == 0 and data["steps"][-1] == 99_999
    assert elapsed < 10, f"page and chart data took {elapsed:.1f} s"
    narrow = client.get(
        f"/ui/runs/{run['id']}/metrics/chart", params={"key": "loss", "max_points": 300}
    )
    assert len(narrow.json()["values"]) <= 300


def test_chart_json_errors(client: TestClient, run: dict[str, Any]) -> None:
    base = f"/ui/runs/{run['id']}/metrics/chart"
    assert client.get(base, params={"key": "nope"}).status_code == 404
    assert client.get(base, params={"key": "loss", "max_points": 2}).status_code == 400
    assert (
        client.get(f"/ui/runs/{'0' * 32}/metrics/chart", params={"key": "loss"}).status_code == 404
    )


def test_artifact_browser_goes_one_level_at_a_time(client: TestClient, run: dict[str, Any]) -> None:
    page = client.get(f"/ui/runs/{run['id']}").text
    assert 'class="artifact-folder"' in page and ">plots/</a>" in page and ">data/</a>" in page
    assert "loss.png" not in page  # inside a folder not yet opened
    assert re.search(r"notes\.md</a></td>\s*<td class=\"num\">34 Bytes</td>", page)
    level = client.get(f"/ui/runs/{run['id']}/artifacts", params={"path": "plots"})
    assert level.status_code == 200 and "<html" not in level.text  # a partial for htmx
    assert "loss.png" in level.text and "shape.svg" in level.text and "notes.md" not in level.text
    assert f'hx-push-url="/ui/runs/{run["id"]}?artifact=plots/loss.png"' in level.text
    deep_link = client.get(f"/ui/runs/{run['id']}", params={"artifact": "plots/loss.png"}).text
    assert 'class="preview-image"' in deep_link and "shape.svg" in deep_link


def test_previews_of_each_kind(client: TestClient, run: dict[str, Any]) -> None:
    def preview(path: str) -> str:
        answer = client.get(f"/ui/runs/{run['id']}/artifacts/preview", params={"path": path})
        assert answer.status_code == 200, answer.text
        return answer.text

    raw = f"/ui/runs/{run['id']}/artifacts/raw?path="
    assert f'<img class="preview-image" src="{raw}plots/shape.svg" alt="shape.svg">' in preview(
        "plots/shape.svg"
    )
    text = preview("notes.md")
    assert "# Notes" in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    table = preview("data/predictions.csv")
    assert table.count("<tr>") == 101 and "<th>score</th>" in table and "first 100 rows" in table
    log = preview("data/big.log")
    assert "Truncated" in log and log.count("line of log text") < 7_000
    frame = preview("plots/figure.html")
    iframe = re.search(r"<iframe[^>]*>", frame)
    assert iframe is not None
    assert 'sandbox="allow-scripts"' in iframe[0] and "allow-same-origin" not in iframe[0]
    assert f'src="{raw}plots/figure.html"' in iframe[0]
    assert "No preview" in preview("model.pkl")


def test_raw_files_carry_safe_headers(client: TestClient, run: dict[str, Any]) -> None:
    def raw(path: str, **params: Any) -> Any:
        answer = client.get(f"/ui/runs/{run['id']}/artifacts/raw", params={"path": path, **params})
        assert answer.status_code == 200
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-security-policy"].startswith("sandbox")
        return answer

    png = raw("plots/loss.png")
    assert png.content == PNG and png.headers["content-type"] == "image/png"
    assert png.headers["content-disposition"].startswith("inline")
    svg = raw("plots/shape.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "script-src" not in svg.headers["content-security-policy"]  # no script runs at all
    html = raw("plots/figure.html")
    policy = html.headers["content-security-policy"]
    assert html.headers["content-type"].startswith("text/html")
    assert policy.startswith("sandbox allow-scripts;") and "allow-same-origin" not in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert html.headers["x-frame-options"] == "SAMEORIGIN"
    text = raw("notes.md")
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    binary = raw("model.pkl")
    assert binary.headers["content-type"] == "application/octet-stream"
    assert binary.headers["content-disposition"] == "attachment; filename*=UTF-8''model.pkl"
    forced = raw("plots/figure.html", download="1")
    assert forced.headers["content-disposition"].startswith("attachment")
    assert forced.headers["content-type"] == "application/octet-stream"


@pytest.mark.parametrize(
    "path",
    [
        "../../../etc/passwd",
        "/etc/passwd",
        "%2e%2e/%2e%2e/x",
        "plots/%252e%252e/%252e%252e/x",
        "a\\..\\b",
    ],
)
def test_traversal_is_a_400_everywhere(client: TestClient, run: dict[str, Any], path: str) -> None:
    base = f"/ui/runs/{run['id']}"
    for url, param in [
        (f"{base}/artifacts/raw", "path"),
        (f"{base}/artifacts/preview", "path"),
        (f"{base}/artifacts", "path"),
        (base, "artifact"),
    ]:
        answer = client.get(url, params={param: path})
        assert answer.status_code == 400, (url, path)
        assert "not allowed" in answer.text


def test_traversal_encoded_in_the_raw_query_is_a_400(
    client: TestClient, run: dict[str, Any]
) -> None:
    answer = client.get(f"/ui/runs/{run['id']}/artifacts/raw?path=%2e%2e%2f%2e%2e%2fsecret")
    assert answer.status_code == 400


def test_missing_things_are_404(client: TestClient, run: dict[str, Any]) -> None:
    base = f"/ui/runs/{run['id']}"
    assert client.get(f"{base}/artifacts/raw", params={"path": "nope.png"}).status_code == 404
    assert client.get(f"{base}/artifacts/raw", params={"path": "plots"}).status_code == 404
    assert client.get(f"{base}/artifacts/preview", params={"path": "nope.txt"}).status_code == 404
    assert client.get(f"{base}/artifacts", params={"path": "nope"}).status_code == 404
    assert client.get(base, params={"artifact": "nope/x.txt"}).status_code == 404
    assert client.get(base, params={"model": "m-" + "0" * 32}).status_code == 404
    assert client.get(f"/ui/runs/{'0' * 32}").status_code == 404


def test_demo_model_run_shows_its_model_and_registered_version(demo_client: TestClient) -> None:
    [experiment] = demo_client.get("/api/v1/experiments").json()
    runs = demo_client.get(f"/api/v1/experiments/{experiment['id']}/runs").json()
    model_run = next(r for r in runs if r["name"] == "gradient-boosting")
    page = demo_client.get(f"/ui/runs/{model_run['id']}").text
    assert 'data-key="train_loss"' in page  # one point per boosting iteration: a chart
    assert re.search(
        r'<h3>Registered as</h3>\s*<ul class="links versions">'
        r'<li><a href="/ui/models/flight-delay">',
        page,
    )
    model = demo_client.get(f"/ui/runs/{model_run['id']}/artifacts", params={"path": "model"}).text
    assert 'class="model-card"' in model and "<strong>sklearn</strong>" in model
    assert re.search(
        r'Registered as <a href="/ui/models/flight-delay">flight-delay version \d+</a>', model
    )
    assert "<td>input</td><td>distance</td>" in model
    mlmodel = demo_client.get(
        f"/ui/runs/{model_run['id']}/artifacts/preview", params={"path": "model/MLmodel"}
    )
    assert "flavors:" in mlmodel.text


def test_logged_model_files_are_browsed_from_their_run(
    client: TestClient, local_workspace: Workspace, run: dict[str, Any]
) -> None:
    from seedbed.registry import logged_models

    model = logged_models.create(
        local_workspace, run["experiment_id"], "clf", model_type="sklearn", source_run_id=run["id"]
    )
    local_workspace.artifacts.put_bytes(
        f"{model.artifact_key}/MLmodel", b"flavors:\n  sklearn: {}\n"
    )
    local_workspace.artifacts.put_bytes(f"{model.artifact_key}/conda.yaml", b"name: m\n")
    page = client.get(f"/ui/runs/{run['id']}").text
    assert f'href="/ui/runs/{run["id"]}?model={model.id}#artifacts">clf</a>' in page
    files = client.get(f"/ui/runs/{run['id']}", params={"model": model.id}).text
    assert "<strong>logged model clf</strong>" in files and "conda.yaml" in files
    assert 'class="model-card"' in files and "notes.md" not in files
    raw = client.get(
        f"/ui/runs/{run['id']}/artifacts/raw", params={"path": "conda.yaml", "model": model.id}
    )
    assert raw.status_code == 200 and raw.content == b"name: m\n"
    other = make_run(client)
    elsewhere = client.get(f"/ui/runs/{other['id']}", params={"model": model.id})
    assert elsewhere.status_code == 404
