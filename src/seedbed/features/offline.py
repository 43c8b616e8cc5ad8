"""Point-in-time feature values for entity rows, computed with DuckDB one view at a time.

For an entity row with keys K at time T:
- a plain feature is the value of the source row with the same keys and the latest event
  time <= T (ties: the latest created time, then the later row of the source); when the
  source has a created-time column, only rows created <= T count. Older than the ttl
  (T - event time > ttl) gives null. Rows without a match keep their place, with nulls.
- a window aggregation covers the events with T - window < event time <= T (and created
  time <= T). `count` and `distinct_count` of an empty window are 0, the others null.
- a derived feature is an SQL expression over the view's other features and `_as_of` (T).
- a static source (no event-time column) is joined on its keys; the last row of a key wins.

Plain features use an ASOF join, except with a created-time column, where a running
`max_by` over the union of source and entity rows ordered by visibility time does it.
Windows use window functions with a RANGE frame over that union, or, with a created-time
column, a range join with aggregation. All timestamps are compared in UTC: aware ones are
converted, naive ones taken as UTC (mixing the two is warned about).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa

from seedbed.data.warehouse import quote_identifier as q
from seedbed.errors import Invalid
from seedbed.features import definitions as d
from seedbed.features import source_data
from seedbed.features.definitions import to_micros
from seedbed.features.registry import derived_order
from seedbed.workspace import Workspace

if TYPE_CHECKING:
    from seedbed.auth.users import User

ROW = "__row"
FUNCTIONS = {
    "count": "count(__one)",
    "sum": "sum({x})",
    "mean": "avg({x})",
    "min": "min({x})",
    "max": "max({x})",
    "stddev": "stddev_samp({x})",
    "last": "arg_max_null({x}, __order)",
    "distinct_count": "count(distinct {x})",
}


@dataclass(frozen=True)
class Selected:
    """The features asked of one view, and those computed to get them (derived inputs)."""

    view: dict[str, Any]
    wanted: list[str]
    computed: list[dict[str, Any]]


@dataclass
class Result:
    table: pa.Table
    columns: dict[str, str]  # output column → "view:feature"
    warnings: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # dataset versions read (lineage)


def select_features(
    spec: Mapping[str, Any], references: Sequence[str], full_names: bool = False
) -> tuple[list[Selected], dict[str, str]]:
    """Resolve "view:feature" and "view" (all its features) into per-view selections and
    output column names. Invalid names every unknown reference at once."""
    if isinstance(references, str) or not references:
        raise Invalid('Name the features as a list: ["weather:temp", "carrier_delays"].')
    views = d.views_by_name(spec)
    wanted: dict[str, list[str]] = {}
    problems: list[str] = []
    for reference in references:
        name, _, feature = str(reference).partition(":")
        view = views.get(name)
        if view is None:
            problems.append(f"no feature view {name!r} (views: {', '.join(views) or 'none'})")
            continue
        names = [f["name"] for f in view["features"]]
        if feature and feature not in names:
            problems.append(
                f"view {name!r} has no feature {feature!r} (features: {', '.join(names)})"
            )
            continue
        for item in [feature] if feature else names:
            if item not in wanted.setdefault(name, []):
                wanted[name].append(item)
    if problems:
        raise Invalid("Unknown features: " + "; ".join(problems) + ".")
    selected: list[Selected] = []
    columns: dict[str, str] = {}
    for name, items in wanted.items():
        view = views[name]
        needed = _closure(view, items)
        selected.append(Selected(view, items, [f for f in view["features"] if f["name"] in needed]))
        for item in items:
            column = f"{name}__{item}" if full_names else item
            if column in columns:
                raise Invalid(
                    f"Two features are named {item!r} ({columns[column]} and {name}:{item}): "
                    "pass full_names=True to name columns view__feature."
                )
            columns[column] = f"{name}:{item}"
    return selected, columns


def _closure(view: Mapping[str, Any], names: list[str]) -> set[str]:
    """`names` and every feature the derived ones among them use."""
    from seedbed.features.registry import expression_columns

    by_name = {f["name"]: f for f in view["features"]}
    needed: set[str] = set()
    pending = list(names)
    with duckdb.connect() as parser:
        while pending:
            name = pending.pop()
            if name in needed:
                continue
            needed.add(name)
            feature = by_name[name]
            if feature["kind"] == "derived":
                pending.extend(expression_columns(feature["expression"], parser) & set(by_name))
    return needed


def _time_sql(column: str, kind: str) -> str:
    """A timestamp column as a naive UTC TIMESTAMP."""
    if source_data.is_aware(kind):
        return f"timezone('UTC', {q(column)})"
    return f"cast({q(column)} as timestamp)"


def arrow_kind(data_type: pa.DataType) -> str:
    """The DuckDB type name of an Arrow time type, or "" when it is not one."""
    if pa.types.is_timestamp(data_type):
        return "TIMESTAMP WITH TIME ZONE" if data_type.tz else "TIMESTAMP"
    if pa.types.is_date(data_type):
        return "DATE"
    return ""


def check_entity_rows(entity: pa.Table, timestamp: str | None) -> str:
    """The entity rows' timestamp column (found when not given), or Invalid."""
    times = [f.name for f in entity.schema if arrow_kind(f.type)]
    if timestamp is None:
        if len(times) != 1:
            found = ", ".join(times) or "none"
            raise Invalid(
                "Say which column of the entity rows holds each row's time (timestamp=...); "
                f"timestamp columns found: {found}."
            )
        return times[0]
    if timestamp not in entity.column_names:
        raise Invalid(
            f"The entity rows have no column {timestamp!r} "
            f"(columns: {', '.join(entity.column_names)})."
        )
    if timestamp not in times:
        kind = entity.schema.field(timestamp).type
        raise Invalid(
            f"Column {timestamp!r} of the entity rows is {kind}, not a timestamp: convert it "
            "(pandas: pd.to_datetime(rows[column]))."
        )
    return timestamp


