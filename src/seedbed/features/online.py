"""The online store: for each view and entity key, the latest plain values with their event
time, and the window aggregates and derived features as of the materialization time.

Writes compare times inside the upsert, so an older write never replaces a newer value: plain
values are replaced only by values with an event time at least as new, windows only by a
materialization at least as recent. Lookups apply the view's ttl to the stored event time at
the moment of the lookup, so an expired value is served as null.

SQLite (a file in the workspace) is the default; Redis (`[features] online_store =
"redis://..."`, `online_redis.py`) holds the same rows as hashes, upserted by Lua scripts.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from seedbed.errors import Invalid
from seedbed.features.definitions import to_micros
from seedbed.workspace import Workspace

NONE_US = -(2**62)  # "no event": older than any real time in upsert comparisons
MAX_ENTITIES = 10_000  # per lookup; bulk reads are what training sets are for


@dataclass(frozen=True)
class OnlineRow:
    """One entity of one view as stored: `key` is the JSON list of its join-key values."""

    key: str
    event_us: int | None  # event time of the plain values; None: no value visible yet
    plain: str  # JSON object: plain feature → value
    as_of_us: int  # when the windows and derived features were computed
    windows: str  # JSON object: aggregate or derived feature → value


@dataclass(frozen=True)
class ViewState:
    """A materialized view: its spec as materialized, and the newest materialization time."""

    view: dict[str, Any]
    definitions_version: int
    as_of_us: int

    @property
    def name(self) -> str:
        return str(self.view["name"])


@dataclass(frozen=True)
class Batch:
    """One view's rows to upsert; with `keep`, the view's rows whose keys are not in it (no
    longer in the source) and that are older than this materialization are removed."""

    state: ViewState
    rows: Sequence[OnlineRow]
    keep: frozenset[str] | None = None


class OnlineStore(Protocol):
    def write(self, batches: Sequence[Batch]) -> None:
        """Upsert every batch at once (all or nothing), never replacing newer values."""

    def read(self, view: str, keys: Sequence[str]) -> list[OnlineRow | None]:
        """The rows of `keys` in order; None for a key never materialized."""

    def rows(self, view: str) -> list[OnlineRow]:
        """Every stored row of a view."""

    def views(self) -> dict[str, ViewState]:
        """The materialized views by name."""

    def close(self) -> None: ...


def json_value(value: Any) -> Any:
    """A computed value as JSON can carry it: times as ISO text, NaN as null."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


def encode_key(values: Iterable[Any]) -> str:
    return json.dumps([json_value(v) for v in values], separators=(",", ":"))


INTEGER_KEYS = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
)  # fmt: skip


def key_value(value: Any, kind: str, name: str) -> Any:
    """A join-key value from a request, as the source's type stores it (`"7"` → 7 for an
    integer key), so the lookup finds what materialization wrote."""
    upper = kind.upper()
    if isinstance(value, bool | dict | list):
        raise Invalid(f"Join key {name!r} must be a single value, not {value!r}.")
    try:
        if upper in INTEGER_KEYS:
            return int(value) if value is not None else None
        if upper in ("FLOAT", "DOUBLE", "REAL") or upper.startswith("DECIMAL"):
            return float(value) if value is not None else None
    except (TypeError, ValueError):
        raise Invalid(f"Join key {name!r} is {kind}; {value!r} is not one.") from None
    return value


def serve_plain(row: OnlineRow | None, ttl_s: float | None, now_us: int) -> dict[str, Any]:
    """The plain values a lookup at `now_us` serves: nothing when older than the ttl."""
    if row is None or row.event_us is None:
        return {}
    if ttl_s and now_us - row.event_us > to_micros(ttl_s):
        return {}
    values: dict[str, Any] = json.loads(row.plain)
    return values


def open_store(workspace: Workspace) -> OnlineStore:
    """The online store the settings name: SQLite in the workspace by default, or Redis."""
    url = workspace.settings.features.online_store
    if url.startswith(("redis://", "rediss://")):
        from seedbed.features.online_redis import RedisOnlineStore

        return RedisOnlineStore(url)
    if url == "sqlite":
        return SqliteOnlineStore(workspace.runtime_dir / "online.sqlite")
    return SqliteOnlineStore(Path(url.removeprefix("sqlite:///")))


