"""Feature definitions: entities, sources and feature views, as plain Python objects.

These are what a data scientist writes in the workspace's `features/*.py` files (or passes
to `ws.features.apply`). They carry no behaviour beyond checking their own shape and turning
into a JSON spec; the server validates a spec against the real sources and registers it
(`seedbed.features.registry`). This module imports nothing heavy: user files import it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seedbed.errors import Invalid

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
DURATION = re.compile(r"^\s*(\d+)\s*(us|ms|s|m|h|d|w)\s*$")
UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
AGGREGATES = ("count", "sum", "mean", "min", "max", "stddev", "last", "distinct_count")
# The entity row's timestamp, usable in derived features: `year(_as_of) - year_built`.
AS_OF = "_as_of"


def check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise Invalid(
            f"{what} name {name!r} is not allowed: use letters, digits and '_' (at most 63), "
            "starting with a letter or '_'."
        )
    if name == AS_OF:
        raise Invalid(f"{what} name {AS_OF!r} is reserved for the entity row's timestamp.")
    return name


def parse_duration(value: str | int | float | dt.timedelta | None, what: str) -> float | None:
    """Seconds in a duration given as '90s', '15m', '3h', '7d', '2w', seconds, or a timedelta."""
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise Invalid(f"{what} must be a duration such as '3h' or '7d', not {value!r}.")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := DURATION.match(value)):
        seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    else:
        raise Invalid(
            f"{what} {value!r} is not a duration: write it as a number and a unit "
            "(us, ms, s, m, h, d, w), for example '3h' or '7d'."
        )
    if seconds <= 0:
        raise Invalid(f"{what} must be longer than zero, not {value!r}.")
    return seconds


def to_micros(seconds: float) -> int:
    """Whole microseconds in a duration: rounded, since "15us" is 1.4999999999999999e-05 s."""
    return round(seconds * 1_000_000)


def format_duration(seconds: float) -> str:
    for unit in ("d", "h", "m", "s"):
        size = UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class Entity:
    """What features describe, and the columns that identify one: `Entity("route",
    join_keys=["origin", "dest"])`. Join keys default to the entity's name."""

    name: str
    join_keys: list[str] = field(default_factory=list)
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "Entity")
        keys = list(self.join_keys) or [self.name]
        for key in keys:
            check_name(key, f"Join key of entity {self.name!r}:")
        if len(set(keys)) != len(keys):
            raise Invalid(f"Entity {self.name!r} names a join key twice: {keys}.")
        object.__setattr__(self, "join_keys", keys)

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "join_keys": list(self.join_keys),
            "description": self.description,
        }


@dataclass(frozen=True)
class Source:
    """Where a view's rows come from: a warehouse table or view (`table=`) or a dataset
    (`dataset="name"` for its latest version, `"name@3"` for one version).

    `timestamp` is the event-time column (None for a table that does not change over time,
    such as planes); `created` the optional time each row was written, which keeps values
    backfilled after a training row's time out of that row.
    """

    table: str | None = None
    dataset: str | None = None
    timestamp: str | None = None
    created: str | None = None

    def __post_init__(self) -> None:
        if (self.table is None) == (self.dataset is None):
            raise Invalid(
                "A Source reads either a warehouse table (table=) or a dataset (dataset=)."
            )
        if self.created is not None and self.timestamp is None:
            raise Invalid("A Source with a created-time column needs an event-time column too.")

    @property
    def label(self) -> str:
        return f"table {self.table}" if self.table else f"dataset {self.dataset}"

    def spec(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "dataset": self.dataset,
            "timestamp": self.timestamp,
            "created": self.created,
        }


@dataclass(frozen=True)
class Feature:
    """A source column served as the latest value as of each row's time (within the ttl)."""

    column: str
    name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name or self.column)

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "value",
            "name": self.name,
            "column": self.column,
            "description": self.description,
        }


