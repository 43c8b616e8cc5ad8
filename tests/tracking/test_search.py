from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seedbed.data import datasets as data_datasets
from seedbed.errors import Invalid
from seedbed.tracking import inputs, runs
from seedbed.tracking.experiments import create_experiment
from seedbed.tracking.inputs import DatasetInput
from seedbed.tracking.search import CONTEXT_TAG, MAX_RESULTS, encode_page_token, search_runs
from seedbed.tracking.tables import latest_metrics, run_params, run_tags
from seedbed.tracking.tables import runs as runs_table
from seedbed.workspace import Workspace


@dataclass
class Fixture:
    experiment_id: int
    other_experiment_id: int
    ids: dict[str, str]  # run name -> run id


def add_run(
    workspace: Workspace,
    experiment_id: int,
    name: str,
    start_time: int,
    user: str = "ada",
    status: str = "RUNNING",
    params: dict[str, str] | None = None,
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
) -> str:
    """A run made through the service, with a chosen start time to fix the order."""
    run = runs.start_run(
        workspace, experiment_id, name=name, user=user, tags=tags, start_time=start_time
    )
    if params:
        runs.log_params(workspace, run.id, params)
    if metrics:
        runs.log_metrics(workspace, run.id, metrics, step=1)
    if status != "RUNNING":
        runs.end_run(workspace, run.id, status)
    return run.id


# name: start time, user, status, params, latest metrics, tags
RUNS: dict[str, tuple[int, str, str, dict[str, str], dict[str, float], dict[str, str]]] = {
    "alpha": (1000, "ada", "FINISHED", {"model": "LGBM", "alpha": "0.1", "note": "baseXline"},
              {"auc": 0.9, "loss": 0.3}, {"stage": "prod"}),
    "beta": (2000, "bob", "FINISHED", {"model": "lgbm", "alpha": "0.5", "pattern": "aXbY[c]"},
             {"auc": 0.7}, {"stage": "Prod", "note": "x"}),
    "gamma": (3000, "ada", "FAILED", {"model": "logreg", "note": "base_line", "pattern": "a*b?[c]"},
              {"auc": 0.8, "loss": 0.5}, {}),
    "delta": (4000, "cy", "RUNNING", {"model": "baseline_v1"}, {}, {"stage": "dev"}),
}  # fmt: skip


@pytest.fixture
def fx(workspace: Workspace) -> Fixture:
    experiment = create_experiment(workspace, "search").id
    other = create_experiment(workspace, "other").id
    ids = {name: add_run(workspace, experiment, name, *spec) for name, spec in RUNS.items()}
    ids["omega"] = add_run(workspace, other, "omega", 5000, metrics={"auc": 0.99})
    # alpha's loss was high at step 0; the filter must see only its latest value (0.3).
    runs.log_metrics(workspace, ids["alpha"], {"loss": 0.95}, step=0)
    return Fixture(experiment, other, ids)


def names(
    workspace: Workspace,
    fx: Fixture,
    filter_string: str = "",
    order_by: list[str] | None = None,
    run_view_type: str = "ACTIVE_ONLY",
) -> list[str]:
    """The names of the fixture's runs that a search finds, in order."""
    by_id = {run_id: name for name, run_id in fx.ids.items()}
    found, token = search_runs(
        workspace, [fx.experiment_id], filter_string, run_view_type, order_by=order_by
    )
    assert token is None
    return [by_id[run.id] for run in found]