SCHEMA = """
create table if not exists online_views (
    view text primary key, definitions_version integer not null,
    spec text not null, as_of_us integer not null);
create table if not exists online_values (
    view text not null, entity text not null, event_us integer, plain text not null,
    as_of_us integer not null, windows text not null,
    primary key (view, entity)) without rowid;
"""
# In an UPDATE every right-hand side sees the old row, so each CASE compares old with new.
UPSERT_VALUE = f"""
insert into online_values (view, entity, event_us, plain, as_of_us, windows)
values (?, ?, ?, ?, ?, ?)
on conflict (view, entity) do update set
    plain = case when coalesce(excluded.event_us, {NONE_US}) >= coalesce(event_us, {NONE_US})
        then excluded.plain else plain end,
    event_us = case when coalesce(excluded.event_us, {NONE_US}) >= coalesce(event_us, {NONE_US})
        then excluded.event_us else event_us end,
    windows = case when excluded.as_of_us >= as_of_us then excluded.windows else windows end,
    as_of_us = max(as_of_us, excluded.as_of_us)
"""
UPSERT_VIEW = """
insert into online_views (view, definitions_version, spec, as_of_us) values (?, ?, ?, ?)
on conflict (view) do update set
    spec = case when excluded.definitions_version >= definitions_version
        then excluded.spec else spec end,
    definitions_version = max(definitions_version, excluded.definitions_version),
    as_of_us = max(as_of_us, excluded.as_of_us)
"""


