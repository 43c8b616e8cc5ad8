"""Registered feature definitions: validated against the real sources, diffed against the
previous version, and stored as a new immutable version when something changed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
from sqlalchemy import func, insert, select

from seedbed.data.warehouse import quote_identifier
from seedbed.db import now_ms
from seedbed.errors import Invalid, NotFound
from seedbed.features import definitions as d
from seedbed.features import source_data
from seedbed.features.tables import feature_definitions
from seedbed.workspace import Workspace


@dataclass(frozen=True)
class Registered:
    version: int
    content_hash: str
    spec: dict[str, Any]
    changes: list[str]
    author: str
    created_at: int


@dataclass(frozen=True)
class Applied:
    registered: Registered | None  # None on a dry run, or when nothing changed
    changes: list[str]
    spec: dict[str, Any]


def from_spec(spec: Any) -> dict[str, Any]:
    """Rebuild the definitions from JSON so every shape rule of `definitions` applies."""
    if not isinstance(spec, Mapping):
        raise Invalid("Feature definitions are an object with 'entities' and 'views'.")
    objects: list[Any] = []
    try:
        for entity in spec.get("entities") or []:
            objects.append(
                d.Entity(
                    entity["name"],
                    list(entity.get("join_keys") or []),
                    entity.get("description", ""),
                )
            )
        for view in spec.get("views") or []:
            objects.append(_view(view))
    except (KeyError, TypeError, AttributeError) as exc:
        raise Invalid(f"Feature definitions are malformed ({exc!r} is missing or wrong).") from exc
    return d.build_spec(objects)


def _view(view: Mapping[str, Any]) -> d.FeatureView:
    plain: list[d.Feature | str] = []
    aggregations: list[d.Aggregate] = []
    derived: list[d.Derived] = []
    for item in view.get("features") or []:
        kind = item.get("kind", "value")
        if kind == "value":
            plain.append(
                d.Feature(item["column"], item.get("name", ""), item.get("description", ""))
            )
        elif kind == "aggregate":
            aggregations.append(
                d.Aggregate(
                    item.get("column"),
                    item["function"],
                    item["window_s"],
                    item.get("name", ""),
                    item.get("description", ""),
                )
            )
        elif kind == "derived":
            derived.append(d.Derived(item["name"], item["expression"], item.get("description", "")))
        else:
            raise Invalid(f"Feature kind {kind!r} is unknown: use value, aggregate or derived.")
    source = view["source"]
    return d.FeatureView(
        name=view["name"],
        entities=list(view["entities"]),
        source=d.Source(
            source.get("table"),
            source.get("dataset"),
            source.get("timestamp"),
            source.get("created"),
        ),
        features=plain,
        aggregations=aggregations,
        derived=derived,
        ttl=view.get("ttl_s"),
        description=view.get("description", ""),
        owner=view.get("owner", ""),
        tags=dict(view.get("tags") or {}),
    )


def validate(workspace: Workspace, spec: Any) -> dict[str, Any]:
    """The spec, canonical and with each feature's type, or Invalid listing every problem."""
    canonical = from_spec(spec)
    problems: list[str] = []
    entities = d.entities_by_name(canonical)
    for view in canonical["views"]:
        unknown = [e for e in view["entities"] if e not in entities]
        if unknown:
            problems.append(
                f"Feature view {view['name']!r} names unknown entities {', '.join(unknown)}: "
                f"define them with Entity(...) (known: {', '.join(entities) or 'none'})."
            )
            continue
        problems.extend(_check_view(workspace, canonical, view))
    if problems:
        raise Invalid(
            "The feature definitions have problems; nothing was registered:\n- "
            + "\n- ".join(problems)
        )
    return canonical


def _check_view(workspace: Workspace, spec: dict[str, Any], view: dict[str, Any]) -> list[str]:
    name = view["name"]
    source = view["source"]
    try:
        table = source_data.describe(workspace, source)
    except (NotFound, Invalid) as exc:
        return [f"Feature view {name!r}: its source cannot be read: {exc}"]
    columns = table.columns
    problems: list[str] = []

    def column_problem(column: str, role: str) -> bool:
        if column not in columns:
            problems.append(
                f"Feature view {name!r}: {role} {column!r} is not a column of the {table.label} "
                f"(columns: {', '.join(columns)})."
            )
            return True
        return False

    keys = d.join_keys(spec, view)
    for key in keys:
        column_problem(key, "join key")
    for role in ("timestamp", "created"):
        column = source.get(role)
        if (
            column
            and not column_problem(column, f"{role} column")
            and not source_data.is_time(columns[column])
        ):
            problems.append(
                f"Feature view {name!r}: {role} column {column!r} is {columns[column]}, not a "
                "timestamp or date: cast it in a warehouse view, or name another column."
            )
    if view["ttl_s"] is not None and not source.get("timestamp"):
        problems.append(f"Feature view {name!r}: a ttl needs an event-time column (timestamp=).")
    seen: set[str] = set()
    types: dict[str, str] = {}
    for feature in view["features"]:
        fname = feature["name"]
        try:
            d.check_name(fname, f"Feature in view {name!r}:")
        except Invalid as exc:
            problems.append(str(exc))
        if fname in seen:
            problems.append(f"Feature view {name!r} defines feature {fname!r} twice.")
        if fname in keys:
            problems.append(f"Feature view {name!r}: feature {fname!r} has a join key's name.")
        seen.add(fname)
        if feature["kind"] == "value" and not column_problem(
            feature["column"], f"feature {fname!r} reads column"
        ):
            types[fname] = columns[feature["column"]]
        elif feature["kind"] == "aggregate":
            problems.extend(_check_aggregate(name, source, columns, feature, column_problem, types))
    problems.extend(_check_derived(name, view, types))
    for feature in view["features"]:
        feature["dtype"] = types.get(feature["name"], "")
    view["join_keys"] = keys
    view["key_types"] = {key: columns.get(key, "") for key in keys}
    return problems