@dataclass(frozen=True)
class Aggregate:
    """A window aggregation over the events in (T - window, T]: `Aggregate("dep_delay",
    "mean", "7d")`. `count` counts events and needs no column."""

    column: str | None
    function: str
    window: str | int | float | dt.timedelta
    name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.function not in AGGREGATES:
            raise Invalid(
                f"Aggregation {self.function!r} is unknown; use one of {', '.join(AGGREGATES)}."
            )
        if self.column is None and self.function != "count":
            raise Invalid(f"Aggregation {self.function!r} needs a column.")
        seconds = parse_duration(self.window, "A window")
        assert seconds is not None
        if not self.name:
            base = self.column or "events"
            object.__setattr__(self, "name", f"{base}_{self.function}_{format_duration(seconds)}")

    @property
    def seconds(self) -> float:
        seconds = parse_duration(self.window, "A window")
        assert seconds is not None
        return seconds

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "aggregate",
            "name": self.name,
            "column": self.column,
            "function": self.function,
            "window_s": self.seconds,
            "description": self.description,
        }


@dataclass(frozen=True)
class Derived:
    """A SQL expression over the view's other features (and `_as_of`, the row's time)."""

    name: str
    expression: str
    description: str = ""

    def spec(self) -> dict[str, Any]:
        return {
            "kind": "derived",
            "name": self.name,
            "expression": self.expression,
            "description": self.description,
        }


@dataclass(frozen=True)
class FeatureView:
    """Features of one or more entities read from one source.

    `ttl` bounds how old a plain value may be at the row's time; older gives null.
    """

    name: str
    entities: list[Entity | str]
    source: Source
    features: list[Feature | str] = field(default_factory=list)
    aggregations: list[Aggregate] = field(default_factory=list)
    derived: list[Derived] = field(default_factory=list)
    ttl: str | int | float | dt.timedelta | None = None
    description: str = ""
    owner: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self.name, "Feature view")
        if not isinstance(self.source, Source):
            raise Invalid(f"Feature view {self.name!r}: source must be a Source(...).")
        if not self.entities:
            raise Invalid(f"Feature view {self.name!r} names no entity.")
        parse_duration(self.ttl, f"The ttl of feature view {self.name!r}")
        plain = [Feature(item) if isinstance(item, str) else item for item in self.features]
        object.__setattr__(self, "features", plain)
        if not (plain or self.aggregations or self.derived):
            raise Invalid(f"Feature view {self.name!r} defines no feature.")

    def spec(self) -> dict[str, Any]:
        items: list[Any] = [*self.features, *self.aggregations, *self.derived]
        return {
            "name": self.name,
            "entities": [e if isinstance(e, str) else e.name for e in self.entities],
            "source": self.source.spec(),
            "ttl_s": parse_duration(self.ttl, "ttl"),
            "features": [item.spec() for item in items],
            "description": self.description,
            "owner": self.owner,
            "tags": dict(self.tags),
        }


def build_spec(objects: Iterable[Any]) -> dict[str, Any]:
    """The JSON spec of a set of definitions: entities named by views are included even
    when only the view was given."""
    entities: dict[str, dict[str, Any]] = {}
    views: dict[str, dict[str, Any]] = {}

    def add_entity(entity: Entity) -> None:
        known = entities.get(entity.name)
        if known is not None and known != entity.spec():
            raise Invalid(f"Entity {entity.name!r} is defined twice, differently.")
        entities[entity.name] = entity.spec()

    for item in objects:
        if isinstance(item, Entity):
            add_entity(item)
        elif isinstance(item, FeatureView):
            if item.name in views:
                raise Invalid(f"Feature view {item.name!r} is defined twice.")
            for entity in item.entities:
                if isinstance(entity, Entity):
                    add_entity(entity)
            views[item.name] = item.spec()
        else:
            raise Invalid(
                f"{item!r} is not a feature definition: give Entity and FeatureView objects."
            )
    return {
        "entities": sorted(entities.values(), key=lambda e: e["name"]),
        "views": sorted(views.values(), key=lambda v: v["name"]),
    }


def views_by_name(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {view["name"]: view for view in spec.get("views", [])}


def entities_by_name(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {entity["name"]: entity for entity in spec.get("entities", [])}


def join_keys(spec: Mapping[str, Any], view: Mapping[str, Any]) -> list[str]:
    """The view's join keys: its entities' keys, in order, each once."""
    known = entities_by_name(spec)
    keys: list[str] = []
    for name in view["entities"]:
        for key in known[name]["join_keys"]:
            if key not in keys:
                keys.append(key)
    return keys