class SqliteOnlineStore:
    """A SQLite file in WAL mode: one writer connection per write, and a read-only
    connection per thread that lookups keep open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._writer() as connection:
            connection.executescript(SCHEMA)

    def _writer(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        connection.execute("pragma journal_mode=wal")
        connection.execute("pragma synchronous=normal")
        return connection

    def _reader(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, check_same_thread=False
            )
            self._local.connection = connection
            with self._lock:
                self._readers.append(connection)
        return connection

    def write(self, batches: Sequence[Batch]) -> None:
        connection = self._writer()
        try:
            connection.execute("begin immediate")
            for batch in batches:
                state, rows = batch.state, batch.rows
                if batch.keep is not None:
                    self._remove_others(connection, state, batch.keep)
                connection.executemany(
                    UPSERT_VALUE,
                    ((state.name, r.key, r.event_us, r.plain, r.as_of_us, r.windows) for r in rows),
                )
                connection.execute(
                    UPSERT_VIEW,
                    (
                        state.name,
                        state.definitions_version,
                        json.dumps(state.view, sort_keys=True),
                        state.as_of_us,
                    ),
                )
            connection.execute("commit")
        except BaseException:
            if connection.in_transaction:
                connection.execute("rollback")
            raise
        finally:
            connection.close()

    @staticmethod
    def _remove_others(
        connection: sqlite3.Connection, state: ViewState, keep: Iterable[str]
    ) -> None:
        connection.execute("create temp table if not exists keep (entity text primary key)")
        connection.execute("delete from keep")
        connection.executemany("insert or ignore into keep values (?)", ((k,) for k in keep))
        connection.execute(
            "delete from online_values where view = ? and as_of_us < ? "
            "and entity not in (select entity from keep)",
            (state.name, state.as_of_us),
        )

    def read(self, view: str, keys: Sequence[str]) -> list[OnlineRow | None]:
        connection = self._reader()
        if len(keys) == 1:
            found = connection.execute(
                "select entity, event_us, plain, as_of_us, windows from online_values "
                "where view = ? and entity = ?",
                (view, keys[0]),
            ).fetchall()
        else:
            marks = ", ".join("?" * len(set(keys)))
            found = connection.execute(
                "select entity, event_us, plain, as_of_us, windows from online_values "
                f"where view = ? and entity in ({marks})",
                (view, *set(keys)),
            ).fetchall()
        by_key = {row[0]: OnlineRow(*row) for row in found}
        return [by_key.get(key) for key in keys]

    def rows(self, view: str) -> list[OnlineRow]:
        found = (
            self._reader()
            .execute(
                "select entity, event_us, plain, as_of_us, windows from online_values "
                "where view = ? order by entity",
                (view,),
            )
            .fetchall()
        )
        return [OnlineRow(*row) for row in found]

    def views(self) -> dict[str, ViewState]:
        found = (
            self._reader()
            .execute("select spec, definitions_version, as_of_us from online_views")
            .fetchall()
        )
        states = [ViewState(json.loads(spec), version, as_of) for spec, version, as_of in found]
        return {state.name: state for state in states}

    def close(self) -> None:
        with self._lock:
            for connection in self._readers:
                connection.close()
            self._readers.clear()
        self._local = threading.local()


@dataclass(frozen=True)
class Plan:
    """How to answer a lookup for one list of features: resolved once, then cached."""

    columns: dict[str, str]  # output column → "view:feature"
    keys: dict[str, str]  # join key → its type
    views: list[tuple[ViewState, list[str], list[tuple[str, str, bool]]]]  # (column, name, plain)


class OnlineFeatures:
    """Lookups against the online store, with the materialized specs and resolved feature
    lists cached in memory until the next materialization (`invalidate`)."""

    def __init__(self, workspace: Workspace, store: OnlineStore | None = None) -> None:
        self.store = store if store is not None else open_store(workspace)
        self._states: dict[str, ViewState] | None = None
        self._plans: dict[tuple[tuple[str, ...], bool], Plan] = {}

    def invalidate(self) -> None:
        self._states = None
        self._plans = {}

    def states(self) -> dict[str, ViewState]:
        if self._states is None:
            self._states = self.store.views()
        return self._states

    def plan(self, features: Sequence[str], full_names: bool = False) -> Plan:
        cache_key = (tuple(features), full_names)
        found = self._plans.get(cache_key)
        if found is not None:
            return found
        from seedbed.features.offline import select_features

        states = self.states()
        spec = {"views": [state.view for state in states.values()]}
        try:
            selected, columns = select_features(spec, list(features), full_names)
        except Invalid as exc:
            raise Invalid(
                f"{exc} Only materialized views are served online: run `seedbed features "
                "materialize` after registering new ones."
            ) from None
        keys: dict[str, str] = {}
        views = []
        for selection in selected:
            view = selection.view
            keys.update({k: view.get("key_types", {}).get(k, "") for k in view["join_keys"]})
            kinds = {f["name"]: f["kind"] for f in view["features"]}
            prefix = f"{view['name']}__" if full_names else ""
            wanted = [(prefix + n, n, kinds[n] == "value") for n in selection.wanted]
            views.append((states[view["name"]], list(view["join_keys"]), wanted))
        clash = sorted(set(columns) & set(keys))
        if clash:
            raise Invalid(
                f"Features {', '.join(clash)} are named like join keys: pass full_names=true."
            )
        plan = Plan(columns, keys, views)
        if len(self._plans) < 1024:
            self._plans[cache_key] = plan
        return plan

    def lookup(
        self,
        entities: Sequence[Mapping[str, Any]],
        features: Sequence[str],
        now_us: int,
        full_names: bool = False,
    ) -> tuple[Plan, list[dict[str, Any]]]:
        """One result per entity: its fields and the features as served at `now_us`."""
        if len(entities) > MAX_ENTITIES:
            raise Invalid(
                f"{len(entities)} entities in one lookup is too many: send at most "
                f"{MAX_ENTITIES} per request, or build a training set for bulk reads."
            )
        plan = self.plan(features, full_names)
        results: list[dict[str, Any]] = []
        for index, entity in enumerate(entities):
            if not isinstance(entity, Mapping):
                raise Invalid(f"Entity {index} is not an object such as {{'origin': 'JFK'}}.")
            missing = [k for k in plan.keys if k not in entity]
            if missing:
                raise Invalid(
                    f"Entity {index} lacks the join keys {', '.join(missing)} that the features "
                    f"need (it has: {', '.join(map(str, entity)) or 'nothing'})."
                )
            clash = [c for c in plan.columns if c in entity and c not in plan.keys]
            if clash:
                raise Invalid(f"Entity {index} has fields named like features: {clash}.")
            results.append(dict(entity))
        for state, keys, wanted in plan.views:
            encoded = [encode_key(key_value(e[k], plan.keys[k], k) for k in keys) for e in entities]
            ttl = state.view.get("ttl_s")
            for result, row in zip(results, self.store.read(state.name, encoded), strict=True):
                plain = serve_plain(row, ttl, now_us)
                windows = json.loads(row.windows) if row is not None else {}
                for column, name, is_plain in wanted:
                    result[column] = (plain if is_plain else windows).get(name)
        return plan, results

    def close(self) -> None:
        self.store.close()
