"""Point-in-time correctness: `offline.compute` against a brute-force reference.

Property tests draw small sources on a coarse time grid (so ties, exact ttl and window
edges and entity rows at an event's time are common) with nulls everywhere, and compare
every feature of every entity row with `reference.compute`. Example tests pin each edge.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features import reference as ref
from seedbed.features import Aggregate, Derived, Entity, Feature, FeatureView, Source, offline
from seedbed.features.definitions import AGGREGATES, build_spec
from seedbed.features.registry import apply
from seedbed.settings import load_settings
from seedbed.workspace import Workspace

BASE = dt.datetime(2024, 3, 10, 6, 0)  # an hour before New York's clocks go forward
US = dt.timedelta(microseconds=1)
MINUTE = dt.timedelta(minutes=1)
ZONES = [None, "UTC", "America/New_York", "Asia/Kolkata"]
KEY = Entity("k")
TABLES = itertools.count()
# About 0.15 s an example (a table, a registry version, a compute): ~25 s for the module.
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One workspace for the module: hypothesis examples load uniquely named tables."""
    root: Path = tmp_path_factory.mktemp("point_in_time") / "ws"
    with Workspace.open(load_settings(workspace=root, port=0)) as opened:
        yield opened


def at(minutes: float, micros: int = 0) -> dt.datetime:
    return BASE + minutes * MINUTE + micros * US


def shown(value: dt.datetime | None, zone: str | None) -> dt.datetime | None:
    """A naive UTC time as the column holds it: unchanged when naive, else in `zone`."""
    if value is None or zone is None:
        return value
    return value.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))


def time_series(values: Sequence[dt.datetime | None], zone: str | None) -> pd.Series:
    kind = f"datetime64[us, {zone}]" if zone else "datetime64[us]"
    return pd.Series([pd.NaT if v is None else pd.Timestamp(v) for v in values], dtype=kind)


def load(
    store: Workspace,
    rows: Sequence[Mapping[str, Any]],
    zone: str | None = None,
    created_zone: str | None = None,
) -> str:
    """A warehouse table of source rows (k, v, and e and c when present); its name. The
    times are naive, or aware in `zone` (e) and `created_zone` (c)."""
    name = f"source_{next(TABLES)}"
    columns: dict[str, Any] = {
        "k": pd.array([r["k"] for r in rows], dtype="Int64"),
        "v": pd.array([r["v"] for r in rows], dtype="Float64"),
    }
    for column, column_zone in (("e", zone), ("c", created_zone)):
        if not rows or column in rows[0]:
            columns[column] = time_series([r[column] for r in rows], column_zone)
    store.warehouse.load_dataframe(name, pd.DataFrame(columns))
    return name


def entity_table(rows: Sequence[Mapping[str, Any]], zone: str | None = None) -> pa.Table:
    return pa.table(
        {
            "k": pa.array([r["k"] for r in rows], pa.int64()),
            "ts": pa.array([r["ts"] for r in rows], pa.timestamp("us", tz=zone)),
        }
    )


def run(
    store: Workspace,
    views: Sequence[FeatureView],
    entity: Sequence[Mapping[str, Any]],
    references: Sequence[str],
    zone: str | None = None,
) -> offline.Result:
    applied = apply(store, build_spec(views), "tester")
    return offline.compute(
        store, applied.spec, entity_table(entity, zone), list(references), timestamp="ts"
    )


def column(result: offline.Result, name: str) -> list[Any]:
    return list(result.table.column(name).to_pylist())


def assert_matches(
    result: offline.Result, expected: Sequence[Mapping[str, Any]], names: Sequence[str]
) -> None:
    for name in names:
        got = column(result, name)
        want = [row[name] for row in expected]
        bad = [
            (index, g, w)
            for index, (g, w) in enumerate(zip(got, want, strict=True))
            if not ref.same(g, w)
        ]
        assert not bad, (
            f"{name}: (row, offline, reference) differ at {bad}\n{result.table.to_pylist()}"
        )


