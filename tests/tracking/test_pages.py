"""The tracking pages as a user reads them: experiments list, runs table, compare view."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from seedbed.tracking.experiments import create_experiment
from seedbed.tracking.runs import LoggedMetric, end_run, log_batch, start_run
from seedbed.workspace import Workspace

RUNS = 120
START = 1_700_000_000_000


@dataclass
class Sweep:
    experiment_id: int
    ids: dict[str, str]  # run name -> id

    @property
    def url(self) -> str:
        return f"/ui/experiments/{self.experiment_id}"


def auc(n: int) -> float:
    """Distinct AUCs in no particular order of n, so sorting by it is a real test."""
    return round(0.5 + ((n * 37) % RUNS) / 1000, 4)


@pytest.fixture
def sweep(local_workspace: Workspace) -> Sweep:
    """120 runs: run-000 started first. `model` alternates lgbm/linear, `seed` is always 13,
    `auc` is distinct per run, `loss` has three steps."""
    experiment = create_experiment(local_workspace, "sweep", description="Which C is best?")
    ids = {}
    for n in range(RUNS):
        name = f"run-{n:03d}"
        run = start_run(
            local_workspace, experiment.id, name=name, start_time=START + n * 1000, user="ana"
        )
        log_batch(
            local_workspace,
            run.id,
            params={"model": "lgbm" if n % 2 else "linear", "C": n / 10, "seed": 13},
            metrics=[LoggedMetric("auc", auc(n))]
            + [LoggedMetric("loss", 1 / (n + step + 1), step) for step in range(3)],
            tags={"kind": "sweep"},
        )
        end_run(local_workspace, run.id)
        ids[name] = run.id
    return Sweep(experiment.id, ids)


@dataclass
class Page(HTMLParser):
    """What a user sees of the runs table: column headings (with their sort links) and rows."""

    headings: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # heading -> where a click goes
    rows: list[list[str]] = field(default_factory=list)
    _cell: list[str] | None = None
    _heading: str | None = None

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "th" and "data-column" in found:
            self._heading = found["data-column"]
            self.headings.append(self._heading or "")
        elif tag == "a" and self._heading and found.get("href"):
            self.links[self._heading] = found["href"] or ""
        elif tag == "tr" and "data-run" in found:
            self.rows.append([])
        elif tag == "td" and self.rows is not None and self._in_body:
            self._cell = []

    @property
    def _in_body(self) -> bool:
        return bool(self.rows)

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self._heading = None
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def column(self, name: str) -> list[str]:
        index = self.headings.index(name) + 1  # the first cell is the row's checkbox
        return [row[index] for row in self.rows]

    @property
    def names(self) -> list[str]:
        return self.column("attributes.run_name")


def read(client: TestClient, url: str, status: int = 200) -> tuple[Page, str]:
    answer = client.get(url)
    assert answer.status_code == status, answer.text[:500]
    page = Page()
    page.feed(answer.text)
    return page, answer.text


def pager_link(html: str, rel: str) -> str:
    """Where the page's Next or Previous link goes."""
    found = re.search(rf'href="([^"]+)"[^>]*rel="{rel}"', html)
    assert found, f"no {rel} link"
    return unescape(found.group(1))


def test_experiments_list_shows_counts_last_run_and_description(
    client: TestClient, sweep: Sweep
) -> None:
    _, html = read(client, "/ui/experiments")
    row = re.search(r"<tr><td><a href=\"/ui/experiments/\d+\">sweep</a>.*?</tr>", html, re.S)
    assert row is not None
    assert "Which C is best?" in row.group(0)
    assert ">120<" in row.group(0)
    assert "2023-11-14 22:15:19 UTC" in row.group(0)  # run-119 started last


def test_runs_table_default_is_newest_first_with_metrics_and_params(
    client: TestClient, sweep: Sweep
) -> None:
    page, html = read(client, sweep.url)
    assert page.names[:3] == ["run-119", "run-118", "run-117"]
    assert len(page.rows) == 50
    assert page.headings[4:] == ["metrics.auc", "metrics.loss", "params.C", "params.model",
                                 "params.seed"]  # fmt: skip
    assert page.column("params.model")[:2] == ["lgbm", "linear"]
    assert "Runs 1\N{EN DASH}50 of 120." in html
    assert '<p class="subtitle">120 runs · Which C is best?</p>' in html