def _check_aggregate(
    view: str,
    source: Mapping[str, Any],
    columns: Mapping[str, str],
    feature: dict[str, Any],
    column_problem: Any,
    types: dict[str, str],
) -> list[str]:
    name, function, column = feature["name"], feature["function"], feature["column"]
    if not source.get("timestamp"):
        return [
            f"Feature view {view!r}: aggregation {name!r} needs an event-time column (timestamp=)."
        ]
    if column is not None and column_problem(column, f"aggregation {name!r} reads column"):
        return []
    kind = columns[column] if column is not None else ""
    if function in ("sum", "mean", "stddev") and not source_data.is_numeric(kind):
        return [
            f"Feature view {view!r}: aggregation {name!r} takes the {function} of {column!r}, "
            f"which is {kind}, not a number."
        ]
    types[name] = aggregate_type(function, kind)
    return []


def aggregate_type(function: str, kind: str) -> str:
    """The DuckDB type an aggregation gives over a column of type `kind`."""
    if function in ("count", "distinct_count"):
        return "BIGINT"
    if function in ("min", "max", "last"):
        return kind
    call = {"mean": "avg", "stddev": "stddev_samp"}.get(function, function)
    with duckdb.connect() as connection:
        row = connection.execute(f"describe select {call}(null::{kind}) as value").fetchone()
    return str(row[1]) if row else ""


