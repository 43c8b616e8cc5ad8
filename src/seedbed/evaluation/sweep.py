"""Evaluations on the server: a parent run, worker jobs that evaluate its combinations, and
their state.

`start` checks that the spec's data exists before anything is made, opens the parent run
(tags `seedbed.kind=evaluation`, `seedbed.primary_metric`; artifact `evaluation/spec.json`),
then submits as many worker jobs as the executor can run at once (never more than there are
combinations). Each worker runs `evaluation/job.py --worker` with the spec file written into
its own work folder (the only folder a confined job may surely read): it asks the server for
the next combination (`claim`, slowest first), evaluates it as a child run of the parent run,
as the spec's module docstring says, and asks again until none is left. Process start,
imports and reading the data are so paid once per worker, not once per combination.

The evaluation's state is derived from its workers and child runs whenever it is read: a
combination is queued until claimed, then as its child run (or as its worker, when that ended
first); once every worker has ended the parent run is closed, FINISHED when all combinations
succeeded and FAILED otherwise.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from seedbed.auth import audit
from seedbed.auth.permissions import require
from seedbed.auth.users import User
from seedbed.compute import executor as states
from seedbed.compute.job_records import Job, Size
from seedbed.compute.jobs import JobService
from seedbed.data import datasets
from seedbed.db import now_ms
from seedbed.errors import Conflict, Invalid, NotFound, SeedbedError
from seedbed.evaluation.spec import Combination, EvaluationSpec, parse_spec, spec_json
from seedbed.evaluation.tables import evaluations
from seedbed.tracking.experiments import get_or_create_experiment
from seedbed.tracking.runs import end_run, runs_with_tag, start_run
from seedbed.workspace import Workspace

HERE = Path(__file__).parent
JOB_KIND = "evaluation"
SPEC_FILE = "evaluation.json"
RUNNING, SUCCEEDED, FAILED, CANCELLED = "running", "succeeded", "failed", "cancelled"
RUN_STATUS = {SUCCEEDED: "FINISHED", FAILED: "FAILED", CANCELLED: "KILLED"}


@dataclass
class CombinationJob:
    index: int
    kind: str  # model or baseline
    label: str
    job_id: str  # the worker job that claimed it; "" while queued
    status: str = states.QUEUED
    message: str = ""
    run_id: str | None = None  # its child run, once it started


@dataclass
class Evaluation:
    id: str  # the parent run's id
    name: str
    experiment_id: int
    task: str
    primary_metric: str
    profile: str | None
    status: str
    created_by: str
    created_at: int
    finished_at: int | None
    spec: dict[str, Any]
    jobs: list[CombinationJob] = field(default_factory=list)  # in claim order when stored
    workers: list[str] = field(default_factory=list)  # their job ids

    @property
    def counts(self) -> dict[str, int]:
        """How many jobs are queued, running, succeeded and failed (every other end)."""
        found = {states.QUEUED: 0, states.RUNNING: 0, states.SUCCEEDED: 0, "failed": 0}
        for job in self.jobs:
            key = job.status if job.status in found else "failed"
            found[key] += 1
        return found

    @property
    def final(self) -> bool:
        return self.status != RUNNING

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "jobs"}
        data["jobs"] = [job.__dict__ for job in sorted(self.jobs, key=lambda j: j.index)]
        data["counts"] = self.counts
        data["final"] = self.final
        return data


def check_data(workspace: Workspace, spec: EvaluationSpec) -> None:
    """Invalid, listing every problem, unless the data the spec names exists."""
    problems: list[str] = []
    columns: set[str] | None = None
    if spec.dataset is not None:
        columns = _dataset_columns(workspace, spec.dataset, "dataset", problems)
    elif spec.training_set is not None:
        source = spec.training_set
        found = _dataset_columns(
            workspace, source.entity_rows, "training_set.entity_rows", problems
        )
        problems.extend(_feature_problems(workspace, source.features))
        if found is not None and spec.target and spec.target not in found:
            problems.append(f"target: {spec.target!r} is not a column of the entity rows")
    if columns is not None:
        shown = ", ".join(sorted(columns))

        def missing(where: str, name: str | None) -> None:
            if name and name not in columns:
                problems.append(f"{where}: no column {name!r} in {spec.dataset} ({shown})")

        missing("target", spec.target)
        missing("split.column", spec.split.column)
        for set_name, items in spec.feature_sets.items():
            for item in items:
                if isinstance(item, str) and ":" not in item:  # "view:feature" is the store's
                    missing(f"feature_sets.{set_name}", item)
        derived = {
            i.name for items in spec.feature_sets.values() for i in items if not isinstance(i, str)
        }
        for column in spec.slices:
            if column not in derived:
                missing("slices", column)
    if problems:
        raise Invalid("The evaluation's data has problems:\n- " + "\n- ".join(problems))


def _dataset_columns(
    workspace: Workspace, reference: str, where: str, problems: list[str]
) -> set[str] | None:
    parsed = datasets.split_reference(reference)
    if parsed is None:
        problems.append(f"{where}: {reference!r} names no version; use NAME or NAME@2")
        return None
    try:
        version = datasets.get_version(workspace, *parsed)
    except NotFound as exc:
        problems.append(f"{where}: {exc}")
        return None
    return {column.name for column in version.columns}


def _feature_problems(workspace: Workspace, features: list[str]) -> list[str]:
    from seedbed.features import offline, registry  # the feature store builds on data

    try:
        offline.select_features(registry.get(workspace).spec, features)
    except SeedbedError as exc:
        return [f"training_set.features: {exc}"]
    return []


def longest_first(spec: EvaluationSpec) -> list[Combination]:
    """The order to submit in: models on the widest feature sets first, baselines last, so
    the slowest jobs start first and none is left running alone at the end."""
    width = {name: len(items) for name, items in spec.feature_sets.items()}
    return sorted(
        spec.combinations(),
        key=lambda c: (c.kind == "baseline", -width.get(c.feature_set, 0), c.index),
    )


def worker_count(jobs: JobService, size: Size, combinations: int) -> int:
    """How many workers of `size` the executor can run side by side, at most `combinations`."""
    _, wanted = jobs.resources(size)
    total = jobs.capacity().total
    fits = [combinations]
    if wanted.cpus > 0:
        fits.append(int(total.cpus // wanted.cpus))
    if wanted.memory_bytes > 0:
        fits.append(int(total.memory_bytes // wanted.memory_bytes))
    if wanted.gpus:
        fits.append(int(total.gpus // wanted.gpus))
    return max(1, min(fits))


def start(
    workspace: Workspace,
    jobs: JobService,
    user: User,
    spec: EvaluationSpec | dict[str, Any],
    profile: str | None = None,
) -> Evaluation:
    """Check the data, open the parent run and submit the worker jobs."""
    import uuid

    require(user, "write")
    if not isinstance(spec, EvaluationSpec):
        spec = parse_spec(spec)
    check_data(workspace, spec)
    chosen = profile or spec.profile
    size = Size(profile=chosen)
    jobs.resources(size)  # an unknown profile is refused before anything is made
    experiment = get_or_create_experiment(workspace, spec.experiment_name, user.username)
    primary = str(spec.primary_metric)
    tags = {"seedbed.kind": "evaluation", "seedbed.primary_metric": primary}
    run = start_run(workspace, experiment.id, spec.name, user.username, tags)
    text = spec_json(spec)
    workspace.artifacts.put_bytes(f"{run.artifact_key}/evaluation/spec.json", text.encode())
    order = longest_first(spec)
    workers = [uuid.uuid4().hex for _ in range(worker_count(jobs, size, len(order)))]
    items = [CombinationJob(c.index, c.kind, c.label, "") for c in order]
    row = {
        "id": run.id,
        "name": spec.name,
        "experiment_id": experiment.id,
        "task": spec.task,
        "primary_metric": primary,
        "profile": chosen,
        "status": RUNNING,
        "spec": text,
        "jobs": _stored(items, workers),
        "created_by": user.username,
        "created_at": now_ms(),
        "finished_at": None,
    }
    with workspace.engine.begin() as connection:  # before the workers, which claim from it
        connection.execute(evaluations.insert().values(**row))
    python = jobs.python(size.environment)
    submitted: list[str] = []
    try:
        for number, worker in enumerate(workers, start=1):
            label = f"{spec.name}: worker {number} of {len(workers)}"
            _submit(jobs, user, python, text, worker, label, run.id, size)
            submitted.append(worker)
    except BaseException:
        for done in submitted:
            with contextlib.suppress(SeedbedError):
                jobs.cancel(done, user)
        with workspace.engine.begin() as connection:
            connection.execute(evaluations.delete().where(evaluations.c.id == run.id))
        end_run(workspace, run.id, "FAILED")
        raise
    audit.record(
        workspace,
        user.username,
        "evaluation.start",
        run.id,
        jobs=len(workers),
        combinations=len(items),
    )
    return status(workspace, jobs, run.id)


def _stored(items: list[CombinationJob], workers: list[str]) -> str:
    """The `jobs` column: the workers and the combinations in claim order, with who claimed."""
    combinations = [
        {"index": i.index, "kind": i.kind, "label": i.label, "job_id": i.job_id} for i in items
    ]
    return json.dumps({"workers": workers, "combinations": combinations})


def _submit(
    jobs: JobService,
    user: User,
    python: str,
    text: str,
    job_id: str,
    label: str,
    parent: str,
    size: Size,
) -> Job:
    folder = jobs.work_dir(job_id)
    folder.mkdir(parents=True)
    (folder / SPEC_FILE).write_text(text, encoding="utf-8")
    script = str(HERE / "job.py")
    command = [python, "-P", script, str(folder / SPEC_FILE), "--worker", job_id, parent]
    return jobs.submit_command(user, JOB_KIND, command, label, size, job_id=job_id)


def claim(workspace: Workspace, user: User, evaluation_id: str, worker: str) -> int | None:
    """The next combination for `worker` to evaluate (slowest first), or None when none is
    left or the evaluation has ended. Two workers never get the same one."""
    for _ in range(50):
        with workspace.engine.connect() as connection:
            row = (
                connection.execute(select(evaluations).where(evaluations.c.id == evaluation_id))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"No evaluation {evaluation_id!r}.")
        evaluation = _evaluation(row)
        if evaluation.created_by != user.username:
            require(user, "admin")
        if worker not in evaluation.workers:
            raise Invalid(f"Job {worker} is not a worker of evaluation {evaluation_id}.")
        if evaluation.status != RUNNING:
            return None
        item = next((j for j in evaluation.jobs if not j.job_id), None)
        if item is None:
            return None
        item.job_id = worker
        with workspace.engine.begin() as connection:  # compare-and-set on the whole column
            won = connection.execute(
                evaluations.update()
                .where(evaluations.c.id == evaluation_id, evaluations.c.jobs == row["jobs"])
                .values(jobs=_stored(evaluation.jobs, evaluation.workers))
            ).rowcount
        if won:
            return item.index
    raise Conflict("Too many workers are claiming at once; try again.")


def _evaluation(row: Any) -> Evaluation:
    stored = json.loads(row["jobs"])
    if isinstance(stored, list):  # before workers: one job per combination, claimed at start
        items = [CombinationJob(**job) for job in stored]
        workers = list(dict.fromkeys(item.job_id for item in items))
    else:
        items = [CombinationJob(**job) for job in stored["combinations"]]
        workers = stored["workers"]
    return Evaluation(
        id=row["id"],
        name=row["name"],
        experiment_id=row["experiment_id"],
        task=row["task"],
        primary_metric=row["primary_metric"],
        profile=row["profile"],
        status=row["status"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        spec=json.loads(row["spec"]),
        jobs=items,
        workers=workers,
    )


def _read(workspace: Workspace, evaluation_id: str) -> Evaluation:
    with workspace.engine.connect() as connection:
        row = (
            connection.execute(select(evaluations).where(evaluations.c.id == evaluation_id))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"No evaluation {evaluation_id!r}; `GET /api/v1/evaluations` lists them.")
    return _evaluation(row)


def status(workspace: Workspace, jobs: JobService, evaluation_id: str) -> Evaluation:
    """The evaluation with each combination's state; closes the parent run once every worker
    has ended."""
    evaluation = _read(workspace, evaluation_id)
    workers: dict[str, Job | None] = {}
    for worker in evaluation.workers:
        try:
            workers[worker] = jobs.get(worker)
        except NotFound:
            workers[worker] = None
    runs = {}
    for run in runs_with_tag(workspace, "seedbed.evaluation", evaluation.id):
        index = run.tags.get("seedbed.combination", "")
        if index.isdigit():
            runs[int(index)] = run  # oldest first: a retried combination's last run wins
    all_ended = all(job is None or job.final for job in workers.values())
    for item in evaluation.jobs:
        _combination_state(item, runs.get(item.index), workers.get(item.job_id), jobs)
        if not item.job_id and all_ended:
            item.status = states.CANCELLED if evaluation.status == CANCELLED else states.LOST
            item.message = "Never started: every worker of the evaluation had ended."
    if evaluation.status == RUNNING and all_ended:
        ok = all(j.status == states.SUCCEEDED for j in evaluation.jobs)
        _finish(workspace, evaluation, SUCCEEDED if ok else FAILED)
    return evaluation


def _combination_state(
    item: CombinationJob, run: Any, worker: Job | None, jobs: JobService
) -> None:
    """A combination's state: its child run's once that ended, else its worker's."""
    item.run_id = run.id if run is not None else None
    ended = {"FINISHED": states.SUCCEEDED, "FAILED": states.FAILED, "KILLED": states.CANCELLED}
    if run is not None and run.status in ended:
        item.status = ended[run.status]
        item.message = run.tags.get("seedbed.error", "") if run.status == "FAILED" else ""
        return
    if not item.job_id:
        item.status = states.QUEUED
        return
    if worker is None:
        item.status, item.message = states.LOST, "The job's record is gone."
    elif not worker.final:
        item.status, item.message = states.RUNNING, worker.message
    else:  # the worker ended while this combination was unfinished
        item.status = worker.status if worker.status != states.SUCCEEDED else states.FAILED
        item.message = _failure(jobs, worker)