def test_no_filter_lists_newest_first_with_values(workspace: Workspace, fx: Fixture) -> None:
    found, token = search_runs(workspace, [fx.experiment_id])
    assert token is None
    assert [run.name for run in found] == ["delta", "gamma", "beta", "alpha"]
    alpha = found[-1]
    assert alpha.params == {"model": "LGBM", "alpha": "0.1", "note": "baseXline"}
    assert alpha.metrics == {"auc": 0.9, "loss": 0.3}
    assert alpha.tags == {"stage": "prod"}
    assert (alpha.status, alpha.user, alpha.start_time) == ("FINISHED", "ada", 1000)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.auc >= 0.8", ["gamma", "alpha"]),
        ("metrics.auc > 0.8", ["alpha"]),
        ("metrics.auc < 0.8", ["beta"]),
        ("metrics.auc <= 0.8", ["gamma", "beta"]),
        ("metrics.auc = 0.7", ["beta"]),
        ("metrics.auc != 0.7", ["gamma", "alpha"]),  # runs without the metric never match
        ("metrics.loss > 0.4", ["gamma"]),  # alpha's older 0.95 is not its latest value
        ("metrics.`auc` > 0.85", ["alpha"]),
    ],
)
def test_metric_filters_use_the_latest_value(
    workspace: Workspace, fx: Fixture, filter_string: str, expected: list[str]
) -> None:
    assert names(workspace, fx, filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.model = 'lgbm'", ["beta"]),
        ("params.model != 'lgbm'", ["delta", "gamma", "alpha"]),
        ("params.model LIKE 'l%'", ["gamma", "beta"]),
        ("params.model LIKE 'LG%'", ["alpha"]),
        ("params.model ILIKE 'lg%'", ["beta", "alpha"]),
        ("params.model ILIKE '%BM'", ["beta", "alpha"]),
        ("params.model LIKE 'baseline_v_'", ["delta"]),
        ("params.note LIKE 'base_line'", ["gamma", "alpha"]),
        ("params.note LIKE 'base\\_line'", ["gamma"]),
        ("params.pattern LIKE 'a*b?[c]'", ["gamma"]),  # GLOB's own wildcards are literal
        ("params.pattern LIKE 'a_b_[c]'", ["gamma", "beta"]),
        ("params.pattern ILIKE 'A*B?[C]'", ["gamma"]),
        ("params.alpha IS NOT NULL", ["beta", "alpha"]),
        ("params.alpha IS NULL", ["delta", "gamma"]),
        ("tags.stage = 'prod'", ["alpha"]),
        ("tags.stage != 'prod'", ["delta", "beta"]),
        ("tags.stage LIKE 'prod'", ["alpha"]),
        ("tags.stage ILIKE 'PROD'", ["beta", "alpha"]),
        ("tags.stage IS NULL", ["gamma"]),
        ("tags.`mlflow.missing` IS NULL", ["delta", "gamma", "beta", "alpha"]),
    ],
)
def test_param_and_tag_filters(
    workspace: Workspace, fx: Fixture, filter_string: str, expected: list[str]
) -> None:
    assert names(workspace, fx, filter_string) == expected


def test_attribute_filters(workspace: Workspace, fx: Fixture) -> None:
    alpha, gamma = fx.ids["alpha"], fx.ids["gamma"]
    assert names(workspace, fx, "attributes.status = 'FINISHED'") == ["beta", "alpha"]
    assert names(workspace, fx, "status IN ('FAILED', 'RUNNING')") == ["delta", "gamma"]
    assert names(workspace, fx, f"attributes.run_id IN ('{alpha}', '{gamma}')") == [
        "gamma",
        "alpha",
    ]
    assert names(workspace, fx, f"run.run_id NOT IN ('{alpha}')") == ["delta", "gamma", "beta"]
    assert names(workspace, fx, f"attributes.run_id = '{gamma}'") == ["gamma"]
    assert names(workspace, fx, "attributes.run_name LIKE '%a'") == [
        "delta",
        "gamma",
        "beta",
        "alpha",
    ]
    assert names(workspace, fx, "attributes.`Run Name` ILIKE 'B%'") == ["beta"]
    assert names(workspace, fx, "attributes.user_id = 'ada'") == ["gamma", "alpha"]
    assert names(workspace, fx, "attributes.start_time > 1500 AND created <= 3000") == [
        "gamma",
        "beta",
    ]
    assert names(workspace, fx, "attributes.start_time < 2000.5") == ["beta", "alpha"]
    # A running run has no end time, so no end-time comparison matches it.
    assert names(workspace, fx, "attributes.end_time > 0") == ["gamma", "beta", "alpha"]
    assert names(workspace, fx, "attributes.end_time != 0") == ["gamma", "beta", "alpha"]
    assert names(workspace, fx, f"attributes.artifact_uri LIKE '%{alpha}%'") == ["alpha"]


