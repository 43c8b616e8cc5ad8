"""The feature catalog: the registered definitions as the API and the Features page show them,
with each view's freshness, statistics of its plain features, and lineage (the training sets,
runs and models that use each feature)."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

import duckdb
from sqlalchemy import select

from seedbed.data import datasets
from seedbed.data.lineage import lineage as dataset_lineage
from seedbed.data.tables import dataset_versions
from seedbed.data.tables import datasets as dataset_rows
from seedbed.data.warehouse import quote_identifier
from seedbed.errors import Invalid, NotFound
from seedbed.features import definitions as d
from seedbed.features import registry, source_data
from seedbed.workspace import Workspace

STATS_FOLDER = "feature-stats"
# Types whose min and max a person can read; others (lists, structs, blobs) get counts only.
ORDERED = ("VARCHAR", "BOOLEAN", "DATE", "TIME", "UUID")
NO_DATASET = {"dataset_version": None, "dataset_name": None, "dataset_number": None}


def describe(workspace: Workspace) -> dict[str, Any]:
    """The newest registered definitions; `version` is None when none are registered."""
    registered = registry.latest(workspace)
    if registered is None:
        return {"version": None, "entities": [], "views": []}
    views = []
    for view in registered.spec["views"]:
        ttl = view.get("ttl_s")
        views.append({**view, "ttl": format_ttl(ttl)})
    return {
        "version": registered.version,
        "author": registered.author,
        "created_at": registered.created_at,
        "entities": registered.spec["entities"],
        "views": views,
    }


def format_ttl(seconds: float | None) -> str | None:
    return d.format_duration(seconds) if seconds else None


def definition(feature: Mapping[str, Any]) -> str:
    """How a feature is computed, in one line: `temp`, `mean(dep_delay) over 7d`, or its SQL."""
    if feature["kind"] == "value":
        return str(feature["column"])
    if feature["kind"] == "aggregate":
        argument = feature.get("column") or "*"
        return f"{feature['function']}({argument}) over {d.format_duration(feature['window_s'])}"
    return str(feature["expression"])


def overview(workspace: Workspace, query: str = "") -> dict[str, Any]:
    """The catalog page: every view (those matching `query`) with its freshness and feature
    count, and the history of registered versions."""
    described = describe(workspace)
    views = [
        {**view, "freshness": freshness(workspace, view["source"])}
        for view in described["views"]
        if matches(view, query)
    ]
    history = [
        {
            "version": r.version,
            "author": r.author,
            "created_at": r.created_at,
            "changes": r.changes,
        }
        for r in registry.history(workspace)
    ]
    return {**described, "views": views, "total": len(described["views"]), "history": history}


def matches(view: Mapping[str, Any], query: str) -> bool:
    """Whether every word of `query` is in the view's name, description, owner, entities,
    source, tags or feature names (case-insensitive)."""
    words = query.lower().split()
    if not words:
        return True
    source = view["source"]
    haystack = " ".join(
        [
            view["name"],
            view.get("description", ""),
            view.get("owner", ""),
            *view["entities"],
            str(source.get("table") or source.get("dataset") or ""),
            *(f"{k}={v}" for k, v in (view.get("tags") or {}).items()),
            *(f["name"] for f in view["features"]),
            *(f.get("description", "") for f in view["features"]),
        ]
    ).lower()
    return all(word in haystack for word in words)


def freshness(workspace: Workspace, source: Mapping[str, Any]) -> dict[str, Any]:
    """How current a source is: its row count, its newest event time and, for a dataset,
    the version read. `error` says why it could not be read (a dropped table)."""
    try:
        return _freshness(workspace, source)
    except (NotFound, Invalid, duckdb.Error) as exc:
        return {**NO_DATASET, "rows": None, "newest_event": None, "error": str(exc)}


def _freshness(workspace: Workspace, source: Mapping[str, Any]) -> dict[str, Any]:
    timestamp = source.get("timestamp")
    newest = f"max({quote_identifier(timestamp)})" if timestamp else "null"
    if source.get("table"):
        rows = workspace.warehouse.describe(source["table"]).rows  # NotFound names the tables
        row = (
            workspace.warehouse.cursor()
            .execute(f"select {newest} from {quote_identifier(source['table'])}")
            .fetchone()
        )
        latest = _plain(row[0]) if row else None
        return {**NO_DATASET, "rows": rows, "newest_event": latest, "error": None}
    version = source_data.dataset_version(workspace, str(source["dataset"]))
    reference = f"{version.dataset}@{version.version}"
    key = {"freshness": reference, "timestamp": timestamp}

    def compute() -> dict[str, Any]:
        with datasets.local_parquet(workspace, version) as path, duckdb.connect() as connection:
            found = connection.execute(f"select {newest} from read_parquet(?)", [str(path)])
            row = found.fetchone()
        return {"newest_event": _plain(row[0]) if row else None}

    cached = _cached(workspace, key, compute)
    return {
        "rows": version.rows,
        "newest_event": cached["newest_event"],
        "dataset_version": reference,
        "dataset_name": version.dataset,
        "dataset_number": version.version,
        "error": None,
    }


def statistics(
    workspace: Workspace, version: int, view: Mapping[str, Any], fresh: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Per plain feature: null share, distinct count, and min, max (and mean for numbers),
    computed once per definitions version and state of the source, then read from a cache."""
    columns = {f["name"]: f["column"] for f in view["features"] if f["kind"] == "value"}
    if not columns or fresh.get("error"):
        return {}
    source = view["source"]
    identity = fresh["dataset_version"] or f"table {source['table']}"
    key = {
        "statistics": view["name"],
        "definitions": version,
        "source": identity,
        "rows": fresh["rows"],
        "newest": fresh["newest_event"],
    }

    def compute() -> dict[str, Any]:
        by_column = _column_statistics(workspace, source, sorted(set(columns.values())))
        return {name: by_column.get(column, {}) for name, column in columns.items()}

    return _cached(workspace, key, compute)


