"""The Data pages in a real browser: upload, edit the schema, publish, profile, checks, SQL."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from server_process import SeedbedServer

from .conftest import SlowProxy, Tab

pytestmark = pytest.mark.browser

ROWS = 6_000
# Chromium and the kernel's socket buffers take the first ~4 MB of a request body at once,
# so a few thousand rows (150 kB) are "sent" before the first progress event. 300,000 rows
# (8.5 MB) through the proxy at 4 MB/s leave the bar between 0 and 100 for about a second.
BIG_ROWS = 300_000
UPLOAD_BYTES_PER_S = 4_000_000
# `code` (1000..1899) looks numeric. Codes with leading zeros ("007") are no test of the
# edit: DuckDB 1.5 already infers VARCHAR for them.
INFERRED = {"id": "BIGINT", "amount": "DOUBLE", "code": "BIGINT", "day": "DATE"}


def write_csv(path: Path, rows: int = ROWS) -> Path:
    """`rows` rows: `code` holds numeric-looking identifiers the user wants kept as text, and
    `amount` exceeds 100 on a few rows (which a range check catches)."""
    start = dt.date(2024, 1, 1)
    lines = ["id,amount,code,day"]
    for i in range(1, rows + 1):
        amount = (i * 37) % 9_000 / 100 + (150 if i % 1_000 == 0 else 0)
        code = 1_000 + (i * 7) % 900
        lines.append(f"{i},{amount:.2f},{code},{start + dt.timedelta(days=i % 366)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def api(server: SeedbedServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {server.token}"}, timeout=30
    )


def log_in(page: Page, server: SeedbedServer, via: str | None = None) -> None:
    page.goto(f"{via or server.url}/login?token={server.token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Workspace")


def open_upload_page(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data", exact=True).click()
    page.get_by_role("link", name="Upload a file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Upload a file")
    page.wait_for_load_state()  # upload.js (deferred) listens from here on


def record_progress(page: Page) -> None:
    """Collect every value the progress bar shows into window.__progress."""
    page.evaluate(
        """() => {
          const bar = document.getElementById("progress-bar");
          window.__progress = [];
          new MutationObserver(() => window.__progress.push(bar.value))
            .observe(bar, { attributes: true, attributeFilter: ["value"] });
        }"""
    )


def drop_file(page: Page, path: Path) -> None:
    """What a drag and drop delivers: a drop event whose DataTransfer holds the file.

    Playwright cannot drag a file from the desktop, so the events are built in the page.
    """
    page.locator("#drop-zone").evaluate(
        """(zone, file) => {
          const data = new DataTransfer();
          data.items.add(new File([file.text], file.name, { type: "text/csv" }));
          const init = { dataTransfer: data, bubbles: true, cancelable: true };
          zone.dispatchEvent(new DragEvent("dragenter", init));
          window.__draggingShown = zone.classList.contains("dragging");
          zone.dispatchEvent(new DragEvent("drop", init));
        }""",
        {"name": path.name, "text": path.read_text()},
    )
    assert page.evaluate("window.__draggingShown"), "the drop zone did not light up"
    expect(page.locator("#drop-zone")).not_to_have_class(re.compile(r"\bdragging\b"))


def wait_for_preview(page: Page, filename: str) -> None:
    expect(page.locator("#progress-label")).to_have_text(f"{filename} uploaded.")
    expect(page.locator("#progress-bar")).to_have_js_property("value", 100)
    expect(page.locator("#publish-form")).to_be_visible()


def preview_types(page: Page) -> dict[str, str]:
    names = page.locator("#preview-table input.column-name")
    types = page.locator("#preview-table select.column-type")
    return {names.nth(i).input_value(): types.nth(i).input_value() for i in range(names.count())}


def column_type_select(page: Page, column: str) -> Locator:
    return page.get_by_label(f"Type of column {column}", exact=True)


def schema_of(page: Page) -> dict[str, str]:
    rows = page.locator("table.schema tbody tr")
    return {
        rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("td").nth(1).inner_text()
        for i in range(rows.count())
    }


def test_upload_edit_publish_profile(
    tab: Tab, demo_server: SeedbedServer, slow_proxy: SlowProxy, tmp_path: Path
) -> None:
    page = tab.page
    base = slow_proxy.url  # the whole visit goes through the proxy, which slows the upload
    tab.watch.server_url = base
    csv = write_csv(tmp_path / "payments.csv", BIG_ROWS)
    # Plotly runs under the server's Content-Security-Policy; any violation is recorded here
    # (and Chromium also logs it as a console error, which the Watch reports).
    page.add_init_script(
        """window.__csp = [];
        document.addEventListener("securitypolicyviolation", (e) =>
          window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""
    )
    log_in(page, demo_server, via=base)
    open_upload_page(page)
    expect(page.locator("#publish-form")).to_be_hidden()
    tab.shot("20-upload-empty")

    # Choose the file; a slowed-down upload shows the bar moving, then the preview.
    record_progress(page)
    slow_proxy.upload_bytes_per_s = UPLOAD_BYTES_PER_S
    started = time.monotonic()
    page.locator("#file-input").set_input_files(csv)
    expect(page.locator("#upload-progress")).to_be_visible()
    expect(page.locator("#progress-label")).to_contain_text("Uploading payments.csv")
    wait_for_preview(page, "payments.csv")
    upload_s = time.monotonic() - started
    slow_proxy.upload_bytes_per_s = None
    seen: list[float] = page.evaluate("window.__progress")
    assert seen[-1] == 100, seen
    assert seen == sorted(seen), f"the bar went backwards: {seen}"
    between = [v for v in seen if 0 < v < 100]
    assert between, f"the bar jumped straight to 100 ({seen}) in {upload_s:.2f} s"

    detected = page.locator("#detected")
    expect(detected).to_contain_text("CSV")
    expect(detected).to_contain_text(f"{csv.stat().st_size:,} bytes")
    expect(detected).to_contain_text('delimiter ","')
    expect(page.get_by_label("Dataset name")).to_have_value("payments")
    assert preview_types(page) == INFERRED
    preview_rows = page.locator("#preview-table tbody tr")
    expect(preview_rows).to_have_count(20)
    expect(preview_rows.first.locator("td")).to_have_text(["1", "0.37", "1007", "2024-01-02"])
    tab.shot("21-upload-preview")

    # Edit: `code` is an identifier, not a number; `amount` gets its currency.
    column_type_select(page, "code").select_option("VARCHAR")
    page.get_by_label("Name of column 2", exact=True).fill("amount_eur")
    page.get_by_label("Dataset name").fill("payments")
    page.get_by_label("Description").fill("Card payments, generated by the browser test")
    tab.shot("22-upload-edited")
    page.get_by_role("button", name="Publish").click()

    # The dataset page: version 1 with the edited schema and the first rows.
    expect(page).to_have_url(f"{base}/ui/data/datasets/payments?version=1")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("payments")
    expect(heading).to_contain_text("v1")
    expect(page.locator(".subtitle")).to_contain_text(f"{BIG_ROWS:,} rows")
    expect(page.locator(".subtitle")).to_contain_text("payments.csv")
    versions = page.locator("table.versions tbody tr")
    expect(versions).to_have_count(1)
    expect(versions.first).to_contain_text("v1")
    assert schema_of(page) == {
        "id": "BIGINT",
        "amount_eur": "DOUBLE",
        "code": "VARCHAR",
        "day": "DATE",
    }
    sample = page.locator(".sample table.grid")
    expect(sample.locator("thead th")).to_have_text(["id", "amount_eur", "code", "day"])
    expect(sample.locator("tbody tr").first.locator("td")).to_have_text(
        ["1", "0.37", "1007", "2024-01-02"]
    )
    tab.shot("23-dataset")

    # The profile: one card per column with its statistics.
    page.get_by_role("link", name="Profile", exact=True).click()
    expect(page).to_have_url(f"{base}/ui/data/datasets/payments/versions/1/profile")
    expect(page.get_by_role("heading", level=1)).to_have_text("Profile of payments v1")
    expect(page.locator(".subtitle")).to_contain_text(f"{BIG_ROWS:,} rows, 4 columns")
    cards = page.locator(".profile-card")
    expect(cards).to_have_count(4)
    expect(cards.locator("h3")).to_have_text(
        [
            re.compile(r"^id\s+BIGINT$"),
            re.compile(r"^amount_eur\s+DOUBLE$"),
            re.compile(r"^code\s+VARCHAR$"),
            re.compile(r"^day\s+DATE$"),
        ]
    )
    for i in range(4):
        card = cards.nth(i)
        expect(card.locator("dl.kv")).to_contain_text("Missing")
        expect(card.locator("dl.kv")).to_contain_text("Distinct")
    amount = cards.filter(has=page.get_by_role("heading", name=re.compile("^amount_eur")))
    expect(amount.locator("dl.kv")).to_contain_text("Mean ± std")
    expect(amount.locator("dl.kv")).to_contain_text("Quartiles")
    expect(amount.locator("dl.kv")).to_contain_text("0 (0.0%)")
    code = cards.filter(has=page.get_by_role("heading", name=re.compile("^code")))
    expect(code.locator("table.top-values tbody tr").first).to_be_visible()

    # Plotly draws SVG: every histogram gets its bars, the correlation matrix its heatmap.
    charts = page.locator(".chart.histogram")
    expect(charts).to_have_count(3)  # id, amount_eur and day; code is text
    for name in ["id", "amount_eur", "day"]:
        chart = page.get_by_role("img", name=f"Histogram of {name}")
        expect(chart.locator(".main-svg").first).to_be_visible()
        bars = chart.locator(".barlayer .point path")
        expect(bars.first).to_be_visible()
        assert bars.count() > 1, f"the histogram of {name} has a single bar"
    heatmap = page.get_by_role("img", name="Correlation matrix of the numeric columns")
    expect(heatmap.locator(".main-svg").first).to_be_visible()
    expect(heatmap.locator(".xtick text")).to_have_text(["id", "amount_eur"])
    tab.shot("24-profile")
    assert page.evaluate("window.__csp") == [], "Plotly needs more than the CSP allows"

    tab.watch.assert_clean()


