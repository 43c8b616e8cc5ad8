"""The run page in a real browser: metric charts drawn, artifacts browsed and previewed."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import matplotlib
import pytest
from playwright.sync_api import expect

from server_process import SeedbedServer

from .conftest import ARTIFACTS, Tab

matplotlib.use("Agg")
import matplotlib.pyplot as plt

pytestmark = pytest.mark.browser

FOLDER = "run-page-test"  # the files this test adds to the demo model run, all in one folder
# An HTML export that draws with its own script and reports what its sandbox lets it reach.
HTML = """<!doctype html><html><body><div id="out">not drawn</div><script>
let cookies;
try { cookies = "cookies: " + document.cookie; } catch (e) { cookies = "no cookies"; }
let parentPage;
try { parentPage = "parent: " + window.parent.document.title; }
catch (e) { parentPage = "no parent"; }
document.getElementById("out").textContent = "drawn by script; " + cookies + "; " + parentPage;
</script></body></html>"""


def loss_png() -> bytes:
    figure, axes = plt.subplots(figsize=(4, 3))
    axes.plot([1.0, 0.6, 0.4, 0.3])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def plotly_html() -> bytes:
    """A Plotly figure exported as log_figure saves it: plotly.js inline, nothing fetched."""
    import plotly.graph_objects as go

    figure = go.Figure(go.Scatter(x=[0, 1, 2, 3], y=[1.0, 0.6, 0.4, 0.3], mode="lines"))
    return figure.to_html(include_plotlyjs=True, full_html=True).encode()


def model_run(server: SeedbedServer) -> dict[str, Any]:
    """The demo's gradient-boosting run, with an image, a CSV and an HTML file added to it."""
    headers = {"authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
        [experiment] = [
            e for e in api.get("/api/v1/experiments").json() if e["name"] == "flight-delays"
        ]
        runs = api.get(f"/api/v1/experiments/{experiment['id']}/runs").json()
        run: dict[str, Any] = next(r for r in runs if r["name"] == "gradient-boosting")
        base = f"/api/2.0/mlflow-artifacts/artifacts/{experiment['id']}/{run['id']}/artifacts"
        rows = "".join(f"{i},{i % 2},{i / 100:.2f}\n" for i in range(250))
        files = {
            "loss.png": loss_png(),
            "predictions.csv": ("id,label,score\n" + rows).encode(),
            "probe.html": HTML.encode(),
            "figure.html": plotly_html(),
        }
        for name, data in files.items():
            api.put(f"{base}/{FOLDER}/{name}", content=data).raise_for_status()
    return run


def test_run_page_charts_and_artifacts(tab: Tab, demo_server: SeedbedServer) -> None:
    run = model_run(demo_server)
    page = tab.page
    page.goto(demo_server.login_url)
    page.goto(f"{demo_server.url}/ui/runs/{run['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("gradient-boosting")
    expect(page.get_by_role("link", name="flight-delays").first).to_be_visible()

    # Charts: one Plotly line per metric with many points; the x axis can switch to time.
    chart = page.locator('figure.chart[data-key="train_loss"]')
    expect(chart.locator(".plot .main-svg").first).to_be_visible()
    total = int(chart.get_attribute("data-total") or 0)
    assert total > 100  # one point per boosting iteration: few enough to be sent whole
    expect(chart.locator(".sampled")).to_have_text(f"{total} points")
    drawn = chart.locator(".plot").evaluate("p => ({n: p.data.length, x: p.data[0].x.length})")
    assert drawn == {"n": 1, "x": total}
    assert page.locator('figure.chart[data-key="roc_auc"]').count() == 0  # one point: table only
    expect(page.locator("table.metrics")).to_contain_text("roc_auc")
    page.get_by_label("Relative time").check()
    expect(chart.locator(".xtitle")).to_have_text("seconds since the run started")
    page.get_by_label("Step", exact=True).check()
    expect(chart.locator(".xtitle")).to_have_text("step")
    tab.shot("run-01-charts")

    # Artifacts: one folder level at a time, without leaving the page.
    browser = page.locator("#artifact-browser")
    browser.get_by_role("link", name=f"{FOLDER}/").click()
    expect(browser.get_by_role("link", name="loss.png")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"\?artifact={FOLDER}$"))
    expect(browser.get_by_role("link", name="model/", exact=True)).to_have_count(0)

    browser.get_by_role("link", name="loss.png").click()
    image = page.locator("#artifact-preview img.preview-image")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 400
    tab.shot("run-02-image")

    browser.get_by_role("link", name="predictions.csv").click()
    table = page.locator("#artifact-preview table.csv-preview")
    expect(table.locator("thead")).to_contain_text("score")
    expect(table.locator("tbody tr")).to_have_count(100)
    expect(page.locator("#artifact-preview .truncated")).to_contain_text("first 100 rows")

    browser.get_by_role("link", name="probe.html").click()
    frame = page.locator("#artifact-preview iframe.preview-html")
    expect(frame).to_have_attribute("sandbox", "allow-scripts")
    inside = page.frame_locator("#artifact-preview iframe.preview-html")
    expect(inside.locator("#out")).to_have_text("drawn by script; no cookies; no parent")

    browser.get_by_role("link", name="figure.html").click()
    expect(inside.locator(".main-svg").first).to_be_visible()  # Plotly drew inside the sandbox
    expect(inside.locator(".scatterlayer .trace")).to_have_count(1)
    # A full-page shot leaves out a cross-origin frame's pixels; the preview alone keeps them.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#artifact-preview").screenshot(path=str(ARTIFACTS / "run-03-html.png"))

    # Back to the root through the crumbs, then into the model the run logged.
    browser.locator(".artifact-crumbs a").first.click()
    browser.get_by_role("link", name="model/", exact=True).click()
    card = browser.locator(".model-card")
    expect(card).to_contain_text("sklearn")
    expect(card.get_by_role("link", name=re.compile(r"^flight-delay version \d+$"))).to_be_visible()
    expect(card.locator("table.signature")).to_contain_text("distance")
    tab.shot("run-04-model")
    tab.watch.assert_clean()
