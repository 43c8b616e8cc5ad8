"""Quality checks of datasets: stored per dataset, run on every new version, results kept."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import duckdb
from pydantic import TypeAdapter
from sqlalchemy import select

from seedbed.auth import audit
from seedbed.data import datasets
from seedbed.data.quality import Check, CheckResult, run_checks, summarise, validate_checks
from seedbed.data.tables import quality_checks, quality_results
from seedbed.db import now_ms
from seedbed.workspace import Workspace

_check = TypeAdapter(Check)


def get_checks(workspace: Workspace, name: str) -> list[Check]:
    """The checks defined for a dataset, in the order they were given."""
    dataset = datasets.get_dataset(workspace, name)
    with workspace.engine.connect() as connection:
        specs = (
            connection.execute(
                select(quality_checks.c.spec)
                .where(quality_checks.c.dataset_id == dataset.id)
                .order_by(quality_checks.c.id)
            )
            .scalars()
            .all()
        )
    return [_check.validate_python(json.loads(spec)) for spec in specs]


def set_checks(
    workspace: Workspace, name: str, items: Sequence[object], user: str = ""
) -> list[CheckResult]:
    """Replace a dataset's checks (validated first) and run them on its latest version."""
    checks = validate_checks(items)
    dataset = datasets.get_dataset(workspace, name)
    now = now_ms()
    with workspace.engine.begin() as connection:
        connection.execute(quality_checks.delete().where(quality_checks.c.dataset_id == dataset.id))
        if checks:
            connection.execute(
                quality_checks.insert(),
                [
                    {
                        "dataset_id": dataset.id,
                        "name": check.name,
                        "spec": check.model_dump_json(exclude_none=True),
                        "created_by": user,
                        "created_at": now,
                    }
                    for check in checks
                ],
            )
    audit.record(workspace, user or None, "dataset.checks", name, count=len(checks))
    if dataset.latest is None:
        return []
    return run_for_version(workspace, name, dataset.latest.version)


def run_for_version(workspace: Workspace, name: str, version: int) -> list[CheckResult]:
    """Run the dataset's checks on one version, store the results and mark the version."""
    checks = get_checks(workspace, name)
    target = datasets.get_version(workspace, name, version)
    dataset_id = datasets.get_dataset(workspace, name).id
    results: list[CheckResult] = []
    if checks:
        with datasets.local_parquet(workspace, target) as path, duckdb.connect() as connection:
            results = run_checks(
                connection,
                str(path),
                checks,
                dt.datetime.now(dt.UTC),
                custom_sql_timeout_s=workspace.settings.sql_timeout_s,
            )
    now = now_ms()
    with workspace.engine.begin() as connection:
        connection.execute(
            quality_results.delete().where(
                quality_results.c.dataset_id == dataset_id, quality_results.c.version == version
            )
        )
        if results:
            connection.execute(
                quality_results.insert(),
                [
                    {
                        "dataset_id": dataset_id,
                        "version": version,
                        "check_name": r.name,
                        "kind": r.kind,
                        "severity": r.severity,
                        "passed": r.passed,
                        "message": r.message,
                        "observed": r.model_dump_json(),
                        "ran_at": now,
                    }
                    for r in results
                ],
            )
    datasets.set_quality(workspace, name, version, summarise(results) if results else "none")
    return results


def results_for(workspace: Workspace, name: str, version: int) -> list[CheckResult]:
    """The stored results of the last check run on a version."""
    datasets.get_version(workspace, name, version)
    dataset_id = datasets.get_dataset(workspace, name).id
    with workspace.engine.connect() as connection:
        stored = (
            connection.execute(
                select(quality_results.c.observed)
                .where(
                    quality_results.c.dataset_id == dataset_id, quality_results.c.version == version
                )
                .order_by(quality_results.c.id)
            )
            .scalars()
            .all()
        )
    return [CheckResult.model_validate_json(text) for text in stored]