CHECKS = """checks:
  - kind: not_null
    column: id
  - kind: range
    column: amount
    min: 0
    max: 100
"""


@pytest.fixture
def ledger(demo_server: SeedbedServer, tmp_path: Path) -> str:
    """A dataset published through the API, for the checks form."""
    csv = write_csv(tmp_path / "ledger.csv")
    with api(demo_server) as client:
        staged = client.post(
            "/api/v1/uploads", params={"filename": csv.name}, content=csv.read_bytes()
        )
        assert staged.status_code == 201, staged.text
        published = client.post(
            f"/api/v1/uploads/{staged.json()['id']}/publish", json={"name": "ledger"}
        )
        assert published.status_code == 201, published.text
    return "ledger"


def test_quality_checks_form(tab: Tab, demo_server: SeedbedServer, ledger: str) -> None:
    page = tab.page
    log_in(page, demo_server)
    page.goto(f"{demo_server.url}/ui/data/datasets/{ledger}")
    expect(page.locator("h1 .badge")).to_have_text("quality: none")
    expect(page.locator("#quality + .empty")).to_have_text("No checks ran on this version.")

    editor = page.get_by_label("Checks (YAML)")
    editor.fill(CHECKS)
    page.get_by_role("button", name="Save and run checks").click()
    expect(page).to_have_url(re.compile(rf"/ui/data/datasets/{ledger}#quality$"))
    results = page.locator("table.checks tbody tr")
    expect(results).to_have_count(2)
    not_null = results.filter(has_text="not_null(id)")
    expect(not_null.locator(".badge")).to_have_text("passed")
    out_of_range = results.filter(has_text="range(amount)")
    expect(out_of_range.locator(".badge")).to_have_text("failed")
    expect(out_of_range.locator(".badge")).to_have_class(re.compile(r"\bquality-failed\b"))
    # Rows 1000, 2000, ..., 6000 are above 100.
    expect(out_of_range).to_contain_text(re.compile(r"\b6 of 6,?000 rows"))
    expect(page.locator("h1 .badge")).to_have_text("quality: failed")
    expect(page.locator("table.versions tbody tr").first.locator(".badge")).to_have_text("failed")
    # The saved checks come back, as YAML, in the editor.
    saved = page.get_by_label("Checks (YAML)").input_value()
    assert "not_null" in saved and "range" in saved, saved
    tab.shot("25-checks-failed")

    # Broken YAML: a clear message, and the text stays for the user to fix.
    broken = "checks:\n  - kind: not_null\n    column: [id\n"
    tab.watch.allow(400, f"/ui/data/datasets/{ledger}/checks")
    page.get_by_label("Checks (YAML)").fill(broken)
    page.get_by_role("button", name="Save and run checks").click()
    error = page.locator(".checks-form .alert.error")
    expect(error).to_contain_text("not valid YAML")
    expect(error).to_be_in_viewport()  # the answer scrolls to the checks, not the page top
    expect(page.get_by_label("Checks (YAML)")).to_have_value(broken)
    # The checks saved before still stand.
    expect(page.locator("h1 .badge")).to_have_text("quality: failed")
    expect(page.locator("table.checks tbody tr")).to_have_count(2)
    tab.shot("26-checks-invalid-yaml")

    # A check of an unknown kind names the item.
    page.get_by_label("Checks (YAML)").fill("checks:\n  - kind: not_nul\n    column: id\n")
    page.get_by_role("button", name="Save and run checks").click()
    expect(page.locator(".checks-form .alert.error")).to_contain_text("not_nul")
    expect(page.get_by_label("Checks (YAML)")).to_have_value(
        "checks:\n  - kind: not_nul\n    column: id\n"
    )
    tab.watch.assert_clean()