def expression_columns(expression: str, connection: duckdb.DuckDBPyConnection) -> set[str]:
    """The column names an SQL expression refers to (Invalid when it does not parse)."""
    try:
        statements = duckdb.extract_statements(f"select ({expression}) as value")
    except duckdb.Error as exc:
        raise Invalid(f"{expression!r} is not an SQL expression: {exc}") from exc
    if len(statements) != 1:
        raise Invalid(f"{expression!r} is not one SQL expression.")
    row = connection.execute(
        "select json_serialize_sql(?)", [f"select ({expression}) as value"]
    ).fetchone()
    tree = json.loads(row[0]) if row else {}
    if tree.get("error"):
        raise Invalid(f"{expression!r} is not an SQL expression: {tree.get('error_message')}")
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("class") == "COLUMN_REF":
                found.add(str(node["column_names"][-1]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree.get("statements"))
    return found


def derived_order(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Derived features in an order where each comes after those it uses (Invalid on a cycle)."""
    derived = {f["name"]: f for f in view["features"] if f["kind"] == "derived"}
    with duckdb.connect() as connection:
        uses = {
            name: expression_columns(f["expression"], connection) & set(derived)
            for name, f in derived.items()
        }
    ordered: list[dict[str, Any]] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "open":
            cycle = " → ".join([*path[path.index(name) :], name])
            raise Invalid(f"Derived features of view {view['name']!r} form a cycle: {cycle}.")
        state[name] = "open"
        for used in sorted(uses[name]):
            visit(used, [*path, name])
        state[name] = "done"
        ordered.append(derived[name])

    for name in derived:
        visit(name, [])
    return ordered


def _check_derived(view: str, spec: Mapping[str, Any], types: dict[str, str]) -> list[str]:
    try:
        ordered = derived_order(spec)
    except Invalid as exc:
        return [str(exc)]
    problems: list[str] = []
    with duckdb.connect(config={"enable_external_access": False}) as connection:
        for feature in ordered:
            known = {**types, d.AS_OF: "TIMESTAMP"}
            columns = ", ".join(
                f"null::{kind} as {quote_identifier(n)}" for n, kind in known.items() if kind
            )
            try:
                used = expression_columns(feature["expression"], connection)
                unknown = sorted(used - set(known))
                if unknown:
                    problems.append(
                        f"Derived feature {feature['name']!r} of view {view!r} uses "
                        f"{', '.join(unknown)}, which are not features of this view "
                        f"(known: {', '.join(sorted(known))})."
                    )
                    continue
                row = connection.execute(
                    f"describe select ({feature['expression']}) as value from (select {columns}) t"
                ).fetchone()
            except (duckdb.Error, Invalid) as exc:
                problems.append(f"Derived feature {feature['name']!r} of view {view!r}: {exc}")
                continue
            types[feature["name"]] = str(row[1]) if row else ""
    return problems


def content_hash(spec: Mapping[str, Any]) -> str:
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """What changed, one line each: '+ view weather', '~ weather:temp (ttl 3h → 2h)'."""
    changes: list[str] = []
    old_entities = d.entities_by_name(old or {})
    new_entities = d.entities_by_name(new)
    for name in sorted(set(old_entities) | set(new_entities)):
        if name not in old_entities:
            changes.append(f"+ entity {name} (keys {', '.join(new_entities[name]['join_keys'])})")
        elif name not in new_entities:
            changes.append(f"- entity {name}")
        elif old_entities[name] != new_entities[name]:
            changes.append(f"~ entity {name}")
    old_views = d.views_by_name(old or {})
    new_views = d.views_by_name(new)
    for name in sorted(set(old_views) | set(new_views)):
        if name not in old_views:
            count = len(new_views[name]["features"])
            changes.append(f"+ view {name} ({count} feature{'s' if count != 1 else ''})")
            continue
        if name not in new_views:
            changes.append(f"- view {name}")
            continue
        before, after = old_views[name], new_views[name]
        for key in ("entities", "source", "ttl_s", "description", "owner", "tags"):
            if before.get(key) != after.get(key):
                changes.append(
                    f"~ view {name}: {key} {_show(before.get(key))} → {_show(after.get(key))}"
                )
        was = {f["name"]: f for f in before["features"]}
        now = {f["name"]: f for f in after["features"]}
        for feature in sorted(set(was) | set(now)):
            if feature not in was:
                changes.append(f"+ {name}:{feature}")
            elif feature not in now:
                changes.append(f"- {name}:{feature}")
            elif was[feature] != now[feature]:
                changes.append(f"~ {name}:{feature}")
    return changes


def _show(value: Any) -> str:
    if isinstance(value, float) and value:
        return d.format_duration(value)
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else repr(value)


def latest(workspace: Workspace) -> Registered | None:
    with workspace.engine.connect() as connection:
        row = (
            connection.execute(
                select(feature_definitions).order_by(feature_definitions.c.version.desc()).limit(1)
            )
            .mappings()
            .first()
        )
    return None if row is None else _registered(row)


def get(workspace: Workspace, version: int | None = None) -> Registered:
    """A registered version (the newest when None); NotFound says how to register one."""
    if version is None:
        found = latest(workspace)
        if found is None:
            raise NotFound(
                "No feature definitions are registered yet: write them under features/ and run "
                "`seedbed features apply`."
            )
        return found
    with workspace.engine.connect() as connection:
        row = (
            connection.execute(
                select(feature_definitions).where(feature_definitions.c.version == version)
            )
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"Feature definitions version {version} does not exist.")
    return _registered(row)


def history(workspace: Workspace) -> list[Registered]:
    with workspace.engine.connect() as connection:
        rows = connection.execute(
            select(feature_definitions).order_by(feature_definitions.c.version.desc())
        ).mappings()
        return [_registered(row) for row in rows]


def _registered(row: Any) -> Registered:
    return Registered(
        version=row["version"],
        content_hash=row["content_hash"],
        spec=json.loads(row["spec"]),
        changes=json.loads(row["changes"]),
        author=row["author"],
        created_at=row["created_at"],
    )


def apply(workspace: Workspace, spec: Any, author: str, dry_run: bool = False) -> Applied:
    """Validate `spec` and register it as the next version, unless it changes nothing."""
    checked = validate(workspace, spec)
    previous = latest(workspace)
    changes = diff(previous.spec if previous else None, checked)
    if dry_run or (previous is not None and previous.content_hash == content_hash(checked)):
        return Applied(None, changes if dry_run else [], checked)
    with workspace.engine.begin() as connection:
        number = (
            connection.execute(
                select(func.coalesce(func.max(feature_definitions.c.version), 0))
            ).scalar_one()
            + 1
        )
        created = now_ms()
        connection.execute(
            insert(feature_definitions).values(
                version=number,
                content_hash=content_hash(checked),
                spec=json.dumps(checked, sort_keys=True),
                changes=json.dumps(changes),
                author=author,
                created_at=created,
            )
        )
    from seedbed.auth import audit

    audit.record(workspace, author, "features.apply", f"v{number}", changes=len(changes))
    return Applied(
        Registered(number, content_hash(checked), checked, changes, author, created),
        changes,
        checked,
    )
