"""Runs-table benchmark: an experiment of 10,000 runs in the browser, seedbed against MLflow's UI.

Target (issue 4): the runs table page with 10k runs rendered in the browser within 1 s.

Both stores get the same 10,000 runs (10 params, 5 metrics, 2 tags each), written in bulk
straight into their SQLite databases (only reading is timed). Each server then runs alone,
and Debian's Chromium (headless, through Playwright) opens the experiment:

- seedbed: /ui/experiments/ID, timed from navigation to the first page of rows (50)
  painted; then a sort (a click on a metric heading) and a filter (typed, Enter), each
  timed in the page from the action to the swapped table settled and painted;
- MLflow: its own UI (`#/experiments/ID`), timed from navigation to the newest run's name
  on screen;
- and, for reference, the raw search API (`runs/search`, 100 runs) on both servers.

The first load of each is "cold" (nothing cached in the browser); the rest are medians of
REPEATS warm loads. Prints each figure and the ratios.
"""

from __future__ import annotations

import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import mlflow_installed, mlflow_server
from server_process import SeedbedServer

RUNS = 10_000
REPEATS = 5
PAGE_ROWS = 50
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
FILTERS = ("metrics.m0 > 0.9 and params.p3 = 'v7'", "params.model = 'lgbm' or metrics.m4 < 0.05")


@dataclass(frozen=True)
class FakeRun:
    id: str
    name: str
    start: int
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]


def fake_runs() -> Iterator[FakeRun]:
    """RUNS runs: 10 params (numbers and words), 5 metrics, 2 tags; run-09999 starts last."""
    rng = random.Random(13)
    now = int(time.time() * 1000) - RUNS * 1000
    for n in range(RUNS):
        params = {f"p{i}": f"v{(n + i) % 20}" for i in range(7)}
        params |= {"model": rng.choice(["lgbm", "linear", "forest"]), "C": f"{rng.random():.3f}"}
        params["max_depth"] = str(rng.randint(2, 12))
        yield FakeRun(
            id=uuid.uuid4().hex,
            name=f"run-{n:05d}",
            start=now + n * 1000,
            params=params,
            metrics={f"m{i}": rng.random() for i in range(5)},
            tags={"kind": "sweep", "group": f"g{n % 7}"},
        )


def seed_seedbed(workspace: Path, data: list[FakeRun]) -> int:
    """The runs inserted through seedbed's own tables; returns the experiment id."""
    from seedbed.settings import load_settings
    from seedbed.tracking.experiments import create_experiment
    from seedbed.tracking.tables import latest_metrics, metrics, run_params, run_tags, runs
    from seedbed.workspace import Workspace

    with Workspace.open(load_settings(workspace=workspace)) as ws:
        experiment = create_experiment(ws, "table-10k")
        with ws.engine.begin() as connection:
            connection.execute(
                runs.insert(),
                [
                    {
                        "id": r.id,
                        "experiment_id": experiment.id,
                        "name": r.name,
                        "user": "bench",
                        "status": "FINISHED",
                        "start_time": r.start,
                        "end_time": r.start + 500,
                        "lifecycle_stage": "active",
                        "artifact_uri": ws.artifacts.uri(f"runs/{r.id}/artifacts"),
                    }
                    for r in data
                ],
            )
            connection.execute(
                run_params.insert(),
                [{"run_id": r.id, "key": k, "value": v} for r in data for k, v in r.params.items()],
            )
            points = [
                {"run_id": r.id, "key": k, "value": v, "step": 0, "timestamp": r.start}
                for r in data
                for k, v in r.metrics.items()
            ]
            connection.execute(metrics.insert(), points)
            connection.execute(latest_metrics.insert(), points)
            connection.execute(
                run_tags.insert(),
                [{"run_id": r.id, "key": k, "value": v} for r in data for k, v in r.tags.items()],
            )
        return experiment.id


def seed_mlflow(database: Path, experiment_id: int, data: list[FakeRun]) -> None:
    """The same runs inserted into MLflow's SQLite schema (made by its server at start)."""
    connection = sqlite3.connect(database, timeout=60)
    with connection:
        connection.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
            "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
            "artifact_uri, experiment_id) VALUES (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', "
            "?, ?, '', 'active', '', ?)",
            [(r.id, r.name, r.start, r.start + 500, experiment_id) for r in data],
        )
        connection.executemany(
            "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
            [(k, v, r.id) for r in data for k, v in r.params.items()],
        )
        rows = [(k, v, r.start, r.id) for r in data for k, v in r.metrics.items()]
        connection.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?, ?, ?, ?, 0, 0)",
            rows,
        )
        connection.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES (?, ?, ?, 0, 0, ?)",
            rows,
        )
        connection.executemany(
            "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
            [(k, v, r.id) for r in data for k, v in (r.tags | {"mlflow.runName": r.name}).items()],
        )
    connection.close()