def test_clicking_a_heading_sorts_and_a_second_click_flips(
    client: TestClient, sweep: Sweep
) -> None:
    page, _ = read(client, sweep.url)
    by_auc, _ = read(client, page.links["metrics.auc"])
    ranked = sorted(range(RUNS), key=lambda n: -auc(n))
    assert by_auc.names[:5] == [f"run-{n:03d}" for n in ranked[:5]]
    assert [float(v) for v in by_auc.column("metrics.auc")] == sorted(
        (float(v) for v in by_auc.column("metrics.auc")), reverse=True
    )
    flipped, _ = read(client, by_auc.links["metrics.auc"])
    assert flipped.names[:5] == [f"run-{n:03d}" for n in ranked[::-1][:5]]
    by_name, _ = read(client, flipped.links["attributes.run_name"])
    assert by_name.names[:3] == ["run-000", "run-001", "run-002"]


def test_sorting_by_a_param_compares_its_text(client: TestClient, sweep: Sweep) -> None:
    page, _ = read(client, f"{sweep.url}?sort=params.model+desc&page_size=100")
    assert set(page.column("params.model")[:60]) == {"linear"}


def test_filter_keeps_matching_runs_and_counts_them(client: TestClient, sweep: Sweep) -> None:
    query = "params.model = 'lgbm' and (metrics.auc > 0.6 or attributes.run_name = 'run-001')"
    page, html = read(client, f"{sweep.url}?filter={query}&page_size=100")
    expected = {f"run-{n:03d}" for n in range(RUNS) if n % 2 and (auc(n) > 0.6 or n == 1)}
    assert set(page.names) == expected and len(page.rows) == len(expected)
    assert f"of {len(expected)} matching the filter" in html
    assert 'value="params.model = &#39;lgbm&#39; and' in html  # the box keeps the filter


def test_paging_walks_forward_and_back(client: TestClient, sweep: Sweep) -> None:
    _, html = read(client, sweep.url)
    second, html = read(client, pager_link(html, "next"))
    assert second.names[0] == "run-069" and len(second.rows) == 50
    assert "Runs 51\N{EN DASH}100 of 120." in html
    third, html = read(client, pager_link(html, "next"))
    assert third.names[-1] == "run-000" and len(third.rows) == 20
    assert 'rel="next"' not in html
    back, _ = read(client, pager_link(html, "prev"))
    assert back.names == second.names
    bigger, _ = read(client, f"{sweep.url}?page_size=500")
    assert len(bigger.rows) == RUNS


def test_a_malformed_filter_shows_its_position_on_the_runs_page(
    client: TestClient, sweep: Sweep
) -> None:
    page, html = read(client, f"{sweep.url}?filter=metrics.auc > 0.6 and", status=400)
    assert "filter error at position 22: expected a key" in html
    assert "<h1>sweep</h1>" in html and 'id="runs-filter"' in html  # the page, not an error page
    assert page.rows == []


def test_htmx_gets_the_table_alone_with_the_new_sort(client: TestClient, sweep: Sweep) -> None:
    answer = client.get(
        f"{sweep.url}?sort=metrics.auc+asc",
        headers={"HX-Request": "true", "HX-Target": "runs-table"},
    )
    assert answer.status_code == 200
    assert "<html" not in answer.text and "<tr data-run" in answer.text
    assert 'id="runs-sort" value="metrics.auc asc" hx-swap-oob="true"' in answer.text
    broken = client.get(
        f"{sweep.url}?filter=params.model ~ 'x'",
        headers={"HX-Request": "true", "HX-Target": "runs-table"},
    )
    assert broken.status_code == 400 and "position 14" in broken.text and "<html" not in broken.text


