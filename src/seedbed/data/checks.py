"""Quality checks of datasets: stored per dataset, run on every new version, results kept.

Results quote data in their `sample` and in some `observed` entries; `shown_to` leaves those
out for readers who may not see the checked columns, by the rule of `privacy.access`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

import duckdb
from pydantic import TypeAdapter
from sqlalchemy import select

from seedbed.auth import audit, users
from seedbed.auth.permissions import can
from seedbed.auth.users import User
from seedbed.data import datasets
from seedbed.data.datasets import DatasetVersion
from seedbed.data.quality import (
    Check,
    CheckResult,
    CustomSql,
    run_checks,
    summarise,
    validate_checks,
)
from seedbed.data.quality_sql import VALUE_KEYS
from seedbed.data.tables import quality_checks, quality_results
from seedbed.db import now_ms
from seedbed.errors import Forbidden, NotFound
from seedbed.privacy import access
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
    workspace: Workspace,
    name: str,
    items: Sequence[object],
    user: str = "",
    reader: User | None = None,
) -> list[CheckResult]:
    """Replace a dataset's checks (validated first) and run them on its latest version.

    A check's verdict tells something about the values it reads, so a `reader` without the
    pii permission may keep checks others defined but may not add or change one that reads
    a column restricted as personal data (custom SQL: any, on such a version)."""
    checks = validate_checks(items)
    dataset = datasets.get_dataset(workspace, name)
    authors = {
        check.model_dump_json(exclude_none=True): author
        for check, author in _checks_with_authors(workspace, name)
    }
    if reader is not None and dataset.latest is not None:
        _refuse_new_checks_over_restricted(workspace, reader, dataset.latest, checks, authors)
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
                        # a check kept as it was keeps its author (see _unauthorised)
                        "created_by": authors.get(check.model_dump_json(exclude_none=True), user),
                        "created_at": now,
                    }
                    for check in checks
                ],
            )
    audit.record(workspace, user or None, "dataset.checks", name, count=len(checks))
    if dataset.latest is None:
        return []
    return run_for_version(workspace, name, dataset.latest.version)


def _refuse_new_checks_over_restricted(
    workspace: Workspace,
    reader: User,
    latest: DatasetVersion,
    checks: Sequence[Check],
    existing: Mapping[str, str],
) -> None:
    if can(reader, "read_pii"):
        return
    try:
        granted = access.check_read(workspace, reader, latest, "checks")
    except Forbidden:
        granted = access.Access(withheld=tuple(c.name for c in latest.columns))
    if not granted.withheld:
        return
    for check in checks:
        if check.model_dump_json(exclude_none=True) in existing:
            continue
        touched = _touched(check, granted.withheld)
        if touched:
            raise Forbidden(
                f"Check {check.name!r} reads {', '.join(touched)}, restricted as personal "
                f"data in {latest.dataset} v{latest.version}; adding or changing a check over "
                "restricted columns needs the pii permission (its verdicts tell about the "
                "values)."
            )


def _checks_with_authors(workspace: Workspace, name: str) -> list[tuple[Check, str]]:
    dataset = datasets.get_dataset(workspace, name)
    with workspace.engine.connect() as connection:
        rows = connection.execute(
            select(quality_checks.c.spec, quality_checks.c.created_by)
            .where(quality_checks.c.dataset_id == dataset.id)
            .order_by(quality_checks.c.id)
        ).all()
    return [(_check.validate_python(json.loads(spec)), author) for spec, author in rows]


def _unauthorised(
    workspace: Workspace, target: DatasetVersion, authored: Sequence[tuple[Check, str]]
) -> dict[str, CheckResult]:
    """Checks that read restricted data of `target` but were defined by someone without the
    pii permission: not run (their verdicts would tell that person about the values)."""
    restricted, whole = access.restricted_columns(workspace, target)
    if whole:
        restricted = [c.name for c in target.columns]
    refused: dict[str, CheckResult] = {}
    for check, author in authored:
        touched = _touched(check, restricted)
        if not touched or not _author_lacks_pii(workspace, author):
            continue
        what = "a version restricted as a whole" if whole else ", ".join(touched)
        refused[check.name] = CheckResult(
            name=check.name,
            kind=check.kind,
            severity=check.severity,
            passed=False,
            failing_rows=None,
            total_rows=target.rows,
            message=f"Not run: it reads {what} (personal data) and was defined by "
            f"{author} without the pii permission; a user with it may define it again.",
            errored=True,
            columns=None if isinstance(check, CustomSql) else check.columns_used(),
            withheld=False,
        )
    return refused


def _touched(check: Check, restricted: Sequence[str]) -> list[str]:
    """The restricted columns a check reads (custom SQL may read any)."""
    used = None if isinstance(check, CustomSql) else check.columns_used()
    return [c for c in restricted if used is None or c in used]


def _author_lacks_pii(workspace: Workspace, author: str) -> bool:
    """Whether a check's author could read its verdicts without the pii permission: an
    active user who lacks it. A removed or disabled author reads nothing any more, and
    checks from before authors were recorded (no author) run as they did."""
    if not author:
        return False
    try:
        found = users.get_user_by_name(workspace, author)
    except NotFound:
        return False
    return not found.disabled and not found.pii


def run_for_version(workspace: Workspace, name: str, version: int) -> list[CheckResult]:
    """Run the dataset's checks on one version, store the results and mark the version."""
    authored = _checks_with_authors(workspace, name)
    target = datasets.get_version(workspace, name, version)
    dataset_id = datasets.get_dataset(workspace, name).id
    refused = _unauthorised(workspace, target, authored)
    checks = [check for check, _ in authored if check.name not in refused]
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
    ran = iter(results)
    results = [refused.get(check.name) or next(ran) for check, _ in authored]
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
    return [_from_storage(text) for text in stored]