def painted(page: Page) -> None:
    """Wait for the next frame: what the DOM holds is then on screen."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)))")


def time_load(page: Page, url: str, ready: Callable[[Page], None]) -> float:
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    ready(page)
    painted(page)
    return time.perf_counter() - started


# Runs in the page: performs the action, waits for htmx to settle the new table and for
# the next frame, and answers the milliseconds that took.
ROUND_TRIP = """async (action) => {
  const started = performance.now();
  const settled = new Promise(done =>
    document.addEventListener("htmx:afterSettle", done, { once: true }));
  if (action.sort) document.querySelector(`th[data-column="${action.sort}"] a`).click();
  else {
    const form = document.getElementById("runs-form");
    form.elements.filter.value = action.filter;
    form.requestSubmit();
  }
  await settled;
  await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
  return performance.now() - started;
}"""


@dataclass
class Figures:
    cold: float  # seconds, nothing cached in the browser
    warm: list[float]  # seconds, REPEATS loads
    sort: list[float] = field(default_factory=list)
    filter: list[float] = field(default_factory=list)
    html: list[float] = field(default_factory=list)


def seedbed_figures(page: Page, server: SeedbedServer, experiment_id: int, rows: int) -> Figures:
    """Load, sort and filter the runs table showing `rows` runs a page."""
    page.goto(f"{server.url}/login?token={server.token}")
    url = f"{server.url}/ui/experiments/{experiment_id}?page_size={rows}"

    def table_ready(p: Page) -> None:
        p.wait_for_selector(f"table.runs tbody tr:nth-child({rows})", state="visible")

    figures = Figures(cold=time_load(page, url, table_ready), warm=[])
    figures.warm = [time_load(page, url, table_ready) for _ in range(REPEATS)]
    page.wait_for_load_state("load")
    # A click on the same heading sorts best first, then worst first, and so on.
    figures.sort = [
        page.evaluate(ROUND_TRIP, {"sort": "metrics.m0"}) / 1000 for _ in range(REPEATS)
    ]
    figures.filter = [
        page.evaluate(ROUND_TRIP, {"filter": FILTERS[i % 2]}) / 1000 for i in range(REPEATS)
    ]
    headers = {"authorization": f"Bearer {server.token}"}
    figures.html = [
        timed(lambda: httpx.get(url, headers=headers, timeout=30).raise_for_status())
        for _ in range(REPEATS)
    ]
    return figures


def mlflow_figures(page: Page, url: str, experiment_id: int) -> Figures:
    """Load MLflow's runs view of the experiment (it shows 100 runs a page)."""
    newest = f"run-{RUNS - 1:05d}"

    def runs_shown(p: Page) -> None:
        p.get_by_text(newest, exact=True).first.wait_for(state="visible", timeout=60_000)

    target = f"{url}/#/experiments/{experiment_id}/runs"
    figures = Figures(cold=time_load(page, target, runs_shown), warm=[])
    for _ in range(REPEATS):
        page.goto("about:blank")
        figures.warm.append(time_load(page, target, runs_shown))
    return figures


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def search_api(url: str, experiment_id: int, token: str | None = None) -> list[float]:
    """Seconds for `runs/search` (100 runs, newest first) over HTTP, REPEATS times."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body = {"experiment_ids": [str(experiment_id)], "max_results": 100}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        client.post("/api/2.0/mlflow/runs/search", json=body).raise_for_status()
        return [
            timed(lambda: client.post("/api/2.0/mlflow/runs/search", json=body).raise_for_status())
            for _ in range(REPEATS)
        ]


def ms(values: list[float] | float) -> str:
    if isinstance(values, float):
        return f"{values * 1000:.0f} ms"
    return (
        f"median {statistics.median(values) * 1000:.0f} ms ("
        + ", ".join(f"{v * 1000:.0f}" for v in values)
        + ")"
    )


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("Debian's Chromium is missing: `apt-get install chromium` provides it.")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    data = list(fake_runs())
    ours: dict[int, Figures] = {}
    theirs: Figures | None = None
    their_api: list[float] = []
    with tempfile.TemporaryDirectory() as name, sync_playwright() as playwright:
        folder = Path(name)
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        experiment_id = seed_seedbed(folder / "ws", data)
        with SeedbedServer(folder / "ws") as server:
            for rows in (50, 100):
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                ours[rows] = seedbed_figures(context.new_page(), server, experiment_id, rows)
                context.close()
            our_api = search_api(server.url, experiment_id, server.token)
        if mlflow_installed():
            from mlflow.tracking import MlflowClient

            (folder / "mlflow").mkdir()
            with mlflow_server(folder / "mlflow") as url:
                mlflow_id = int(MlflowClient(tracking_uri=url).create_experiment("table-10k"))
                seed_mlflow(folder / "mlflow" / "mlflow.db", mlflow_id, data)
                their_api = search_api(url, mlflow_id)
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                try:
                    theirs = mlflow_figures(context.new_page(), url, mlflow_id)
                except Exception as error:  # the UI may be missing or never show the runs
                    print(f"MLflow UI: no figure ({type(error).__name__}: {error})")
                context.close()
        browser.close()
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    print(f"runs: {RUNS:,} (10 params, 5 metrics, 2 tags each)")
    for rows, figures in ours.items():
        print(f"seedbed runs table, {rows} rows a page:")
        print(f"  cold load to rows painted: {ms(figures.cold)}")
        print(f"  warm load to rows painted: {ms(figures.warm)} (target < 1 s)")
        print(f"  page HTML alone (httpx): {ms(figures.html)}")
        print(f"  sort round trip (click to table painted): {ms(figures.sort)}")
        print(f"  filter round trip (Enter to table painted): {ms(figures.filter)}")
    print(f"runs/search, 100 runs: seedbed {ms(our_api)}")
    if their_api:
        ratio = statistics.median(their_api) / statistics.median(our_api)
        print(f"runs/search, 100 runs: mlflow {ms(their_api)}; ratio {ratio:.1f}x")
    if theirs is not None:
        print("mlflow UI (100 runs a page):")
        print(f"  cold load to newest run shown: {ms(theirs.cold)}")
        print(f"  warm load to newest run shown: {ms(theirs.warm)}")
        same = ours[100]
        print(
            f"ratio mlflow / seedbed at 100 rows: warm "
            f"{statistics.median(theirs.warm) / statistics.median(same.warm):.1f}x, "
            f"cold {theirs.cold / same.cold:.1f}x"
        )


if __name__ == "__main__":
    main()