# The derived features used throughout, as SQL for the store and Python for the reference.
def _twice(row: Mapping[str, Any]) -> Any:
    return None if row["v"] is None else row["v"] * 2


def _twice_plus_count(row: Mapping[str, Any]) -> Any:
    return None if row["twice"] is None else row["twice"] + row["events"]


def _minute(row: Mapping[str, Any]) -> Any:
    return None if row[ref.AS_OF] is None else row[ref.AS_OF].minute


DERIVED = [
    (Derived("twice", "v * 2"), ref.Calc("twice", _twice)),
    (Derived("twice_plus", "twice + events"), ref.Calc("twice_plus", _twice_plus_count)),
    (Derived("minute_of", "minute(_as_of)"), ref.Calc("minute_of", _minute)),
]


def timed_view(
    table: str,
    created: bool,
    ttl: dt.timedelta | str | None,
    windows: Mapping[str, dt.timedelta | str],
) -> FeatureView:
    """Every aggregation (named by its function), `v`, `events` (count) and DERIVED."""
    aggregations = [Aggregate(None, "count", windows["events"], name="events")]
    aggregations += [Aggregate("v", f, windows[f], name=f) for f in AGGREGATES]
    return FeatureView(
        "timed",
        [KEY],
        Source(table=table, timestamp="e", created="c" if created else None),
        features=[Feature("v")],
        aggregations=aggregations,
        derived=[sql for sql, _ in DERIVED],
        ttl=ttl,
    )


def timed_reference(
    created: bool, ttl: dt.timedelta | None, windows: Mapping[str, dt.timedelta]
) -> ref.View:
    return ref.View(
        keys=["k"],
        timestamp="e",
        created="c" if created else None,
        ttl=ttl,
        plain=[ref.Plain("v", "v")],
        aggregates=[ref.Agg("events", None, "count", windows["events"])]
        + [ref.Agg(f, "v", f, windows[f]) for f in AGGREGATES],
        derived=[calc for _, calc in DERIVED],
    )


TIMED_NAMES = ["v", "events", *AGGREGATES, *(calc.name for _, calc in DERIVED)]


# Strategies: a grid of whole minutes, nudged by a microsecond now and then.
def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy, strategy, strategy)


nudges = st.sampled_from([0, 0, 0, 1, -1])
times = st.builds(at, st.integers(0, 12), nudges)
keys = optional(st.integers(0, 2))
values = optional(st.integers(-3, 3).map(lambda x: x / 2))
minutes = st.integers(1, 8).map(lambda m: m * MINUTE)
lags = st.builds(lambda m, u: m * MINUTE + u * US, st.integers(-2, 6), nudges)


@st.composite
def source_rows(draw: st.DrawFn, created: bool) -> list[dict[str, Any]]:
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        event = draw(optional(times))
        row = {"k": draw(keys), "v": draw(values), "e": event}
        if created:  # written a little before or after the event (or at an unknown time)
            lag = draw(optional(lags))
            row["c"] = None if lag is None else (event or BASE) + lag
        rows.append(row)
    return rows


entity_rows = st.lists(st.fixed_dictionaries({"k": keys, "ts": optional(times)}), max_size=8)


@PROPERTY
@given(
    data=st.data(),
    created=st.booleans(),
    ttl=optional(minutes),
    windows=st.fixed_dictionaries({name: minutes for name in ["events", *AGGREGATES]}),
    source_zone=st.sampled_from(ZONES),
    created_zone=st.sampled_from(ZONES),
    entity_zone=st.sampled_from(ZONES),
)
def test_timed_view_matches_reference(
    store: Workspace,
    data: st.DataObject,
    created: bool,
    ttl: dt.timedelta | None,
    windows: dict[str, dt.timedelta],
    source_zone: str | None,
    created_zone: str | None,
    entity_zone: str | None,
) -> None:
    rows = data.draw(source_rows(created), label="source")
    entity = data.draw(entity_rows, label="entity")
    shown_rows = [
        {**r, "e": shown(r["e"], source_zone), "c": shown(r.get("c"), created_zone)} for r in rows
    ]
    table = load(store, shown_rows, source_zone, created_zone)
    view = timed_view(table, created, ttl, windows)
    shown_entity = [{**r, "ts": shown(r["ts"], entity_zone)} for r in entity]
    result = run(store, [view], shown_entity, ["timed"], entity_zone)
    expected = ref.compute(timed_reference(created, ttl, windows), shown_rows, shown_entity, "ts")
    assert_matches(result, expected, TIMED_NAMES)
    assert column(result, "k") == [r["k"] for r in entity]
    zones = [source_zone, created_zone] if created else [source_zone]
    assert bool(result.warnings) == any((z is None) != (entity_zone is None) for z in zones)


