"""The demo's evaluation: "departure delayed more than 15 minutes" on the feature store's
`flight-features` dataset, three feature sets x three algorithms against the business rule.

The spec is written to the workspace as `evaluations/flight-delays.yaml`, so a user can edit
it and run it again with `seedbed evaluate evaluations/flight-delays.yaml --wait`. The demo
server launches it once, the first time it starts: the workspace's meta records the launch
(`demo_evaluation`: the evaluation's id) and later starts leave it be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from seedbed import db
from seedbed.auth.users import User, first_active_admin
from seedbed.compute.jobs import JobService
from seedbed.errors import SeedbedError
from seedbed.evaluation import sweep
from seedbed.evaluation.spec import EvaluationSpec, load_spec
from seedbed.workspace import Workspace

log = logging.getLogger(__name__)

LAUNCHED_KEY = "demo_evaluation"
FOLDER = "evaluations"
FILE = "flight-delays.yaml"
SPEC_YAML = """\
# The demo's evaluation: does a model beat the business rule at predicting delays?
# Edit it and run it again:  seedbed evaluate evaluations/flight-delays.yaml --wait
name: flight-delays
experiment: flight-delays-evaluation
dataset: flight-features        # every departed flight, features as of its scheduled departure
target: delayed                 # departure more than 15 minutes late
task: classification
split: {kind: time, column: scheduled_at, test_size: 0.2}   # test: the last 20% of flights
cv_folds: 5
feature_sets:
  schedule: [month, weekday, sched_hour, distance, carrier, origin]
  schedule_weather: [month, weekday, sched_hour, distance, carrier, origin,
                     temp, dewp, humid, wind_speed, precip, pressure, visib]
  schedule_weather_carrier: [month, weekday, sched_hour, distance, carrier, origin,
                             temp, dewp, humid, wind_speed, precip, pressure, visib,
                             carrier_delay_1d, carrier_delay_7d, carrier_delayed_share_7d,
                             carrier_departures_1d, route_delay_1d, route_delay_7d,
                             route_departures_7d, plane_age]
algorithms:
  - estimator: LogisticRegression
    params: {max_iter: 300}
  - estimator: HistGradientBoostingClassifier
    params: {max_iter: 100}
  - estimator: DecisionTreeClassifier
    params: {max_depth: 8, min_samples_leaf: 100}
baselines:
  - {kind: majority}
  - {kind: rule, name: evening, sql: "sched_hour >= 17"}   # what the business does today
metrics: [roc_auc, pr_auc, accuracy, f1, brier, cost]
primary_metric: roc_auc
cost_matrix: {false_positive: 1, false_negative: 5}   # a missed delay costs 5 false alarms
slices: [carrier, origin]
"""


def spec_data(max_rows: int | None = None) -> dict[str, Any]:
    """The demo's spec as a dict; `max_rows` samples the rows first (for quick tests)."""
    data: dict[str, Any] = yaml.safe_load(SPEC_YAML)
    if max_rows is not None:
        data["max_rows"] = max_rows
    return data


def spec_path(workspace: Workspace) -> Path:
    return workspace.root / FOLDER / FILE


def write_spec(workspace: Workspace) -> Path:
    """Write the spec to the workspace unless the file is there (a user may have edited it)."""
    path = spec_path(workspace)
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(SPEC_YAML, encoding="utf-8")
    return path


def launched(workspace: Workspace) -> str | None:
    """The id of the demo evaluation once launched, else None."""
    with workspace.engine.connect() as connection:
        return db.get_meta(connection, LAUNCHED_KEY)


def launch(
    workspace: Workspace,
    jobs: JobService,
    user: User | None = None,
    max_rows: int | None = None,
) -> str | None:
    """Start the demo evaluation unless it was launched before; its id when started now."""
    if launched(workspace) is not None:
        return None
    runner = user or first_active_admin(workspace)
    if runner is None:
        log.warning("No active admin to run the demo evaluation; it was not launched.")
        return None
    spec: EvaluationSpec = load_spec(write_spec(workspace))
    if max_rows is not None:
        spec = spec.model_copy(update={"max_rows": max_rows})
    evaluation = sweep.start(workspace, jobs, runner, spec)
    with workspace.engine.begin() as connection:
        db.set_meta(connection, LAUNCHED_KEY, evaluation.id)
    return evaluation.id


def launch_on_start(
    workspace: Workspace, jobs: JobService, say: Callable[[str], None] = log.info
) -> None:
    """The demo server's hook: launch once, and report (never raise) why it could not."""
    try:
        started = launch(workspace, jobs)
    except SeedbedError as exc:
        say(f"The demo evaluation was not launched: {exc}")
        return
    if started is not None:
        say(f"Launched the demo evaluation {started} ({FOLDER}/{FILE}); see /ui/evaluations.")