def compute(
    workspace: Workspace,
    spec: Mapping[str, Any],
    entity: pa.Table,
    references: Sequence[str],
    timestamp: str | None = None,
    reader: User | None = None,
    full_names: bool = False,
    threads: int | None = None,
) -> Result:
    """The entity rows with the features appended, in the same order."""
    selected, columns = select_features(spec, references, full_names)
    timestamp = check_entity_rows(entity, timestamp)
    clash = sorted(set(columns) & set(entity.column_names))
    if clash:
        raise Invalid(
            f"The entity rows already have columns named like features: {', '.join(clash)}. "
            "Rename them, or pass full_names=True."
        )
    needed_keys = {key for s in selected for key in s.view["join_keys"]}
    missing = sorted(needed_keys - set(entity.column_names))
    if missing:
        raise Invalid(
            f"The entity rows lack the join keys {', '.join(missing)} that the features need "
            f"(columns: {', '.join(entity.column_names)})."
        )
    result = Result(entity, {})
    config: dict[str, Any] = {"enable_external_access": False, "autoload_known_extensions": False}
    if threads:
        config["threads"] = threads
    entity_kind = arrow_kind(entity.schema.field(timestamp).type)
    with duckdb.connect(config=config) as connection:
        rows = (
            entity.select(sorted(needed_keys))
            .append_column("__t_in", entity.column(timestamp))
            .append_column(ROW, pa.array(np.arange(entity.num_rows, dtype=np.int64)))
        )
        connection.register("entity_in", rows)
        key_list = ", ".join(q(k) for k in sorted(needed_keys))
        connection.execute(
            f"create temp table entity as select {key_list}, "
            f"{_time_sql('__t_in', entity_kind)} as __t, {ROW} from entity_in"
        )
        connection.unregister("entity_in")
        built: dict[str, pa.ChunkedArray] = {}
        for selection in selected:
            source, table = source_data.read(
                workspace, selection.view["source"], _source_columns(selection), reader
            )
            if table.version:
                result.sources.append(table.version)
            times = [selection.view["source"].get(role) for role in ("timestamp", "created")]
            if any(
                source_data.is_aware(table.columns[column]) != source_data.is_aware(entity_kind)
                for column in times
                if column
            ):
                result.warnings.append(
                    f"View {selection.view['name']!r}: naive and time-zone-aware timestamps "
                    "were mixed; naive ones were taken as UTC."
                )
            values = _view_values(connection, selection, source, table.columns)
            for name in selection.wanted:
                built[name if not full_names else f"{selection.view['name']}__{name}"] = (
                    values.column(name)
                )
    out = entity
    for column in columns:
        out = out.append_column(column, built[column])
    result.table = out
    result.columns = columns
    return result