@settings(PROPERTY, max_examples=50)
@given(
    rows=st.lists(st.fixed_dictionaries({"k": keys, "v": values}), max_size=10),
    entity=entity_rows,
)
def test_static_view_matches_reference(
    store: Workspace, rows: list[dict[str, Any]], entity: list[dict[str, Any]]
) -> None:
    table = load(store, rows)
    view = FeatureView(
        "static",
        [KEY],
        Source(table=table),
        features=[Feature("v")],
        derived=[DERIVED[0][0], DERIVED[2][0]],
    )
    result = run(store, [view], entity, ["static"])
    expected = ref.compute(
        ref.View(["k"], plain=[ref.Plain("v", "v")], derived=[DERIVED[0][1], DERIVED[2][1]]),
        rows,
        entity,
        "ts",
    )
    assert_matches(result, expected, ["v", "twice", "minute_of"])


# Examples, one edge each. Entity rows are (k, ts); source rows (k, v, e[, c]).
def entity(*rows: tuple[int | None, dt.datetime | None]) -> list[dict[str, Any]]:
    return [{"k": k, "ts": ts} for k, ts in rows]


def source(*rows: tuple[Any, ...]) -> list[dict[str, Any]]:
    names = ("k", "v", "e", "c")
    return [dict(zip(names, row, strict=False)) for row in rows]


def plain_view(table: str, created: bool = False, ttl: str | None = None) -> FeatureView:
    return FeatureView(
        "plain",
        [KEY],
        Source(table=table, timestamp="e", created="c" if created else None),
        features=["v"],
        ttl=ttl,
    )


def plain_values(
    store: Workspace,
    rows: list[dict[str, Any]],
    at_rows: list[dict[str, Any]],
    created: bool = False,
    ttl: str | None = None,
) -> list[Any]:
    result = run(store, [plain_view(load(store, rows), created, ttl)], at_rows, ["plain:v"])
    return column(result, "v")


def test_ties_on_event_time_go_to_the_later_source_row(store: Workspace) -> None:
    rows = source((1, 1.0, at(0)), (1, 2.0, at(0)), (1, 3.0, at(0)), (1, 9.0, at(1)))
    assert plain_values(store, rows, entity((1, at(0)), (1, at(0, 999_999)))) == [3.0, 3.0]


def test_an_entity_row_at_exactly_an_event_time_sees_that_event(store: Workspace) -> None:
    rows = source((1, 1.0, at(0)), (1, 2.0, at(5)))
    assert plain_values(store, rows, entity((1, at(5, -1)), (1, at(5)))) == [1.0, 2.0]


def test_ties_go_to_the_latest_created_then_the_later_row(store: Workspace) -> None:
    rows = source(
        (1, 1.0, at(0), at(2)),
        (1, 2.0, at(0), at(1)),
        (1, 3.0, at(0), at(2)),  # same created as the first: the later row wins
        (1, 4.0, at(0), at(1)),
    )
    values = plain_values(store, rows, entity((1, at(1)), (1, at(2))), created=True)
    assert values == [4.0, 3.0]


def test_a_row_created_after_the_entity_time_is_invisible(store: Workspace) -> None:
    rows = source((1, 1.0, at(0), at(0)), (1, 2.0, at(1), at(10)))  # 2.0 backfilled at 10
    at_rows = entity((1, at(5)), (1, at(10, -1)), (1, at(10)))
    assert plain_values(store, rows, at_rows, created=True) == [1.0, 1.0, 2.0]


