import math

import pytest

from seedbed.errors import Invalid
from seedbed.tracking import runs
from seedbed.tracking.experiments import create_experiment
from seedbed.tracking.history import chart_history, downsample
from seedbed.tracking.runs import MetricPoint


def series(values: list[float]) -> list[MetricPoint]:
    return [MetricPoint(value=v, step=i, timestamp=i) for i, v in enumerate(values)]


def test_short_series_come_back_whole() -> None:
    points = series([1.0, 2.0, 3.0])
    assert downsample(points, 100) == points


def test_long_series_keep_their_extremes_and_ends() -> None:
    values = [math.sin(i / 500) for i in range(100_000)]
    values[31_337] = 50.0  # one spike
    values[77_001] = -50.0  # one dip
    kept = downsample(series(values), 1000)
    assert len(kept) <= 1000
    steps = [p.step for p in kept]
    assert steps == sorted(steps)
    assert {0, 99_999, 31_337, 77_001} <= set(steps)


def test_non_finite_values_survive() -> None:
    values = [float(i) for i in range(1000)]
    values[500] = math.nan
    kept = downsample(series(values), 20)
    assert len(kept) <= 20
    values = [math.nan] * 1000
    assert 2 <= len(downsample(series(values), 20)) <= 20


def test_too_few_points_asked_is_invalid() -> None:
    with pytest.raises(Invalid, match="at least 10"):
        downsample(series([1.0] * 100), 2)


def test_chart_history_from_the_store(workspace) -> None:
    experiment = create_experiment(workspace, "charts")
    run = runs.start_run(workspace, experiment.id, "r", "u")
    for step in range(300):
        runs.log_metrics(workspace, run.id, {"loss": 1 / (step + 1)}, step=step)
    assert len(chart_history(workspace, run.id, "loss")) == 300
    sampled = chart_history(workspace, run.id, "loss", max_points=40)
    assert 10 <= len(sampled) <= 40
    assert sampled[0].step == 0 and sampled[-1].step == 299


def test_api_samples_on_request(client) -> None:
    run_id = client.post("/api/v1/runs", json={"experiment": "api-charts"}).json()["id"]
    for step in range(50):
        client.post(f"/api/v1/runs/{run_id}/metrics", json={"metrics": {"m": step}, "step": step})
    assert len(client.get(f"/api/v1/runs/{run_id}/metrics/m").json()) == 50
    sampled = client.get(f"/api/v1/runs/{run_id}/metrics/m", params={"max_points": 12}).json()
    assert len(sampled) <= 12 and sampled[-1]["step"] == 49
    bad = client.get(f"/api/v1/runs/{run_id}/metrics/m", params={"max_points": 1})
    assert bad.status_code == 400 and "at least 10" in bad.json()["error"]["message"]


def test_metric_keys_with_slashes_are_reachable(client) -> None:
    run_id = client.post("/api/v1/runs", json={"experiment": "slashes"}).json()["id"]
    for step in range(3):
        client.post(
            f"/api/v1/runs/{run_id}/metrics", json={"metrics": {"train/loss": step}, "step": step}
        )
    points = client.get(f"/api/v1/runs/{run_id}/metrics/train/loss").json()
    assert [p["step"] for p in points] == [0, 1, 2]