def _from_storage(text: str) -> CheckResult:
    result = CheckResult.model_validate_json(text)
    if "columns" in result.model_fields_set:
        return result
    # Stored before messages left values out (and before results named their columns): the
    # message may quote values, so it is replaced until the checks run again; with no columns
    # named, the values are withheld as if the check had read every column.
    state = "passed" if result.passed else "could not run" if result.errored else "failed"
    counted = f": {result.failing_rows} of {result.total_rows} rows" if result.failing_rows else ""
    message = f"{state}{counted}; run the checks again for the details"
    return result.model_copy(update={"message": message})


def shown_to(
    workspace: Workspace, user: User | None, version: DatasetVersion, results: list[CheckResult]
) -> list[CheckResult]:
    """The results of checks on `version` as `user` may see them (see `withhold`)."""
    if not any(_quotes_data(result) for result in results):
        return results  # nothing to withhold, and no read of restricted data to audit
    try:
        granted: access.Access | None = access.check_read(workspace, user, version, "check results")
    except Forbidden:
        granted = None
    return withhold(results, granted)


def withhold(results: list[CheckResult], granted: access.Access | None) -> list[CheckResult]:
    """Results without the values a reader may not see: `granted` is what `access.check_read`
    gave them, None where it refused the version. Custom SQL may read any column, so its values
    go whenever any column is withheld."""
    shown = []
    for result in results:
        if granted is None:
            hidden = True
        elif result.columns is None:
            hidden = bool(granted.withheld)
        else:
            hidden = not all(granted.keeps(column) for column in result.columns)
        if hidden and _quotes_data(result):
            observed = {k: v for k, v in result.observed.items() if k not in VALUE_KEYS}
            result = result.model_copy(
                update={"sample": [], "observed": observed, "withheld": True}
            )
        shown.append(result)
    return shown


def _quotes_data(result: CheckResult) -> bool:
    return bool(result.sample) or not VALUE_KEYS.isdisjoint(result.observed)