def _column_statistics(
    workspace: Workspace, source: Mapping[str, Any], columns: list[str]
) -> dict[str, dict[str, Any]]:
    described = source_data.describe(workspace, source)
    withheld = _restricted(workspace, source)
    parts = ["count(*) as total"]
    for i, column in enumerate(columns):
        quoted, kind = quote_identifier(column), described.columns.get(column, "")
        parts += [f"count({quoted}) as n{i}", f"count(distinct {quoted}) as u{i}"]
        readable = withheld is not None and column not in withheld
        if readable and _ordered(kind):
            parts += [f"min({quoted}) as lo{i}", f"max({quoted}) as hi{i}"]
        if readable and source_data.is_numeric(kind):
            parts.append(f"avg({quoted}) as mean{i}")
    query = "select " + ", ".join(parts) + " from {relation}"
    if source.get("table"):
        cursor = workspace.warehouse.cursor()
        row = cursor.execute(query.format(relation=quote_identifier(source["table"]))).fetchone()
        names = [c[0] for c in cursor.description or []]
    else:
        version = source_data.dataset_version(workspace, str(source["dataset"]))
        with datasets.local_parquet(workspace, version) as path, duckdb.connect() as connection:
            found = connection.execute(query.format(relation="read_parquet(?)"), [str(path)])
            row = found.fetchone()
            names = [c[0] for c in found.description or []]
    values = dict(zip(names, row or (), strict=False))
    total = int(values.get("total") or 0)
    result: dict[str, dict[str, Any]] = {}
    for i, column in enumerate(columns):
        present = int(values.get(f"n{i}") or 0)
        result[column] = {
            "rows": total,
            "null_share": (total - present) / total if total else None,
            "distinct": int(values.get(f"u{i}") or 0),
            "min": _plain(values.get(f"lo{i}")),
            "max": _plain(values.get(f"hi{i}")),
            "mean": _plain(values.get(f"mean{i}")),
            "withheld": withheld is None or column in withheld,
        }
    return result


def _ordered(kind: str) -> bool:
    upper = kind.upper()
    return (
        source_data.is_numeric(kind)
        or source_data.is_time(kind)
        or upper in ORDERED
        or upper.startswith("VARCHAR")
    )


def _restricted(workspace: Workspace, source: Mapping[str, Any]) -> set[str] | None:
    """Columns of a dataset source restricted as PII (None: the whole version is), whose
    values (min, max, mean) the catalog never shows; counts are kept."""
    if not source.get("dataset"):
        return set()
    from seedbed.privacy import restrictions, scans  # privacy builds on the data domain

    version = source_data.dataset_version(workspace, str(source["dataset"]))
    held = restrictions.get(
        workspace, datasets.get_dataset(workspace, version.dataset).id, version.version
    )
    if held is not None and held.active:
        return None
    return set(scans.get_scan(workspace, version).restricted_columns)


