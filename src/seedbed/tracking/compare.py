"""Run comparison: params side by side, the best value of each metric, and plot data.

Runs may come from different experiments. Metric curves are drawn by the browser from
the downsampled history endpoint; this module says which metrics have a curve at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from seedbed.errors import Invalid, NotFound
from seedbed.tracking.experiments import Experiment, get_experiment
from seedbed.tracking.runs import Run, get_run
from seedbed.tracking.tables import metrics as metric_points
from seedbed.workspace import Workspace

MIN_RUNS = 2
MAX_RUNS = 50
# Metrics whose names say that lower is better; every other metric is better higher.
_LOWER_IS_BETTER = re.compile(
    r"loss|error|err$|^err|rmse|mse|mae|mape|brier|perplexity|latency|duration|time",
    re.IGNORECASE,
)


def parse_run_ids(values: Iterable[str]) -> list[str]:
    """Run ids from `runs=a,b` and/or repeated `runs=a&runs=b`, in order, each once."""
    ids: list[str] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item and item not in ids:
                ids.append(item)
    return ids


def lower_is_better(key: str) -> bool:
    """Whether a metric named `key` improves downwards (a loss, an error, a time)."""
    return bool(_LOWER_IS_BETTER.search(key))


@dataclass(frozen=True)
class ParamRow:
    key: str
    values: list[str | None]

    @property
    def differs(self) -> bool:
        return len(set(self.values)) > 1


@dataclass(frozen=True)
class MetricRow:
    key: str
    values: list[float | None]
    lower_is_better: bool

    @property
    def best(self) -> set[int]:
        """Positions of the runs that hold the best value (all of them on a tie)."""
        finite = [v for v in self.values if v is not None and math.isfinite(v)]
        if len(finite) < 2 or len(set(finite)) < 2:
            return set()  # nothing to choose between
        target = min(finite) if self.lower_is_better else max(finite)
        return {i for i, v in enumerate(self.values) if v == target}


@dataclass
class Comparison:
    runs: list[Run]
    experiments: dict[int, Experiment]
    params: list[ParamRow] = field(default_factory=list)
    metrics: list[MetricRow] = field(default_factory=list)
    curve_keys: list[str] = field(default_factory=list)  # metrics with more than one point

    @property
    def differing_params(self) -> list[ParamRow]:
        return [row for row in self.params if row.differs]

    def plot_data(self) -> dict[str, Any]:
        """What compare.js draws: runs, metric curves to fetch, parallel coordinates."""
        return {
            "runs": [{"id": run.id, "name": run.name} for run in self.runs],
            "curves": self.curve_keys,
            "dimensions": parallel_dimensions(self.differing_params or self.params),
            "metrics": {row.key: [_json_number(v) for v in row.values] for row in self.metrics},
        }


def compare_runs(workspace: Workspace, run_ids: Sequence[str]) -> Comparison:
    """Compare 2 to MAX_RUNS runs; unknown ids are all named in one NotFound."""
    if len(run_ids) < MIN_RUNS:
        raise Invalid(
            f"Comparing needs at least {MIN_RUNS} runs, and {len(run_ids)} "
            f"{'was' if len(run_ids) == 1 else 'were'} given. Tick two or more runs in an "
            "experiment's runs table, then press Compare."
        )
    if len(run_ids) > MAX_RUNS:
        raise Invalid(f"Compare at most {MAX_RUNS} runs at a time, not {len(run_ids)}.")
    found: list[Run] = []
    missing: list[str] = []
    for run_id in run_ids:
        try:
            found.append(get_run(workspace, run_id))
        except NotFound:
            missing.append(run_id)
    if missing:
        raise NotFound(
            f"No run has the id{'s' if len(missing) > 1 else ''} {', '.join(missing)}. "
            "Check the link, or pick the runs again from an experiment's runs table."
        )
    experiments = {
        eid: get_experiment(workspace, eid) for eid in dict.fromkeys(r.experiment_id for r in found)
    }
    param_keys = sorted({key for run in found for key in run.params})
    metric_keys = sorted({key for run in found for key in run.metrics})
    return Comparison(
        runs=found,
        experiments=experiments,
        params=[ParamRow(k, [run.params.get(k) for run in found]) for k in param_keys],
        metrics=[
            MetricRow(k, [run.metrics.get(k) for run in found], lower_is_better(k))
            for k in metric_keys
        ],
        curve_keys=curve_keys(workspace, [run.id for run in found]),
    )


def curve_keys(workspace: Workspace, run_ids: Sequence[str]) -> list[str]:
    """Metric keys that some of the runs logged more than once (a curve, not a point)."""
    counts = (
        select(metric_points.c.key)
        .where(metric_points.c.run_id.in_(list(run_ids)))
        .group_by(metric_points.c.run_id, metric_points.c.key)
        .having(func.count() > 1)
    )
    with workspace.engine.connect() as connection:
        return sorted(set(connection.execute(counts).scalars()))


def parallel_dimensions(rows: Sequence[ParamRow]) -> list[dict[str, Any]]:
    """Plotly parcoords dimensions: a numeric axis where every value parses as a number,
    else a categorical one (values as positions, names as tick labels)."""
    dimensions = []
    for row in rows:
        numbers = [_number(v) for v in row.values]
        if all(n is not None for n in numbers):
            dimensions.append({"label": row.key, "values": numbers})
            continue
        labels = ["—" if v is None else v for v in row.values]
        categories = sorted(set(labels))
        dimensions.append(
            {
                "label": row.key,
                "values": [categories.index(label) for label in labels],
                "tickvals": list(range(len(categories))),
                "ticktext": [_short(c) for c in categories],
            }
        )
    return dimensions


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_number(value: float | None) -> float | None:
    # JSON has no NaN or infinity; the browser gets null (drawn as a gap) instead.
    return value if value is not None and math.isfinite(value) else None
