"""Materialization: the point-in-time engine run for every entity key of a view at one time,
written to the online store.

Values come from `offline.compute` with entity rows = the view's keys and T = the
materialization time, so online and training values are computed by the same code. An
incremental run recomputes only the keys whose values can have changed since the last one:
keys with rows visible since the watermark (plain values), and keys with events in
(last as_of - longest window, now] (window aggregates). Everything is computed before
anything is written, and the write is one transaction of the online store.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from seedbed.data.warehouse import quote_identifier as q
from seedbed.db import now_ms
from seedbed.errors import Invalid
from seedbed.features import definitions as d
from seedbed.features import offline, registry, source_data
from seedbed.features.definitions import to_micros
from seedbed.features.online import (
    Batch,
    OnlineFeatures,
    OnlineRow,
    ViewState,
    encode_key,
    json_value,
)
from seedbed.features.tables import feature_materializations
from seedbed.workspace import Workspace

if TYPE_CHECKING:
    from seedbed.auth.users import User

AS_OF = "__seedbed_as_of"


@dataclass(frozen=True)
class Materialized:
    """What one view's materialization did."""

    view: str
    mode: str  # "full" or "incremental"
    entities: int  # keys computed and written
    as_of_us: int
    watermark_us: int | None
    definitions_version: int


def utc_us(value: dt.datetime | None) -> int:
    """Microseconds since the epoch of an aware time, or of a naive one taken as UTC."""
    if value is None:
        return time.time_ns() // 1000
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp() * 1_000_000)


def pick_views(spec: Mapping[str, Any], names: Sequence[str] | None) -> list[dict[str, Any]]:
    views = d.views_by_name(spec)
    if not names:
        return list(views.values())
    unknown = [n for n in names if n not in views]
    if unknown:
        raise Invalid(
            f"No feature view {', '.join(map(repr, unknown))} is registered "
            f"(views: {', '.join(views) or 'none'})."
        )
    return [views[n] for n in dict.fromkeys(names)]


def time_sql(column: str, kind: str) -> str:
    """A source time column as a naive UTC TIMESTAMP, as the offline engine reads it."""
    if source_data.is_aware(kind):
        return f"timezone('UTC', {q(column)})"
    return f"cast({q(column)} as timestamp)"


def source_keys(
    workspace: Workspace, view: Mapping[str, Any], as_of_us: int, reader: User | None
) -> tuple[duckdb.DuckDBPyConnection, source_data.SourceTable]:
    """A DuckDB connection holding `keyed`: one row per source row with non-null keys, its
    event time `__e` and visibility time `__v` (the later of event and created time)."""
    source = view["source"]
    keys = list(view["join_keys"])
    event, created = source.get("timestamp"), source.get("created")
    table, described = source_data.read(
        workspace, source, [*keys, *(c for c in (event, created) if c)], reader
    )
    connection = duckdb.connect(config={"enable_external_access": False})
    connection.register("raw", table)
    columns = ", ".join(q(k) for k in keys)
    not_null = " and ".join(f"{q(k)} is not null" for k in keys)
    if event:
        e = time_sql(event, described.columns[event])
        c = time_sql(created, described.columns[created]) if created else e
        times = f"{e} as __e, greatest({e}, coalesce({c}, {e})) as __v"
    else:
        times = "null::timestamp as __e, null::timestamp as __v"
    connection.execute(
        f"create temp table keyed as select {columns}, {times} from raw where {not_null}"
    )
    connection.unregister("raw")
    connection.execute(f"set variable as_of = make_timestamp({int(as_of_us)})")
    return connection, described


def _uses_as_of(view: Mapping[str, Any]) -> bool:
    with duckdb.connect() as parser:
        return any(
            d.AS_OF in registry.expression_columns(f["expression"], parser)
            for f in view["features"]
            if f["kind"] == "derived"
        )


def _previous(workspace: Workspace) -> dict[str, Mapping[str, Any]]:
    with workspace.engine.connect() as connection:
        rows = connection.execute(select(feature_materializations)).mappings().all()
    return {row["view"]: dict(row) for row in rows}


def _keys_to_compute(
    connection: duckdb.DuckDBPyConnection,
    view: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
) -> pa.Table:
    """The keys to compute, each with the event time of its latest visible row (`__event`)."""
    keys = ", ".join(q(k) for k in view["join_keys"])
    visible = "__e <= getvariable('as_of') and __v <= getvariable('as_of')"
    where = ""
    if previous is not None:
        longest = max(
            (f["window_s"] for f in view["features"] if f["kind"] == "aggregate"), default=0
        )
        since = previous["as_of_us"] - to_micros(longest)
        where = (
            f"semi join (select distinct {keys} from keyed where "
            f"(__v >= make_timestamp({int(previous['watermark_us'])}) and {visible}) "
            f"or (__e > make_timestamp({since}) and __e <= getvariable('as_of'))) "
            f"using ({keys})"
        )
    return connection.sql(
        f"select {keys}, epoch_us(max(__e) filter ({visible})) as __event "
        f"from keyed {where} group by all order by all"
    ).to_arrow_table()