def feature_lineage(workspace: Workspace) -> dict[str, list[dict[str, Any]]]:
    """For each `view:feature`, the training sets (live dataset versions with source
    'features') that hold it, each with the runs that read it and the models of those runs."""
    query = (
        select(
            dataset_rows.c.name,
            dataset_versions.c.version,
            dataset_versions.c.source_detail,
            dataset_versions.c.rows,
            dataset_versions.c.created_at,
        )
        .join(dataset_rows, dataset_rows.c.id == dataset_versions.c.dataset_id)
        .where(
            dataset_versions.c.source == "features",
            dataset_versions.c.deleted_at.is_(None),
            dataset_rows.c.deleted_at.is_(None),
        )
        .order_by(dataset_rows.c.name, dataset_versions.c.version.desc())
    )
    with workspace.engine.connect() as connection:
        found = connection.execute(query).mappings().all()
    lineage: dict[str, list[dict[str, Any]]] = {}
    for row in found:
        detail = json.loads(row["source_detail"] or "{}")
        used = dataset_lineage(workspace, row["name"], row["version"])
        training_set = {
            "dataset": row["name"],
            "version": row["version"],
            "rows": row["rows"],
            "created_at": row["created_at"],
            "definitions_version": detail.get("definitions_version"),
            "features": list(detail.get("features") or []),
            "runs": used.runs,
            "models": used.models,
        }
        for feature in training_set["features"]:
            lineage.setdefault(str(feature), []).append(training_set)
    return lineage


def view_detail(workspace: Workspace, name: str) -> dict[str, Any]:
    """One registered view: its definition, freshness, each feature with its definition,
    type, statistics and lineage, and the training sets, runs and models that use it."""
    registered = registry.get(workspace)
    views = d.views_by_name(registered.spec)
    if name not in views:
        known = ", ".join(sorted(views)) or "none"
        raise NotFound(f"No feature view {name!r} is registered (views: {known}).")
    view = views[name]
    fresh = freshness(workspace, view["source"])
    stats = statistics(workspace, registered.version, view, fresh)
    lineage = feature_lineage(workspace)
    features = []
    sets: dict[tuple[str, int], dict[str, Any]] = {}
    for feature in view["features"]:
        used_in = lineage.get(f"{name}:{feature['name']}", [])
        for training_set in used_in:
            sets[(training_set["dataset"], training_set["version"])] = training_set
        features.append(
            {
                **feature,
                "definition": definition(feature),
                "statistics": stats.get(feature["name"]),
                "training_sets": [f"{t['dataset']}@{t['version']}" for t in used_in],
            }
        )

    def prefix(feature: object) -> bool:
        return str(feature).startswith(f"{name}:")

    training_sets = [
        {**t, "features": [str(f).split(":", 1)[1] for f in t["features"] if prefix(f)]}
        for t in sets.values()
    ]
    runs = {r["id"]: r for t in training_sets for r in t["runs"]}
    models = {(m["name"], m["version"]): m for t in training_sets for m in t["models"]}
    return {
        "version": registered.version,
        "view": {
            **{k: v for k, v in view.items() if k != "features"},
            "ttl": format_ttl(view.get("ttl_s")),
        },
        "freshness": fresh,
        "features": features,
        "training_sets": training_sets,
        "runs": list(runs.values()),
        "models": sorted(models.values(), key=lambda m: (m["name"], m["version"])),
    }


def _cached(workspace: Workspace, key: Mapping[str, Any], compute: Any) -> dict[str, Any]:
    """`compute()`'s result, stored under the workspace's runtime folder by `key`: statistics
    of an unchanged source are read back instead of scanned again."""
    text = json.dumps(key, sort_keys=True, default=str)
    folder = workspace.runtime_dir / STATS_FOLDER
    path = folder / (hashlib.sha256(text.encode()).hexdigest()[:32] + ".json")
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("key") == text:
            return dict(stored["value"])
    except (OSError, ValueError, KeyError):
        pass
    value = compute()
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps({"key": text, "value": value}, default=str), encoding="utf-8")
    os.replace(partial, path)
    return dict(value)


def _plain(value: Any) -> Any:
    """A DuckDB value as JSON can hold it: times as ISO text, decimals as floats."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)