def _failure(jobs: JobService, job: Job) -> str:
    """The job's message with the last line of its log: the error a user needs first."""
    log = jobs.state_dir(job.id) / "log.txt"
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - 4096))
            lines = handle.read().decode("utf-8", "replace").strip().splitlines()
    except OSError:
        lines = []
    last = lines[-1].strip() if lines else ""
    return " — ".join(part for part in (job.message, last) if part)


def _finish(workspace: Workspace, evaluation: Evaluation, ended: str) -> None:
    """Record the end once (of two racing readers, one wins) and close the parent run."""
    finished_at = now_ms()
    with workspace.engine.begin() as connection:
        won = connection.execute(
            evaluations.update()
            .where(evaluations.c.id == evaluation.id, evaluations.c.status == RUNNING)
            .values(status=ended, finished_at=finished_at)
        ).rowcount
    if won:
        with contextlib.suppress(SeedbedError):  # a deleted parent run cannot be closed
            end_run(workspace, evaluation.id, RUN_STATUS[ended])
        evaluation.status, evaluation.finished_at = ended, finished_at
    else:
        fresh = _read(workspace, evaluation.id)
        evaluation.status, evaluation.finished_at = fresh.status, fresh.finished_at


def list_evaluations(workspace: Workspace, jobs: JobService, limit: int = 100) -> list[Evaluation]:
    """Evaluations, newest first, each with its current state."""
    query = (
        select(evaluations.c.id)
        .order_by(evaluations.c.created_at.desc())
        .limit(min(max(1, limit), 500))
    )
    with workspace.engine.connect() as connection:
        ids = list(connection.execute(query).scalars())
    return [status(workspace, jobs, evaluation_id) for evaluation_id in ids]