def test_or_and_parentheses(workspace: Workspace, fx: Fixture) -> None:
    assert names(workspace, fx, "params.model = 'logreg' OR tags.stage = 'dev'") == [
        "delta",
        "gamma",
    ]
    # AND binds tighter: dev OR (auc > 0.85 AND FAILED); the other grouping matches nothing.
    assert names(
        workspace, fx, "tags.stage = 'dev' OR metrics.auc > 0.85 AND status = 'FAILED'"
    ) == ["delta"]
    assert (
        names(workspace, fx, "(tags.stage = 'dev' OR metrics.auc > 0.85) AND status = 'FAILED'")
        == []
    )
    assert names(
        workspace,
        fx,
        "(metrics.auc > 0.85 OR tags.stage = 'dev') AND attributes.status != 'RUNNING'",
    ) == ["alpha"]
    assert names(
        workspace,
        fx,
        "(params.model ILIKE 'lgbm' AND tags.stage = 'Prod') OR (metrics.loss < 0.4 AND "
        "params.alpha = '0.1') OR status = 'FAILED'",
    ) == ["gamma", "beta", "alpha"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["metrics.loss ASC"], ["alpha", "gamma", "delta", "beta"]),
        (["metrics.loss DESC"], ["gamma", "alpha", "delta", "beta"]),
        (["params.alpha DESC"], ["beta", "alpha", "delta", "gamma"]),
        (["params.alpha"], ["alpha", "beta", "delta", "gamma"]),
        (["tags.note DESC"], ["beta", "delta", "gamma", "alpha"]),
        (["attributes.start_time ASC"], ["alpha", "beta", "gamma", "delta"]),
        (["attributes.run_name"], ["alpha", "beta", "delta", "gamma"]),
        (["attributes.end_time DESC"], ["gamma", "beta", "alpha", "delta"]),
        (["attributes.user_id", "metrics.auc DESC"], ["alpha", "gamma", "beta", "delta"]),
    ],
)
def test_order_by_puts_missing_values_last(
    workspace: Workspace, fx: Fixture, order_by: list[str], expected: list[str]
) -> None:
    assert names(workspace, fx, order_by=order_by) == expected


def test_filter_and_order_together(workspace: Workspace, fx: Fixture) -> None:
    assert names(workspace, fx, "metrics.auc > 0", order_by=["metrics.auc ASC"]) == [
        "beta",
        "gamma",
        "alpha",
    ]


def test_several_experiments(workspace: Workspace, fx: Fixture) -> None:
    both, _ = search_runs(
        workspace, [fx.experiment_id, fx.other_experiment_id], "metrics.auc > 0.85"
    )
    assert [run.name for run in both] == ["omega", "alpha"]
    other, _ = search_runs(workspace, [str(fx.other_experiment_id)])  # type: ignore[list-item]
    assert [run.name for run in other] == ["omega"]
    assert search_runs(workspace, []) == ([], None)
    assert search_runs(workspace, [987654]) == ([], None)
    with pytest.raises(Invalid, match="Experiment id 'x' is not a number"):
        search_runs(workspace, ["x"])  # type: ignore[list-item]


def test_run_view_type(workspace: Workspace, fx: Fixture) -> None:
    runs.delete_run(workspace, fx.ids["gamma"])
    assert names(workspace, fx) == ["delta", "beta", "alpha"]
    assert names(workspace, fx, run_view_type="DELETED_ONLY") == ["gamma"]
    deleted, _ = search_runs(workspace, [fx.experiment_id], run_view_type="DELETED_ONLY")
    assert deleted[0].lifecycle_stage == "deleted"
    assert names(workspace, fx, run_view_type="ALL") == ["delta", "gamma", "beta", "alpha"]
    assert names(workspace, fx, "metrics.auc > 0.75", run_view_type="ALL") == ["gamma", "alpha"]
    with pytest.raises(Invalid, match="run_view_type 'active' is unknown"):
        search_runs(workspace, [fx.experiment_id], run_view_type="active")


