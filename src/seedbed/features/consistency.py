"""Consistency: recompute offline, with `offline.compute`, what the online store serves, and
list every value that differs.

Plain values are compared as a lookup now would serve them (the ttl applied to their event
time) with the offline value at now; window aggregates and derived features with the offline
value at the time each row was materialized. The keys checked are those stored online and
those in the source now, so keys that appeared since the last materialization count too.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from seedbed.data.warehouse import quote_identifier as q
from seedbed.errors import Invalid
from seedbed.features import offline, registry, source_data
from seedbed.features.materialize import AS_OF, source_keys, utc_us
from seedbed.features.online import (
    OnlineFeatures,
    OnlineRow,
    ViewState,
    encode_key,
    json_value,
    serve_plain,
)
from seedbed.workspace import Workspace

if TYPE_CHECKING:
    from seedbed.auth.users import User


@dataclass(frozen=True)
class Mismatch:
    view: str
    keys: dict[str, Any]
    feature: str
    online: Any
    offline: Any
    at: str  # "now" (plain values) or "as_of" (windows and derived features)


@dataclass
class Report:
    checked_at_us: int
    views: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked_at_us": self.checked_at_us,
            "views": self.views,
            "mismatches": [asdict(m) for m in self.mismatches],
            "warnings": self.warnings,
            "ok": not self.mismatches,
        }


def same(online: Any, offline_value: Any) -> bool:
    if isinstance(online, float) and isinstance(offline_value, int | float):
        return math.isclose(online, offline_value, rel_tol=1e-9, abs_tol=1e-12)
    return bool(online == offline_value)


def _entity(
    keys: list[str],
    key_types: dict[str, pa.DataType],
    encoded: list[str],
    at: list[int],
    aware: bool,
) -> pa.Table:
    """Entity rows from encoded keys, cast back to the source's key types."""
    decoded = [json.loads(key) for key in encoded]
    columns: dict[str, pa.Array] = {}
    for index, name in enumerate(keys):
        values = pa.array([row[index] for row in decoded])
        kind = key_types.get(name)
        if kind is not None and values.type != kind:
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
                values = values.cast(kind)
        columns[name] = values
    columns[AS_OF] = pa.array(at, pa.timestamp("us", "UTC" if aware else None))
    return pa.table(columns)


def check_view(
    workspace: Workspace,
    state: ViewState,
    stored: Sequence[OnlineRow],
    now_us: int,
    reader: User | None,
) -> tuple[int, list[Mismatch]]:
    view = state.view
    keys = list(view["join_keys"])
    connection, described = source_keys(workspace, view, now_us, reader)
    with connection:
        listed = ", ".join(q(k) for k in keys)
        source = connection.sql(f"select distinct {listed} from keyed").to_arrow_table()
    event = view["source"].get("timestamp")
    aware = bool(event) and source_data.is_aware(described.columns.get(event, ""))
    key_types = {name: source.schema.field(name).type for name in keys}
    online = {row.key: row for row in stored}
    columns = [source.column(k).to_pylist() for k in keys]
    in_source = [encode_key(values) for values in zip(*columns, strict=True)]
    encoded = sorted(set(online) | set(in_source))
    if not encoded:
        return 0, []
    spec = {"views": [view]}
    plain = [f["name"] for f in view["features"] if f["kind"] == "value"]
    windows = [f["name"] for f in view["features"] if f["kind"] != "value"]
    found: list[Mismatch] = []

    def compare(names: list[str], at: list[int], label: str) -> None:
        if not names:
            return
        entity = _entity(keys, key_types, encoded, at, aware)
        references = [f"{view['name']}:{n}" for n in names]
        computed = offline.compute(workspace, spec, entity, references, AS_OF, reader).table
        for name in names:
            values = computed.column(name).to_pylist()
            for key, value in zip(encoded, values, strict=True):
                row = online.get(key)
                if label == "now":
                    served = serve_plain(row, view.get("ttl_s"), now_us).get(name)
                else:
                    served = json.loads(row.windows).get(name) if row else None
                expected = json_value(value)
                if not same(served, expected):
                    found.append(
                        Mismatch(
                            view["name"],
                            dict(zip(keys, json.loads(key), strict=True)),
                            name,
                            served,
                            expected,
                            label,
                        )
                    )

    compare(plain, [now_us] * len(encoded), "now")
    as_of = [online[k].as_of_us if k in online else state.as_of_us for k in encoded]
    compare(windows, as_of, "as_of")
    return len(encoded), found


def check(
    workspace: Workspace,
    online: OnlineFeatures,
    views: Sequence[str] | None = None,
    reader: User | None = None,
) -> Report:
    """Compare every materialized view (or those named) with the offline engine."""
    states = online.store.views()
    names = list(dict.fromkeys(views)) if views else sorted(states)
    unknown = [n for n in names if n not in states]
    if unknown:
        raise Invalid(
            f"View {', '.join(map(repr, unknown))} is not materialized (materialized: "
            f"{', '.join(sorted(states)) or 'none'}): run `seedbed features materialize` first."
        )
    report = Report(utc_us(None))
    newest = registry.latest(workspace)
    for name in names:
        state = states[name]
        stored = online.store.rows(name)
        count, found = check_view(workspace, state, stored, report.checked_at_us, reader)
        report.mismatches.extend(found)
        report.views.append(
            {
                "view": name,
                "entities": count,
                "mismatches": len(found),
                "as_of_us": state.as_of_us,
                "definitions_version": state.definitions_version,
            }
        )
        if newest is not None and newest.version != state.definitions_version:
            report.warnings.append(
                f"View {name!r} was materialized with definitions version "
                f"{state.definitions_version}; version {newest.version} is newer: run "
                "`seedbed features materialize` to serve it."
            )
    return report
