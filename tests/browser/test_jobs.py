"""Jobs in a real browser: the Jobs page lists running and finished jobs with the capacity
of the machine, a job page shows its log growing live and its state turning final, and its
Cancel button stops a sleeping job."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from server_process import SeedbedServer

from .conftest import Tab, open_tab

pytestmark = pytest.mark.browser

SLEEPER = "import time\nprint('asleep', flush=True)\ntime.sleep(120)\n"
TICKER = "import time\nfor i in range(15):\n    print('line', i)\n    time.sleep(0.3)\n"


@pytest.fixture(scope="module")
def jobs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    """A server of its own: these jobs stay out of the demo workspace."""
    with SeedbedServer(tmp_path_factory.mktemp("jobs-browser") / "ws") as server:
        yield server


@pytest.fixture(scope="module")
def api(jobs_server: SeedbedServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=jobs_server.url,
        headers={"authorization": f"Bearer {jobs_server.token}"},
        timeout=30,
    ) as client:
        yield client


@pytest.fixture
def jobs_tab(chromium: Browser, jobs_server: SeedbedServer) -> Iterator[Tab]:
    with open_tab(chromium, jobs_server.url) as opened:
        opened.page.goto(jobs_server.login_url)
        yield opened


def submit(api: httpx.Client, filename: str, source: str) -> dict[str, Any]:
    made = api.post("/api/v1/jobs", json={"filename": filename, "content": source})
    made.raise_for_status()
    job: dict[str, Any] = made.json()["job"]
    return job


def until(api: httpx.Client, job_id: str, states: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job: dict[str, Any] = api.get(f"/api/v1/jobs/{job_id}").json()["job"]
        if job["status"] in states:
            return job
        time.sleep(0.1)
    pytest.fail(f"job {job_id} never reached {states}")


def test_the_jobs_page_lists_running_and_finished_jobs(
    jobs_tab: Tab, jobs_server: SeedbedServer, api: httpx.Client
) -> None:
    quick = submit(api, "quick.py", "print('done')\n")
    until(api, quick["id"], {"succeeded"})
    sleeper = submit(api, "sleeper.py", SLEEPER)
    until(api, sleeper["id"], {"running"})
    try:
        page = jobs_tab.page
        page.goto(f"{jobs_server.url}/ui/jobs")
        expect(page.get_by_role("heading", level=1)).to_have_text("Jobs")
        capacity = page.get_by_role("region", name="Capacity")
        expect(capacity).to_contain_text(re.compile(r"Backend\s+local[\s\S]*\b1 of \d+ CPUs"))
        expect(capacity).to_contain_text("1 running, 0 queued")

        live = page.locator("h2:has-text('Queued and running') + .table-wrap")
        running = live.locator("tr.job", has_text="sleeper.py")
        expect(running.locator(".badge")).to_have_text("running")
        expect(live).not_to_contain_text("quick.py")
        finished = page.locator("h2:has-text('Finished') + .table-wrap")
        done = finished.locator("tr.job", has_text="quick.py")
        expect(done.locator(".badge")).to_have_text("succeeded")
        expect(done.locator("td.num").last).to_have_text("0")  # its exit code
        expect(page.locator("table.profiles")).to_contain_text("small")
        jobs_tab.shot("jobs-01-list")

        done.get_by_role("link", name="quick.py").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("quick.py")
        expect(page.locator("#job-log")).to_have_text("done\n")
    finally:
        api.post(f"/api/v1/jobs/{sleeper['id']}/cancel")
    jobs_tab.watch.assert_clean()


def test_a_job_page_shows_its_log_live(
    jobs_tab: Tab, jobs_server: SeedbedServer, api: httpx.Client
) -> None:
    job = submit(api, "ticker.py", TICKER)
    page = jobs_tab.page
    page.goto(f"{jobs_server.url}/ui/jobs/{job['id']}")
    log, state = page.locator("#job-log"), page.locator("#job-state")
    # Part of the log while the job still runs, then more of it, without a reload.
    expect(log).to_contain_text("line 2")
    partial = log.text_content() or ""
    assert "line 14" not in partial
    expect(state).to_have_text("running")
    expect(log).to_contain_text("line 8")
    expect(state).to_have_text("succeeded", timeout=20_000)
    expect(state).to_have_class(re.compile(r"\bjob-succeeded\b"))
    expect(log).to_contain_text("line 14")
    lines = (log.text_content() or "").splitlines()
    assert lines == [f"line {i}" for i in range(15)]
    assert len(lines) > len(partial.splitlines())
    jobs_tab.shot("jobs-02-live-log")
    # Once it has ended the page reloads by itself: its exit code and CPU time, no Cancel.
    expect(page.locator("dt:has-text('Exit code') + dd")).to_have_text("0")
    expect(page.locator("dt:has-text('CPU time') + dd")).to_have_text(re.compile(r"^\d+\.\d\d s$"))
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(log).to_contain_text("line 14")
    jobs_tab.watch.assert_clean()


def test_the_cancel_button_stops_a_sleeping_job(
    jobs_tab: Tab, jobs_server: SeedbedServer, api: httpx.Client
) -> None:
    job = submit(api, "sleeper.py", SLEEPER)
    page = jobs_tab.page
    page.goto(f"{jobs_server.url}/ui/jobs/{job['id']}")
    expect(page.locator("#job-log")).to_contain_text("asleep")
    expect(page.locator("#job-state")).to_have_text("running")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#job-state")).to_have_text("cancelled", timeout=20_000)
    assert until(api, job["id"], {"cancelled"})["finished_at"] is not None
    expect(page.locator(".job-message")).to_have_text("Cancelled.")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    jobs_tab.watch.assert_clean()