def test_a_null_created_time_counts_as_created_at_the_event(store: Workspace) -> None:
    rows = source((1, 1.0, at(0), at(0)), (1, 2.0, at(3), None))
    assert plain_values(store, rows, entity((1, at(3))), created=True) == [2.0]


@pytest.mark.parametrize("ttl", ["15us", "3h"])
def test_ttl_includes_its_edge_and_not_a_microsecond_more(store: Workspace, ttl: str) -> None:
    length = pd.Timedelta(ttl).to_pytimedelta()
    rows = source((1, 1.0, at(0), at(0)), (2, 2.0, at(0), at(0)))
    edge, past = at(0) + length, at(0) + length + US
    for created, key in ((False, 1), (True, 2)):
        values = plain_values(store, rows, entity((key, edge), (key, past)), created, ttl)
        assert values == [float(key), None], (ttl, created)


@pytest.mark.parametrize("created", [False, True])
@pytest.mark.parametrize("window", ["15us", "10m"])
def test_a_window_excludes_its_start_and_includes_its_end(
    store: Workspace, created: bool, window: str
) -> None:
    length = pd.Timedelta(window).to_pytimedelta()
    rows = source((1, 1.0, at(0), at(0)), (1, 10.0, at(0) + length, at(0)))
    view = FeatureView(
        "w",
        [KEY],
        Source(table=load(store, rows), timestamp="e", created="c" if created else None),
        aggregations=[Aggregate("v", "sum", window, name="total")],
    )
    ends = entity((1, at(0) + length), (1, at(0) + length - US), (1, at(0) + length + US))
    result = run(store, [view], ends, ["w:total"])
    # At the end the first event sits exactly at T - w: out. A microsecond earlier it is in.
    assert column(result, "total") == [10.0, 1.0, 10.0]


def test_null_keys_event_times_and_entity_times_match_nothing(store: Workspace) -> None:
    rows = source((None, 5.0, at(0)), (1, 6.0, None), (1, 1.0, at(0)))
    at_rows = entity((1, at(1)), (None, at(1)), (1, None))
    assert plain_values(store, rows, at_rows) == [1.0, None, None]


def test_a_null_latest_value_is_null_not_the_value_before(store: Workspace) -> None:
    rows = source((1, 1.0, at(0)), (1, None, at(1)))
    assert plain_values(store, rows, entity((1, at(0)), (1, at(2)))) == [1.0, None]


def test_a_static_source_gives_the_last_row_of_each_key(store: Workspace) -> None:
    table = load(store, source((1, 1.0), (2, 5.0), (1, 2.0), (None, 7.0)))
    view = FeatureView("planes", [KEY], Source(table=table), features=["v"])
    result = run(store, [view], entity((1, at(0)), (2, None), (3, at(0))), ["planes:v"])
    assert column(result, "v") == [2.0, 5.0, None]


def test_every_aggregation_over_one_window(store: Workspace) -> None:
    rows = source(
        (1, 9.0, at(0)),  # at T - w: out
        (1, 2.0, at(1)),
        (1, 4.0, at(2)),
        (1, 4.0, at(3)),
        (1, None, at(3)),  # same time, later row: `last` is null
        (1, 8.0, at(11)),  # after T
    )
    table = load(store, rows)
    windows = {name: "10m" for name in ["events", *AGGREGATES]}
    result = run(store, [timed_view(table, False, None, windows)], entity((1, at(10))), ["timed"])
    got = {name: column(result, name)[0] for name in ["events", *AGGREGATES]}
    want = {
        "events": 4,
        "count": 3,  # the non-null values of the column
        "sum": 10.0,
        "mean": 10.0 / 3,
        "min": 2.0,
        "max": 4.0,
        "stddev": pd.Series([2.0, 4.0, 4.0]).std(),
        "last": None,
        "distinct_count": 2,
    }
    assert all(ref.same(got[name], want[name]) for name in want), (got, want)


