"""Feast's side of bench/features.py; runs in Feast's own virtualenv (.bench/feast-venv).

Feast's pins conflict with seedbed's, so bench/features.py creates that virtualenv and calls
this script in a subprocess of it; it imports only Feast and the standard library plus what
Feast brings (pandas, pyarrow), and prints one line of JSON on stdout.

    feast_peer.py setup REPO DATA STORE     write feature_store.yaml, apply the definitions
    feast_peer.py offline REPO ENTITIES OUT RUNS  time get_historical_features(...).to_df()
    feast_peer.py materialize REPO END       load weather_live into the SQLite online store

DATA holds weather.parquet, carrier_hourly.parquet and weather_live.parquet (timestamps as
UTC); STORE is "duckdb" or "file" (Feast's dask-based file offline store).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, UTC
from pathlib import Path

WEATHER = ["temp", "wind_speed", "precip", "visib", "humid"]
CARRIER = ["carrier_delay_1d", "carrier_flights_1d"]
FEATURES = [f"weather:{name}" for name in WEATHER] + [f"carrier_1d:{name}" for name in CARRIER]


def setup(repo: Path, data: Path, store: str) -> dict[str, object]:
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    repo.mkdir(parents=True, exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        "project: bench\n"
        "provider: local\n"
        f"registry: {repo / 'registry.db'}\n"
        "online_store:\n"
        "  type: sqlite\n"
        f"  path: {repo / 'online.db'}\n"
        "offline_store:\n"
        f"  type: {store}\n"
        "entity_key_serialization_version: 3\n"
    )
    origin = Entity(name="origin", join_keys=["origin"], value_type=ValueType.STRING)
    carrier = Entity(name="carrier", join_keys=["carrier"], value_type=ValueType.STRING)

    def weather_view(name: str, path: Path) -> FeatureView:
        return FeatureView(
            name=name,
            entities=[origin],
            ttl=timedelta(hours=3),
            schema=[Field(name=column, dtype=Float64) for column in WEATHER],
            source=FileSource(name=f"{name}_source", path=str(path), timestamp_field="time_hour"),
        )

    carrier_view = FeatureView(
        name="carrier_1d",
        entities=[carrier],
        ttl=timedelta(hours=2),
        schema=[
            Field(name="carrier_delay_1d", dtype=Float64),
            Field(name="carrier_flights_1d", dtype=Int64),
        ],
        source=FileSource(
            name="carrier_source", path=str(data / "carrier_hourly.parquet"), timestamp_field="hour"
        ),
    )
    started = time.perf_counter()
    FeatureStore(repo_path=str(repo)).apply(
        [
            origin,
            carrier,
            weather_view("weather", data / "weather.parquet"),
            weather_view("weather_live", data / "weather_live.parquet"),
            carrier_view,
        ]
    )
    return {"apply_s": time.perf_counter() - started}


def offline(repo: Path, entities: Path, out: Path, runs: int) -> dict[str, object]:
    """RUNS timed calls after one warm-up call (none with RUNS 0: one call, timed)."""
    import pandas as pd
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(repo))
    entity_df = pd.read_parquet(entities)
    times = []
    for _ in range(max(runs, 0) + 1):
        started = time.perf_counter()
        frame = store.get_historical_features(entity_df=entity_df, features=FEATURES).to_df()
        times.append(time.perf_counter() - started)
        if len(times) == 1:
            frame[["row_id", *WEATHER, *CARRIER]].to_parquet(out, index=False)
    return {"seconds": times[1:] if runs > 0 else times, "rows": len(frame)}


def materialize(repo: Path, end: str) -> dict[str, object]:
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(repo))
    finish = datetime.fromisoformat(end).replace(tzinfo=UTC)
    started = time.perf_counter()
    store.materialize(finish - timedelta(days=3), finish, feature_views=["weather_live"])
    return {"seconds": time.perf_counter() - started}


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "setup":
        result = setup(Path(args[0]), Path(args[1]), args[2])
    elif command == "offline":
        result = offline(Path(args[0]), Path(args[1]), Path(args[2]), int(args[3]))
    elif command == "materialize":
        result = materialize(Path(args[0]), args[1])
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