def test_dataset_filters(workspace: Workspace, fx: Fixture, tmp_path: Path) -> None:
    parquet = tmp_path / "flights.parquet"
    pq.write_table(pa.table({"delay": [1, 2, 3]}), parquet)
    version, _ = data_datasets.publish_parquet(workspace, "flights", parquet, "d1g35t", "upload")
    data_datasets.record_run_input(workspace, fx.ids["beta"], "flights", version.version)
    # Datasets an MLflow client declared with log_input count as well.
    declared = {
        "gamma": DatasetInput("taxi", "abc123", tags={CONTEXT_TAG: "training"}),
        "delta": DatasetInput("flights", "f00", tags={CONTEXT_TAG: "eval"}),
    }
    for name, declared_input in declared.items():
        inputs.log_dataset_inputs(workspace, fx.ids[name], [declared_input])
    assert names(workspace, fx, "datasets.name = 'flights'") == ["delta", "beta"]
    assert names(workspace, fx, "dataset.name ILIKE 'FL%' OR metrics.auc > 0.85") == [
        "delta",
        "beta",
        "alpha",
    ]
    assert names(workspace, fx, "datasets.digest IN ('d1g35t', 'abc123')") == ["gamma", "beta"]
    assert names(workspace, fx, "datasets.digest = 'D1G35T'") == []
    assert names(workspace, fx, "datasets.context = 'training'") == ["gamma"]
    assert names(workspace, fx, "datasets.context LIKE 'e%'") == ["delta"]
    # Any input with another context; beta's seedbed dataset has no context at all.
    assert names(workspace, fx, "datasets.context != 'training'") == ["delta"]
    assert names(workspace, fx, "datasets.context NOT IN ('eval')") == ["gamma"]


def test_nan_metrics_match_only_not_equal_and_sort_after_numbers(workspace: Workspace) -> None:
    experiment = create_experiment(workspace, "nan").id
    ids = {
        name: add_run(workspace, experiment, name, start, metrics=metrics)
        for name, start, metrics in [
            ("low", 1, {"loss": 0.2}),
            ("nan", 2, {"loss": math.nan}),
            ("none", 3, {}),
            ("high", 4, {"loss": 0.7}),
        ]
    }
    fx = Fixture(experiment, experiment, ids)
    assert names(workspace, fx, "metrics.loss != 0.5") == ["high", "nan", "low"]
    assert names(workspace, fx, "metrics.loss < 1") == ["high", "low"]
    assert names(workspace, fx, "metrics.loss = 0 OR metrics.loss <= 0") == []
    assert names(workspace, fx, order_by=["metrics.loss"]) == ["low", "high", "nan", "none"]
    assert names(workspace, fx, order_by=["metrics.loss DESC"]) == ["high", "low", "nan", "none"]
    found, _ = search_runs(workspace, [experiment], "attributes.run_name = 'nan'")
    assert math.isnan(found[0].metrics["loss"])


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "bm90IGpzb24=",  # "not json"
        base64.b64encode(json.dumps({"page": 3}).encode()).decode(),
        base64.b64encode(json.dumps({"offset": -1}).encode()).decode(),
        base64.b64encode(json.dumps({"offset": "5"}).encode()).decode(),
        base64.b64encode(json.dumps([5]).encode()).decode(),
        "ünïcode",
    ],
)
def test_bad_page_token(workspace: Workspace, token: str) -> None:
    with pytest.raises(Invalid, match=r"page_token .* is not one this server issued"):
        search_runs(workspace, [1], page_token=token)


def test_page_token_past_the_end_gives_an_empty_page(workspace: Workspace, fx: Fixture) -> None:
    page, token = search_runs(workspace, [fx.experiment_id], page_token=encode_page_token(10))
    assert (page, token) == ([], None)


@pytest.mark.parametrize("max_results", [0, -1, MAX_RESULTS + 1, True, 2.5, "10"])
def test_bad_max_results(workspace: Workspace, max_results: object) -> None:
    with pytest.raises(Invalid, match="max_results must be"):
        search_runs(workspace, [1], max_results=max_results)  # type: ignore[arg-type]


def test_bad_filter_and_order_by_are_invalid(workspace: Workspace, fx: Fixture) -> None:
    with pytest.raises(Invalid, match="filter error at position 13: expected a comparator"):
        search_runs(workspace, [fx.experiment_id], "metrics.auc 0.5")
    with pytest.raises(Invalid, match="order_by error"):
        search_runs(workspace, [fx.experiment_id], order_by=["metrics.auc sideways"])
    found, _ = search_runs(workspace, [fx.experiment_id], max_results=MAX_RESULTS)
    assert len(found) == 4