@pytest.mark.parametrize("created", [False, True])
def test_an_empty_window_counts_zero_and_aggregates_null(store: Workspace, created: bool) -> None:
    table = load(store, source((1, 3.0, at(0), at(0)), (2, 3.0, at(9), at(9))))
    windows = {name: "5m" for name in ["events", *AGGREGATES]}
    view = timed_view(table, created, None, windows)
    result = run(store, [view], entity((1, at(9)), (3, at(9))), ["timed"])
    got = {name: column(result, name) for name in ["events", *AGGREGATES]}
    nothing = [None, None]
    assert got == {
        "events": [0, 0],
        "count": [0, 0],
        "distinct_count": [0, 0],
        **{name: nothing for name in ["sum", "mean", "min", "max", "stddev", "last"]},
    }


def test_derived_features_use_other_features_and_as_of(store: Workspace) -> None:
    table = load(store, source((1, 1.5, at(0)), (1, 2.5, at(1))))
    view = FeatureView(
        "d",
        [KEY],
        Source(table=table, timestamp="e"),
        features=["v"],
        aggregations=[Aggregate(None, "count", "1h", name="events")],
        derived=[sql for sql, _ in DERIVED],
    )
    result = run(store, [view], entity((1, at(1)), (2, at(7))), ["d:twice_plus", "d:minute_of"])
    assert result.table.column_names == ["k", "ts", "twice_plus", "minute_of"]
    assert column(result, "twice_plus") == [7.0, None]
    assert column(result, "minute_of") == [1, 7]


@pytest.mark.parametrize(
    ("source_zone", "entity_zone", "warned"),
    [
        ("America/New_York", None, True),
        (None, "Asia/Kolkata", True),
        ("America/New_York", "Asia/Kolkata", False),
        (None, None, False),
    ],
)
def test_aware_times_are_compared_in_utc_and_mixing_is_warned(
    store: Workspace, source_zone: str | None, entity_zone: str | None, warned: bool
) -> None:
    rows = [
        {"k": 1, "v": v, "e": shown(at(m), source_zone)}
        for v, m in ((1.0, 0), (2.0, 60), (3.0, 120))
    ]
    table = load(store, rows, source_zone)
    view = FeatureView("z", [KEY], Source(table=table, timestamp="e"), features=["v"])
    at_rows = [{"k": 1, "ts": shown(t, entity_zone)} for t in (at(60, -1), at(60), at(119))]
    result = run(store, [view], at_rows, ["z:v"], entity_zone)
    assert column(result, "v") == [1.0, 2.0, 2.0]
    assert bool(result.warnings) == warned
    if warned:
        assert "naive ones were taken as UTC" in result.warnings[0]


def test_composite_keys_and_two_views_in_one_call(store: Workspace) -> None:
    region = Entity("region")
    frame = pd.DataFrame(
        {
            "k": pd.array([1, 1, 1, 2], dtype="Int64"),
            "region": ["north", "south", "north", None],
            "v": [1.0, 2.0, 3.0, 4.0],
            "e": time_series([at(0), at(0), at(2), at(0)], None),
        }
    )
    timed_table, static_table = f"pair_{next(TABLES)}", load(store, source((1, 7.0), (2, 8.0)))
    store.warehouse.load_dataframe(timed_table, frame)
    views = [
        FeatureView("by_region", [KEY, region], Source(table=timed_table, timestamp="e"), ["v"]),
        FeatureView("planes", [KEY], Source(table=static_table), features=["v"]),
    ]
    rows = pa.table(
        {
            "region": ["north", "south", "north", None],
            "k": pa.array([1, 1, 1, 2], pa.int64()),
            "ts": pa.array([at(1), at(1), at(2), at(1)], pa.timestamp("us")),
        }
    )
    applied = apply(store, build_spec(views), "tester")
    result = offline.compute(
        store, applied.spec, rows, ["by_region:v", "planes:v"], timestamp="ts", full_names=True
    )
    assert result.table.column_names == ["region", "k", "ts", "by_region__v", "planes__v"]
    assert column(result, "by_region__v") == [1.0, 2.0, 3.0, None]
    assert column(result, "planes__v") == [7.0, 7.0, 7.0, 8.0]