def cancel(workspace: Workspace, jobs: JobService, user: User, evaluation_id: str) -> Evaluation:
    """Stop every job still queued or running; the parent run ends KILLED."""
    require(user, "write")
    evaluation = status(workspace, jobs, evaluation_id)
    if evaluation.created_by != user.username:
        require(user, "admin")  # as with jobs: yours, or an admin's to stop
    if evaluation.final:
        raise Invalid(f"Evaluation {evaluation_id} has ended already ({evaluation.status}).")
    _finish(workspace, evaluation, CANCELLED)  # first, so no worker claims another
    for worker in evaluation.workers:
        with contextlib.suppress(Invalid, NotFound):  # it ended meanwhile
            jobs.cancel(worker, user)
    audit.record(workspace, user.username, "evaluation.cancel", evaluation_id)
    return status(workspace, jobs, evaluation_id)


def register_model(
    workspace: Workspace,
    user: User,
    evaluation_id: str,
    run_id: str,
    model_name: str,
    alias: str | None = None,
) -> Any:
    """Register the model a child run logged at `model/` (and point `alias` at it)."""
    from seedbed.registry import models  # the registry reads runs; it does not know us
    from seedbed.tracking.runs import get_run

    require(user, "write")
    _read(workspace, evaluation_id)
    run = get_run(workspace, run_id)
    if run.tags.get("mlflow.parentRunId") != evaluation_id:
        raise Invalid(f"Run {run_id} is not a run of evaluation {evaluation_id}.")
    if run.tags.get("seedbed.kind") == "baseline":
        raise Invalid(f"Run {run_id} is a baseline; it logged no model to register.")
    version = models.register_version(workspace, model_name, run_id, "model", user=user.username)
    if alias:
        models.set_alias(workspace, model_name, alias, version.version, user.username)
        version = models.get_version(workspace, model_name, version.version)
    return version