def _present_keys(connection: duckdb.DuckDBPyConnection, view: Mapping[str, Any]) -> frozenset[str]:
    """Every key in the source now: keys the online store holds beyond these are removed."""
    keys = view["join_keys"]
    table = connection.sql(f"select distinct {', '.join(q(k) for k in keys)} from keyed")
    columns = [column.to_pylist() for column in table.to_arrow_table().columns]
    return frozenset(encode_key(values) for values in zip(*columns, strict=True))


def _rows(view: Mapping[str, Any], keyed: pa.Table, computed: pa.Table, as_of_us: int) -> list:
    keys = list(view["join_keys"])
    plain = [f["name"] for f in view["features"] if f["kind"] == "value"]
    windows = [f["name"] for f in view["features"] if f["kind"] != "value"]
    timed = bool(view["source"].get("timestamp"))
    key_values = [keyed.column(k).to_pylist() for k in keys]
    events = keyed.column("__event").to_pylist()
    plain_values = {n: computed.column(n).to_pylist() for n in plain}
    window_values = {n: computed.column(n).to_pylist() for n in windows}
    rows = []
    for i in range(keyed.num_rows):
        rows.append(
            OnlineRow(
                key=encode_key(values[i] for values in key_values),
                # A static source's values are as new as the materialization that read them.
                event_us=events[i] if timed else as_of_us,
                plain=json.dumps({n: json_value(plain_values[n][i]) for n in plain}),
                as_of_us=as_of_us,
                windows=json.dumps({n: json_value(window_values[n][i]) for n in windows}),
            )
        )
    return rows


def materialize(
    workspace: Workspace,
    online: OnlineFeatures,
    views: Sequence[str] | None = None,
    incremental: bool = False,
    reader: User | None = None,
    as_of: dt.datetime | None = None,
) -> list[Materialized]:
    """Write every key's values as of `as_of` (default now) to the online store."""
    registered = registry.get(workspace)
    chosen = pick_views(registered.spec, views)
    as_of_us = utc_us(as_of)
    before = _previous(workspace) if incremental else {}
    batches: list[Batch] = []
    done: list[Materialized] = []
    for view in chosen:
        previous = before.get(view["name"])
        if previous is not None and (
            previous["definitions_version"] != registered.version
            or previous["watermark_us"] is None
            or not view["source"].get("timestamp")
            or _uses_as_of(view)
        ):
            previous = None  # nothing to start from: compute every key
        connection, described = source_keys(workspace, view, as_of_us, reader)
        with connection:
            keyed = _keys_to_compute(connection, view, previous)
            present = _present_keys(connection, view)
            watermark = connection.execute(
                "select epoch_us(max(__v)) from keyed "
                "where __e <= getvariable('as_of') and __v <= getvariable('as_of')"
            ).fetchone()
        aware = source_data.is_aware(described.columns.get(view["source"].get("timestamp"), ""))
        times = pa.array([as_of_us] * keyed.num_rows, pa.timestamp("us", "UTC" if aware else None))
        entity = keyed.drop_columns(["__event"]).append_column(AS_OF, times)
        rows: list[OnlineRow] = []
        if entity.num_rows:
            spec = {"views": [view]}
            computed = offline.compute(workspace, spec, entity, [view["name"]], AS_OF, reader)
            rows = _rows(view, keyed, computed.table, as_of_us)
        batches.append(Batch(ViewState(view, registered.version, as_of_us), rows, present))
        done.append(
            Materialized(
                view["name"],
                "incremental" if previous is not None else "full",
                len(rows),
                as_of_us,
                watermark[0] if watermark else None,
                registered.version,
            )
        )
    online.store.write(batches)
    online.invalidate()
    _record(workspace, done, reader)
    return done


def _record(workspace: Workspace, done: Sequence[Materialized], reader: User | None) -> None:
    """Keep each view's newest as_of and watermark: an older run never moves them back."""
    author = reader.username if reader else ""
    table = feature_materializations
    insert = (postgresql if workspace.engine.dialect.name == "postgresql" else sqlite).insert
    with workspace.engine.begin() as connection:
        for item in done:
            values = {
                "view": item.view,
                "definitions_version": item.definitions_version,
                "watermark_us": item.watermark_us,
                "as_of_us": item.as_of_us,
                "rows": item.entities,
                "materialized_by": author,
                "materialized_at": now_ms(),
            }
            connection.execute(insert(table).values(**values).on_conflict_do_nothing())
            newer = table.c.as_of_us <= item.as_of_us
            connection.execute(
                update(table)
                .where(table.c.view == item.view, newer)
                .values(**{k: v for k, v in values.items() if k != "view"})
            )
    from seedbed.auth import audit

    audit.record(
        workspace,
        author,
        "features.materialize",
        ",".join(i.view for i in done),
        entities=sum(i.entities for i in done),
        incremental=any(i.mode == "incremental" for i in done),
    )


def as_dict(item: Materialized) -> dict[str, Any]:
    return asdict(item)
