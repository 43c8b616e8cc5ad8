"""The online store: materialization with the offline engine, lookups with the ttl applied at
lookup time, out-of-order writes, incremental runs and the consistency check, on the real
SQLite store and (when Debian's redis-server is installed) a real Redis."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from auth_sessions import token_for
from seedbed.errors import Invalid
from seedbed.features import Aggregate, Derived, Entity, Feature, FeatureView, Source
from seedbed.features.consistency import check
from seedbed.features.definitions import build_spec
from seedbed.features.materialize import materialize, utc_us
from seedbed.features.online import (
    Batch,
    OnlineFeatures,
    OnlineRow,
    OnlineStore,
    SqliteOnlineStore,
    ViewState,
)
from seedbed.features.online_redis import RedisOnlineStore
from seedbed.features.registry import apply
from seedbed.workspace import Workspace

NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
HOUR = dt.timedelta(hours=1)
STATION = Entity("station")
WEATHER = FeatureView(
    "weather",
    entities=[STATION],
    source=Source(table="readings", timestamp="at"),
    ttl="1h",
    features=[Feature("temp"), Feature("wind")],
    aggregations=[Aggregate("temp", "mean", "1d"), Aggregate(None, "count", "1d", name="n_1d")],
    derived=[Derived("temp_range", "temp_mean_1d * 2")],
)
ALL = ["weather:temp", "weather:wind", "weather:temp_mean_1d", "weather:n_1d", "weather:temp_range"]


def readings(rows: list[tuple[str, dt.datetime, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["station", "at", "temp", "wind"]).astype(
        {"at": "datetime64[us]"}
    )


FIRST = [
    ("a", NOW - 3 * HOUR, 10.0, 1.0),
    ("a", NOW - HOUR / 2, 20.0, 2.0),
    ("b", NOW - 2 * HOUR, 5.0, 3.0),
    ("d", NOW - 240 * HOUR, 7.0, 4.0),  # outside every window
]


# A static view (no event time) whose feature `temp` clashes with weather's.
STATIONS = FeatureView(
    "stations",
    entities=[STATION],
    source=Source(table="stations"),
    features=[Feature("elevation"), Feature("normal_temp", name="temp")],
)


def _register(workspace: Workspace) -> Workspace:
    workspace.warehouse.load_dataframe("readings", readings(FIRST))
    workspace.warehouse.load_dataframe(
        "stations",
        pd.DataFrame({"station": ["a", "b"], "elevation": [10, 250], "normal_temp": [12.5, 8.0]}),
    )
    apply(workspace, build_spec([WEATHER, STATIONS]), "tester")
    return workspace


@pytest.fixture
def registered(local_workspace: Workspace) -> Workspace:
    return _register(local_workspace)


def lookup(online: OnlineFeatures, stations: list[str], now: dt.datetime = NOW) -> list[dict]:
    _, results = online.lookup([{"station": s} for s in stations], ALL, utc_us(now))
    return results


def test_materialize_then_lookup_serves_latest_values_and_windows(registered: Workspace) -> None:
    online = OnlineFeatures(registered)
    done = materialize(registered, online, as_of=NOW)
    assert [(m.view, m.mode, m.entities) for m in done] == [
        ("stations", "full", 2),
        ("weather", "full", 3),
    ]
    a, b, c, d = lookup(online, ["a", "b", "c", "d"])
    assert a == {
        "station": "a",
        "temp": 20.0,
        "wind": 2.0,
        "temp_mean_1d": 15.0,
        "n_1d": 2,
        "temp_range": 30.0,
    }
    # b's reading is 2h old: past the 1h ttl, so null; the day's window still holds it.
    assert (b["temp"], b["wind"], b["temp_mean_1d"], b["n_1d"]) == (None, None, 5.0, 1)
    assert c == {"station": "c", **dict.fromkeys(["temp", "wind", "temp_mean_1d"]),
                 "n_1d": None, "temp_range": None}  # fmt: skip
    assert (d["temp"], d["n_1d"]) == (None, 0)
    assert check(registered, online).mismatches == []


def test_views_together_and_name_clashes(registered: Workspace) -> None:
    online = OnlineFeatures(registered)
    materialize(registered, online, as_of=NOW)
    with pytest.raises(Invalid, match="full_names"):
        online.lookup([{"station": "a"}], ["weather:temp", "stations"], utc_us(NOW))
    plan, results = online.lookup(
        [{"station": "b"}, {"station": 7}], ["weather:n_1d", "stations"], utc_us(NOW), True
    )
    assert list(plan.columns) == ["weather__n_1d", "stations__elevation", "stations__temp"]
    assert results[0] == {
        "station": "b",
        "weather__n_1d": 1,
        "stations__elevation": 250,
        "stations__temp": 8.0,
    }
    assert results[1]["stations__elevation"] is None
    with pytest.raises(Invalid, match="too many"):
        online.lookup([{"station": "a"}] * 10_001, ["stations"], utc_us(NOW))


def test_materialize_twice_and_incrementally_on_both_metadata_dbs(workspace: Workspace) -> None:
    online = OnlineFeatures(_register(workspace))
    materialize(workspace, online, as_of=NOW - HOUR)
    materialize(workspace, online, as_of=NOW - 2 * HOUR)  # older: the watermark stays
    done = materialize(workspace, online, views=["weather"], incremental=True, as_of=NOW)
    assert [(m.mode, m.entities) for m in done] == [("incremental", 2)]  # a and b: in windows
    assert check(workspace, online).mismatches == []


def test_ttl_is_applied_at_lookup_time(registered: Workspace) -> None:
    online = OnlineFeatures(registered)
    # Materialized 2.5h ago, a's 3h-old reading was 30 min old and so served then ...
    materialize(registered, online, as_of=NOW - 2.5 * HOUR)
    assert lookup(online, ["a"], now=NOW - 2.5 * HOUR)[0]["temp"] == 10.0
    # ... and is null now, though nothing was written since.
    assert lookup(online, ["a"])[0]["temp"] is None
    assert lookup(online, ["a"])[0]["temp_mean_1d"] == 10.0  # windows as of materialization


def test_an_older_write_never_replaces_a_newer_value(registered: Workspace) -> None:
    online = OnlineFeatures(registered)
    materialize(registered, online, as_of=NOW)
    materialize(registered, online, as_of=NOW - 2 * HOUR)  # a late, slower run
    a = lookup(online, ["a"])[0]
    assert (a["temp"], a["n_1d"]) == (20.0, 2)
    assert online.states()["weather"].as_of_us == utc_us(NOW)


def test_bad_lookups_say_what_to_fix(registered: Workspace) -> None:
    online = OnlineFeatures(registered)
    with pytest.raises(Invalid, match="run `seedbed features materialize`"):
        online.lookup([{"station": "a"}], ["weather:temp"], utc_us(NOW))
    materialize(registered, online, as_of=NOW)
    with pytest.raises(Invalid, match="view 'weather' has no feature 'nope'"):
        online.lookup([{"station": "a"}], ["weather:nope"], utc_us(NOW))
    with pytest.raises(Invalid, match="no feature view 'rain'"):
        online.lookup([{"station": "a"}], ["rain"], utc_us(NOW))
    with pytest.raises(Invalid, match="Entity 1 lacks the join keys station"):
        online.lookup([{"station": "a"}, {"origin": "a"}], ["weather"], utc_us(NOW))
    with pytest.raises(Invalid, match="No feature view 'rain' is registered"):
        materialize(registered, online, views=["rain"])


def test_incremental_equals_full_and_reads_only_what_changed(
    registered: Workspace, tmp_path: Path
) -> None:
    online = OnlineFeatures(registered)
    materialize(registered, online, as_of=NOW - HOUR / 4)
    registered.warehouse.load_dataframe(
        "readings",
        readings([*FIRST, ("a", NOW - HOUR / 8, 30.0, 9.0), ("e", NOW - HOUR / 8, 1.0, 1.0)]),
    )
    done = materialize(registered, online, incremental=True, as_of=NOW)
    # a and e have new rows; b has events in the windows; d has nothing to recompute.
    # stations has no event time: every run reads it whole.
    assert [(m.view, m.mode, m.entities) for m in done] == [
        ("stations", "full", 2),
        ("weather", "incremental", 3),
    ]
    full = OnlineFeatures(registered, SqliteOnlineStore(tmp_path / "full.sqlite"))
    materialize(registered, full, as_of=NOW)
    stations = ["a", "b", "c", "d", "e"]
    assert lookup(online, stations) == lookup(full, stations)
    assert lookup(online, ["a"])[0]["temp"] == 30.0
    assert check(registered, online).mismatches == []


def test_check_reports_values_that_changed_without_materializing(registered: Workspace) -> None:
    online = OnlineFeatures(registered)
    materialize(registered, online, as_of=NOW - HOUR / 4)
    registered.warehouse.load_dataframe(
        "readings", readings([*FIRST, ("a", NOW - HOUR / 8, 30.0, 2.0)])
    )
    report = check(registered, online)
    found = {(m.keys["station"], m.feature): (m.online, m.offline) for m in report.mismatches}
    # wind is 2.0 in both rows, so it agrees; the windows were taken before the new row.
    assert found == {("a", "temp"): (20.0, 30.0)}
    assert report.as_dict()["ok"] is False


def _rows(store: OnlineStore) -> dict[str, tuple[Any, ...]]:
    return {r.key: (r.event_us, json.loads(r.plain), r.as_of_us) for r in store.rows("v")}


def _store_rules(store: OnlineStore) -> None:
    state = ViewState({"name": "v", "join_keys": ["k"], "features": []}, 1, 100)
    store.write([Batch(state, [OnlineRow('["x"]', 50, '{"f": 2}', 100, "{}")])])
    # an older event and an older materialization change nothing
    store.write([Batch(state, [OnlineRow('["x"]', 40, '{"f": 1}', 90, '{"w": 1}')])])
    assert _rows(store) == {'["x"]': (50, {"f": 2}, 100)}
    # a newer event replaces the plain values and keeps the newer windows
    store.write([Batch(state, [OnlineRow('["x"]', 60, '{"f": 3}', 95, '{"w": 9}')])])
    assert _rows(store) == {'["x"]': (60, {"f": 3}, 100)}
    assert store.read("v", ['["x"]', '["y"]'])[1] is None
    assert store.views()["v"].as_of_us == 100
    # a key gone from the source goes, unless a newer materialization wrote it
    older = ViewState(state.view, 1, 99)
    store.write([Batch(older, [OnlineRow('["y"]', 1, "{}", 99, "{}")], frozenset(['["y"]']))])
    assert set(_rows(store)) == {'["x"]', '["y"]'}
    newer = ViewState(state.view, 1, 200)
    store.write([Batch(newer, [], frozenset(['["y"]']))])
    assert set(_rows(store)) == {'["y"]'}


def test_sqlite_store_keeps_the_newer_value(tmp_path: Path) -> None:
    store = SqliteOnlineStore(tmp_path / "online.sqlite")
    _store_rules(store)
    store.close()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A real redis-server on a free port (Debian's package; `make system-deps` installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            RedisOnlineStore(url).close()
            break
        except Invalid:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_redis_store_keeps_the_newer_value(redis_url: str) -> None:
    store = RedisOnlineStore(redis_url)
    _store_rules(store)
    store.close()


def test_redis_store_serves_the_same_values(registered: Workspace, redis_url: str) -> None:
    online = OnlineFeatures(registered, RedisOnlineStore(redis_url))
    sqlite = OnlineFeatures(registered)
    for store in (online, sqlite):
        materialize(registered, store, as_of=NOW)
    stations = ["a", "b", "c", "d"]
    assert lookup(online, stations) == lookup(sqlite, stations)
    assert check(registered, online).mismatches == []
    online.close()


def test_api_lookup_materialize_and_check(registered: Workspace, client: TestClient) -> None:
    viewer = {"Authorization": f"Bearer {token_for(registered, 'vic', 'viewer')}"}
    refused = client.post("/api/v1/features/materialize", json={}, headers=viewer)
    assert refused.status_code == 403
    done = client.post("/api/v1/features/materialize", json={"views": ["weather"]})
    assert done.status_code == 200, done.text
    assert done.json()["views"][0]["entities"] == 3
    body = {"features": ["weather:temp", "weather:n_1d"], "entities": [{"station": "a"}]}
    found = client.post("/api/v1/features/online", json=body, headers=viewer)
    assert found.status_code == 200, found.text
    assert found.json()["features"] == ["temp", "n_1d"]
    assert found.json()["results"] == [{"station": "a", "temp": 20.0, "n_1d": 2}]
    for bad, message in (
        ({**body, "features": ["weather:nope"]}, "has no feature 'nope'"),
        ({**body, "entities": [{"origin": "a"}]}, "lacks the join keys station"),
        ({**body, "entities": [{"station": {"x": 1}}]}, "must be a single value"),
        ({"features": ["weather"]}, "entities"),
    ):
        answer = client.post("/api/v1/features/online", json=bad, headers=viewer)
        assert answer.status_code in (400, 422), answer.text
        assert message in answer.text
    assert client.post("/api/v1/features/check", json={}, headers=viewer).status_code == 403
    checked = client.post("/api/v1/features/check", json={"views": ["weather"]})
    assert checked.status_code == 200 and checked.json()["ok"] is True, checked.text
    unknown = client.post("/api/v1/features/check", json={"views": ["rain"]})
    assert unknown.status_code == 400 and "not materialized" in unknown.text