@dataclass
class BulkRun:
    id: str
    start_time: int
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def bulk_insert(workspace: Workspace, experiment_id: int, made: list[BulkRun]) -> None:
    """Runs with their params, latest metrics and tags in four bulk inserts, not calls per run."""
    with workspace.engine.begin() as connection:
        connection.execute(
            runs_table.insert(),
            [
                {
                    "id": run.id,
                    "experiment_id": experiment_id,
                    "name": f"run-{run.id[-6:]}",
                    "user": "ada",
                    "status": "FINISHED",
                    "start_time": run.start_time,
                    "end_time": None,
                    "lifecycle_stage": "active",
                    "artifact_uri": f"file:///a/{run.id}",
                }
                for run in made
            ],
        )
        for table, attribute in ((run_params, "params"), (run_tags, "tags"), (latest_metrics, "")):
            extra = {"step": 0, "timestamp": 0} if table is latest_metrics else {}
            rows = [
                {"run_id": run.id, "key": key, "value": value, **extra}
                for run in made
                for key, value in getattr(run, attribute or "metrics").items()
            ]
            if rows:
                connection.execute(table.insert(), rows)


def test_paging_has_no_duplicates_or_gaps(workspace: Workspace) -> None:
    experiment = create_experiment(workspace, "pages").id
    # Ties in start time and in the metric, so only the run id decides some positions.
    made = [
        BulkRun(f"{i:032x}", 1000 + i // 4, metrics={"auc": (i % 5) / 5} if i % 3 else {})
        for i in range(23)
    ]
    bulk_insert(workspace, experiment, made)
    for order_by in (None, ["metrics.auc DESC"], ["metrics.auc", "attributes.start_time DESC"]):
        everything, token = search_runs(workspace, [experiment], order_by=order_by)
        assert token is None and len(everything) == 23
        sizes, seen = [], []
        while True:
            page, token = search_runs(
                workspace, [experiment], max_results=5, order_by=order_by, page_token=token
            )
            sizes.append(len(page))
            seen.extend(run.id for run in page)
            if token is None:
                break
        assert sizes == [5, 5, 5, 5, 3]
        assert seen == [run.id for run in everything]
    full, token = search_runs(workspace, [experiment], max_results=23)
    assert len(full) == 23 and token is None  # an exactly full page needs no next page


def many_runs(count: int) -> list[BulkRun]:
    """`count` runs, each with 10 params, 5 latest metrics and 3 tags."""
    return [
        BulkRun(
            f"{i:032x}",
            1_000_000 + (i * 7919) % count,
            params={f"p{k}": f"v{(i * (k + 3)) % 13}" for k in range(10)},
            metrics={f"m{k}": ((i * (k + 7)) % 1000) / 1000 for k in range(5)},
            tags={"t0": f"group-{i % 7}", "t1": "odd" if i % 2 else "even", "t2": f"T{i % 3}"},
        )
        for i in range(count)
    ]


def test_filtered_search_over_ten_thousand_runs(workspace: Workspace) -> None:
    experiment = create_experiment(workspace, "many").id
    made = many_runs(10_000)
    bulk_insert(workspace, experiment, made)

    def matches(run: BulkRun) -> bool:
        m, p, t = run.metrics, run.params, run.tags
        return (m["m0"] > 0.9 and p["p3"] == "v7") or (t["t0"] == "group-3" and m["m4"] < 0.05)

    expected = sorted(filter(matches, made), key=lambda run: (-run.start_time, run.id))
    query = "metrics.m0 > 0.9 AND params.p3 = 'v7' OR (tags.t0 = 'group-3' AND metrics.m4 < 0.05)"
    found, token = search_runs(workspace, [experiment], query, max_results=100)
    assert 100 < len(expected) < 200 and token is not None
    rest, token = search_runs(workspace, [experiment], query, max_results=100, page_token=token)
    assert token is None
    assert [run.id for run in found + rest] == [run.id for run in expected]
    assert (found[0].params, found[0].metrics, found[0].tags) == (
        expected[0].params,
        expected[0].metrics,
        expected[0].tags,
    )
    top, _ = search_runs(
        workspace, [experiment], "tags.t1 = 'odd'", max_results=3, order_by=["metrics.m1 DESC"]
    )
    odd = [run for run in made if run.tags["t1"] == "odd"]
    best = sorted(odd, key=lambda run: (-run.metrics["m1"], -run.start_time, run.id))
    assert [run.id for run in top] == [run.id for run in best[:3]]