def test_differences_only_hides_columns_identical_across_the_page(
    client: TestClient, sweep: Sweep
) -> None:
    page, _ = read(client, sweep.url)
    assert "params.seed" in page.headings and "params.model" in page.headings
    only, html = read(client, f"{sweep.url}?diff=1")
    assert "params.seed" not in only.headings and "params.model" in only.headings
    assert "1 column hidden, the same in every run shown: seed." in html
    # On a page of lgbm runs only, `model` is the same everywhere too.
    lgbm, _ = read(client, f"{sweep.url}?diff=1&filter=params.model = 'lgbm'")
    assert "params.model" not in lgbm.headings and "metrics.auc" in lgbm.headings


def test_column_chooser_choice_shows_only_those_columns(client: TestClient, sweep: Sweep) -> None:
    page, html = read(client, f"{sweep.url}?chosen=1&col=params.model&col=tags.kind")
    assert page.headings[4:] == ["params.model", "tags.kind"]
    assert page.column("tags.kind")[0] == "sweep"
    assert 'value="params.model" checked' in html and 'value="metrics.auc">' in html
    # Sorting keeps the choice.
    sorted_page, _ = read(client, page.links["params.model"])
    assert sorted_page.headings[4:] == ["params.model", "tags.kind"]


def test_unknown_experiment_is_a_404_page(client: TestClient) -> None:
    answer = client.get("/ui/experiments/999")
    assert answer.status_code == 404


def test_compare_shows_param_differences_and_best_metrics(
    client: TestClient, local_workspace: Workspace, sweep: Sweep
) -> None:
    other = create_experiment(local_workspace, "elsewhere")
    outside = start_run(local_workspace, other.id, name="outsider")
    log_batch(local_workspace, outside.id, params={"model": "tree", "seed": 13})
    ids = [sweep.ids["run-001"], sweep.ids["run-002"], outside.id]
    answer = client.get(f"/ui/compare?runs={','.join(ids)}")
    assert answer.status_code == 200
    html = answer.text
    assert "Compare 3 runs" in html and "elsewhere" in html and "sweep" in html
    model_row = re.search(r'<tr class="param differs">\s*<th[^>]*>model</th>.*?</tr>', html, re.S)
    assert model_row and "tree" in model_row.group(0)
    assert re.search(r'<tr class="param same">\s*<th[^>]*>seed</th>', html)
    # auc(2) > auc(1): the best AUC is run-002's; loss is lower-is-better: run-002 again.
    auc_row = re.search(r"<th[^>]*>auc.*?</tr>", html, re.S).group(0)  # type: ignore[union-attr]
    assert re.findall(r'<td class="num( best)?"', auc_row)[:2] == ["", " best"]
    assert "curves" in html and '"loss"' in html  # loss has three steps: it gets a chart


def test_compare_names_unknown_runs_in_a_404(client: TestClient, sweep: Sweep) -> None:
    answer = client.get(f"/ui/compare?runs={sweep.ids['run-001']},nope1,nope2")
    assert answer.status_code == 404
    assert "No run has the ids nope1, nope2." in answer.text


def test_compare_needs_two_runs(client: TestClient, sweep: Sweep) -> None:
    answer = client.get(f"/ui/compare?runs={sweep.ids['run-001']}")
    assert answer.status_code == 400
    assert "Comparing needs at least 2 runs, and 1 was given." in answer.text
    repeated = client.get(f"/ui/compare?runs={sweep.ids['run-001']}&runs={sweep.ids['run-002']}")
    assert repeated.status_code == 200  # a plain form sends runs=a&runs=b


def test_demo_experiment_page_and_compare(demo_client: TestClient) -> None:
    [experiment] = demo_client.get("/api/v1/experiments").json()
    page, _ = read(demo_client, f"/ui/experiments/{experiment['id']}")
    assert set(page.names) == {"business-rule", "gradient-boosting", "gradient-boosting-features"}
    ids = [r["id"] for r in demo_client.get(f"/api/v1/experiments/{experiment['id']}/runs").json()]
    answer = demo_client.get(f"/ui/compare?runs={','.join(ids)}")
    assert answer.status_code == 200 and "roc_auc" in answer.text