def run_query(page: Page, sql: str) -> None:
    page.get_by_label("Query").fill(sql)
    page.get_by_role("button", name="Run").click()


def test_sql_console(tab: Tab, demo_server: SeedbedServer) -> None:
    page = tab.page
    tab.watch.allow(400, "/api/v1/sql")  # the deliberate bad and cancelled queries
    log_in(page, demo_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data", exact=True).click()
    page.get_by_role("link", name="SQL console").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("SQL console")
    page.wait_for_load_state()  # sql.js (deferred) handles the form from here on
    expect(page.get_by_label("Query")).not_to_have_value("")
    status = page.locator("#sql-status")
    error = page.locator("#sql-error")
    result = page.locator("#sql-result")

    run_query(page, "select origin, count(*) as n from flights group by origin order by origin")
    expect(status).to_contain_text(re.compile(r"^3 rows in \d+\.\d\d s\.$"))
    expect(result.locator("thead th")).to_have_text(["origin", "n"])
    expect(result.locator("thead th.num")).to_have_text(["n"])
    expect(result.locator("tbody tr")).to_have_count(3)
    expect(result.locator("tbody tr td:first-child")).to_have_text(["EWR", "JFK", "LGA"])
    expect(result.locator("tbody td.num")).to_have_count(3)
    expect(error).to_be_hidden()
    tab.shot("27-sql-result")

    # A mistake: the warehouse's message, and the last result is not mistaken for this one.
    run_query(page, "select no_such_column from flights")
    expect(error).to_be_visible()
    expect(error).to_contain_text("no_such_column")
    expect(status).to_have_text("")
    expect(page.locator("#sql-result-wrap")).to_be_hidden()
    tab.shot("28-sql-error")

    # The row limit: ten rows of many, and the console says it stopped there.
    page.get_by_label("Row limit").fill("10")
    run_query(page, "select * from flights")
    expect(status).to_contain_text(re.compile(r"^10 rows \(row limit reached\)"))
    expect(result.locator("tbody tr")).to_have_count(10)
    expect(error).to_be_hidden()
    # Above the server's cap (sql_row_limit, 10,000 by default) the browser refuses to send.
    limit = page.get_by_label("Row limit")
    expect(limit).to_have_attribute("max", "10000")
    sent = len(tab.watch.posts)
    limit.fill("10001")
    page.get_by_role("button", name="Run").click()
    assert "10000" in limit.evaluate("el => el.validationMessage")
    assert len(tab.watch.posts) == sent, "an out-of-range row limit reached the server"
    limit.fill("1000")

    # A long query stops quickly on Cancel.
    cancel = page.get_by_role("button", name="Cancel")
    run_button = page.get_by_role("button", name="Run")
    expect(cancel).to_be_disabled()
    run_query(page, "select count(*) from range(10000000000)")
    expect(status).to_have_text("Running…")
    expect(run_button).to_be_disabled()
    expect(cancel).to_be_enabled()
    page.wait_for_timeout(500)  # let it get going
    clicked = time.monotonic()
    cancel.click()
    expect(error).to_contain_text("The query was cancelled", timeout=5_000)
    stopped_s = time.monotonic() - clicked
    assert stopped_s < 3, f"the query took {stopped_s:.1f} s to stop"
    expect(cancel).to_be_disabled()
    expect(run_button).to_be_enabled()
    tab.shot("29-sql-cancelled")

    # The console still works after a cancel; Ctrl+Enter runs the query too.
    page.get_by_label("Query").fill("select 1 as one")
    page.get_by_label("Query").press("Control+Enter")
    expect(status).to_contain_text(re.compile(r"^1 row in "))
    expect(error).to_be_hidden()
    tab.watch.assert_clean()


def test_reupload_same_file_adds_no_version(
    tab: Tab, demo_server: SeedbedServer, tmp_path: Path
) -> None:
    page = tab.page
    csv = write_csv(tmp_path / "repeats.csv")
    # Playwright turns on file chooser interception when the first listener arrives, without
    # waiting for Chromium: a chooser opened right after could slip through. Listen early.
    page.on("filechooser", lambda _: None)
    log_in(page, demo_server)

    open_upload_page(page)
    page.locator("#file-input").set_input_files(csv)
    wait_for_preview(page, "repeats.csv")
    column_type_select(page, "code").select_option("VARCHAR")
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(f"{demo_server.url}/ui/data/datasets/repeats?version=1")
    expect(page.locator(".alert")).to_have_count(0)

    # The same bytes again, dropped this time, with the same edit: nothing new to publish.
    open_upload_page(page)
    drop_file(page, csv)
    wait_for_preview(page, "repeats.csv")
    column_type_select(page, "code").select_option("VARCHAR")
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(
        re.compile(rf"^{re.escape(demo_server.url)}/ui/data/datasets/repeats\?version=1")
    )
    expect(page.locator(".alert.info")).to_contain_text("no new version")
    expect(page.locator("table.versions tbody tr")).to_have_count(1)
    tab.shot("30-reupload-unchanged")
    with api(demo_server) as client:
        versions = client.get("/api/v1/datasets/repeats").json()["versions"]
    assert [v["version"] for v in versions] == [1]

    # Other types are other content: a new version. The keyboard opens the file chooser.
    open_upload_page(page)
    page.locator("#drop-zone").focus()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(csv)
    wait_for_preview(page, "repeats.csv")
    page.get_by_role("button", name="Publish").click()
    expect(page).to_have_url(f"{demo_server.url}/ui/data/datasets/repeats?version=2")
    expect(page.locator("table.versions tbody tr")).to_have_count(2)
    tab.watch.assert_clean()