def _source_columns(selection: Selected) -> list[str]:
    source = selection.view["source"]
    wanted = list(selection.view["join_keys"])
    wanted += [c for c in (source.get("timestamp"), source.get("created")) if c]
    for feature in selection.computed:
        if feature["kind"] in ("value", "aggregate") and feature.get("column"):
            wanted.append(feature["column"])
    return list(dict.fromkeys(wanted))


def _view_values(
    connection: duckdb.DuckDBPyConnection,
    selection: Selected,
    source: pa.Table,
    kinds: Mapping[str, str],
) -> pa.Table:
    """One view's computed features for every entity row, ordered by row."""
    view = selection.view
    keys = view["join_keys"]
    spec_source = view["source"]
    source = source.append_column("__rn", pa.array(np.arange(source.num_rows, dtype=np.int64)))
    connection.register("src_in", source)
    not_null = " and ".join(f"{q(k)} is not null" for k in keys)
    select = [f"{q(k)}" for k in keys] + ["__rn"]
    plain = [f for f in selection.computed if f["kind"] == "value"]
    aggregates = [f for f in selection.computed if f["kind"] == "aggregate"]
    for index, feature in enumerate(plain):
        select.append(f"{q(feature['column'])} as __v{index}")
    for index, feature in enumerate(aggregates):
        if feature.get("column"):
            select.append(f"{q(feature['column'])} as __a{index}")
    event = spec_source.get("timestamp")
    created = spec_source.get("created")
    if event:
        select.append(f"{_time_sql(event, kinds[event])} as __e")
        select.append(
            f"coalesce({_time_sql(created, kinds[created])}, __e) as __c"
            if created
            else "__e as __c"
        )
    where = f"where {not_null}" + (" and __e is not null" if event else "")
    connection.execute(
        "create or replace temp table src as select * from "
        f"(select {', '.join(select)} from src_in) {where}"
    )
    connection.unregister("src_in")
    parts: list[tuple[str, list[dict[str, Any]]]] = []
    if plain:
        parts.append((_plain_sql(view, keys, plain, bool(event), bool(created)), plain))
    if aggregates:
        parts.append((_window_sql(keys, aggregates, bool(created)), aggregates))
    names = "".join(f", p{i}.{q(f['name'])}" for i, (_, items) in enumerate(parts) for f in items)
    sql = f"select e.{ROW}, e.__t as {q(d.AS_OF)}{names} from entity e"
    for index, (part, _) in enumerate(parts):
        sql += f" left join ({part}) p{index} on p{index}.{ROW} = e.{ROW}"
    for feature in derived_order({"name": view["name"], "features": selection.computed}):
        sql = f"select *, ({feature['expression']}) as {q(feature['name'])} from ({sql})"
    try:
        table = connection.sql(f"select * from ({sql}) order by {ROW}").to_arrow_table()
    except duckdb.Error as exc:
        raise Invalid(f"Computing feature view {view['name']!r} failed: {exc}") from exc
    finally:
        connection.execute("drop table if exists src")
    return table


def _plain_sql(
    view: Mapping[str, Any],
    keys: list[str],
    plain: list[dict[str, Any]],
    timed: bool,
    created: bool,
) -> str:
    pack = ", ".join(f"__v{i} := __v{i}" for i in range(len(plain)))
    key_list = ", ".join(q(k) for k in keys)
    on = " and ".join(f"e.{q(k)} = s.{q(k)}" for k in keys)
    ttl = view.get("ttl_s")
    if not timed:
        latest = (
            f"select {key_list}, max_by(struct_pack({pack}), __rn) as __best "
            f"from src group by {key_list}"
        )
        join = f"select e.{ROW}, s.__best from entity e join ({latest}) s on {on}"
        return _unpack(join, plain, None)
    if not created:
        # One row per (keys, event time): the latest created, then the later source row.
        dedup = (
            f"select {key_list}, __e, "
            f"max_by(struct_pack({pack}), struct_pack(c := __c, rn := __rn)) as __best "
            f"from src group by {key_list}, __e"
        )
        join = (
            f"select e.{ROW}, e.__t, s.__e, s.__best from entity e "
            f"asof join ({dedup}) s on {on} and e.__t >= s.__e"
        )
        return _unpack(join, plain, ttl)
    # Rows count from the time they are visible (event and created both <= T): a running
    # max over source and entity rows ordered by that time, source rows first on ties.
    union = (
        f"select {key_list}, greatest(__e, __c) as __o, null::bigint as {ROW}, "
        f"struct_pack(e := __e, c := __c, rn := __rn) as __w, "
        f"struct_pack(__e := __e, {pack}) as __best from src "
        f"union all by name select {key_list}, __t as __o, {ROW} from entity "
        f"where __t is not null and {' and '.join(f'{q(k)} is not null' for k in keys)}"
    )
    running = (
        f"select {ROW}, max_by(__best, __w) over "
        f"(partition by {key_list} order by __o, {ROW} nulls first "
        f"rows between unbounded preceding and current row) as __best from ({union})"
    )
    join = (
        f"select e.{ROW}, e.__t, r.__best.__e as __e, r.__best from entity e "
        f"join ({running}) r on r.{ROW} = e.{ROW}"
    )
    return _unpack(join, plain, ttl)


def _unpack(join: str, plain: list[dict[str, Any]], ttl: float | None) -> str:
    stale = f"epoch_us(__t) - epoch_us(__e) > {to_micros(ttl)}" if ttl else "false"
    columns = ", ".join(
        f"case when {stale} then null else __best.__v{i} end as {q(f['name'])}"
        for i, f in enumerate(plain)
    )
    return f"select {ROW}, {columns} from ({join})"


def _window_sql(keys: list[str], aggregates: list[dict[str, Any]], created: bool) -> str:
    key_list = ", ".join(q(k) for k in keys)

    def call(index: int, feature: Mapping[str, Any], prefix: str = "") -> str:
        # count(column) counts the column's non-null values; count() without one, events
        template = FUNCTIONS[feature["function"]]
        if feature["function"] == "count" and feature.get("column"):
            template = "count({x})"
        return (
            template.format(x=f"{prefix}__a{index}")
            .replace("__one", f"{prefix}__one")
            .replace("__order", f"{prefix}__order")
        )

    if created:
        # Created times cannot be a window frame: a range join, aggregated per entity row.
        on = " and ".join(f"e.{q(k)} = s.{q(k)}" for k in keys)
        parts = []
        for index, feature in enumerate(aggregates):
            micros = to_micros(feature["window_s"])
            parts.append(
                f"(select e.{ROW}, {call(index, feature, 's.')} as {q(feature['name'])} "
                "from entity e join (select *, 1 as __one, "
                "struct_pack(e := __e, c := __c, rn := __rn) as __order from src) s "
                f"on {on} and s.__e <= e.__t and epoch_us(s.__e) > epoch_us(e.__t) - {micros} "
                f"and s.__c <= e.__t group by e.{ROW})"
            )
        counts = ("count", "distinct_count")
        select = ", ".join(
            f"{'coalesce(' if f['function'] in counts else ''}"
            f"w{i}.{q(f['name'])}{', 0)' if f['function'] in counts else ''} as {q(f['name'])}"
            for i, f in enumerate(aggregates)
        )
        joins = " ".join(
            f"left join {part} w{i} on w{i}.{ROW} = e.{ROW}" for i, part in enumerate(parts)
        )
        valid = " and ".join([*(f"e.{q(k)} is not null" for k in keys), "e.__t is not null"])
        return f"select e.{ROW}, {select} from entity e {joins} where {valid}"
    values = "".join(f", __a{i}" for i, f in enumerate(aggregates) if f.get("column"))
    # the tie-break order only when a `last` needs it: the struct costs on every row
    order = (
        ", struct_pack(e := __e, c := __c, rn := __rn) as __order"
        if any(f["function"] == "last" for f in aggregates)
        else ""
    )
    union = (
        f"select {key_list}, __e as __o, null::bigint as {ROW}, 1 as __one{order}{values} "
        "from src "
        f"union all by name select {key_list}, __t as __o, {ROW} from entity "
        f"where __t is not null and {' and '.join(f'{q(k)} is not null' for k in keys)}"
    )
    frames = {}
    for feature in aggregates:
        micros = to_micros(feature["window_s"])
        frames[micros] = (
            f"w{micros} as (partition by {key_list} order by __o "
            f"range between interval '{micros - 1} microseconds' preceding and current row)"
        )
    select = ", ".join(
        f"{call(i, f)} over w{to_micros(f['window_s'])} as {q(f['name'])}"
        for i, f in enumerate(aggregates)
    )
    return (
        f"select * from (select {ROW}, {select} from ({union}) "
        f"window {', '.join(frames.values())}) "
        f"where {ROW} is not null"
    )
