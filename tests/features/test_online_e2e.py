"""The online store end to end against a real server: `seedbed features materialize` and
`check` through the CLI, lookups through the SDK, and check guarding a pipeline with its exit
code when new source rows arrive without a materialization."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pandas as pd
import pytest

import seedbed as sb
from seedbed.errors import Invalid
from seedbed.features import Aggregate, Entity, Feature, FeatureView, Source
from server_process import SeedbedServer
from server_process import run_cli as run

pytestmark = pytest.mark.e2e

NOW = pd.Timestamp(dt.datetime.now(dt.UTC).replace(tzinfo=None)).floor("s")
STATION = Entity("station")
WEATHER = FeatureView(
    "weather",
    entities=[STATION],
    source=Source(dataset="readings", timestamp="at"),
    ttl="1h",
    features=[Feature("temp")],
    aggregations=[Aggregate(None, "count", "1d", name="n_1d")],
)


def readings(rows: list[tuple[str, pd.Timestamp, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["station", "at", "temp"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("online-e2e") / "ws") as running:
        yield running


def test_materialize_lookup_and_check(server: SeedbedServer) -> None:
    env = {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}
    ws = sb.connect(server.url, server.token)
    first = [("a", NOW - pd.Timedelta("3h"), 10.0), ("a", NOW - pd.Timedelta("10min"), 20.0)]
    ws.datasets.upload(readings([*first, ("b", NOW - pd.Timedelta("2h"), 5.0)]), name="readings")
    ws.features.apply([WEATHER])

    done = run("features", "materialize", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert [(v["view"], v["mode"], v["entities"]) for v in json.loads(done.stdout)] == [
        ("weather", "full", 2)
    ]
    frame = ws.features.online([{"station": "a"}, {"station": "b"}, {"station": "z"}], ["weather"])
    assert list(frame.columns) == ["station", "temp", "n_1d"]
    assert frame["temp"][0] == 20.0 and pd.isna(frame["temp"][1])  # b: past the 1h ttl
    assert frame["n_1d"].tolist()[:2] == [2, 1] and pd.isna(frame["n_1d"][2])
    keys = pd.DataFrame({"station": ["b"]})
    assert ws.features.online(keys, "weather:n_1d")["n_1d"].tolist() == [1]

    agreed = run("features", "check", env=env)
    assert agreed.returncode == 0, agreed.stdout + agreed.stderr
    assert "agree" in agreed.stdout

    # New rows arrive; until the next materialization the check fails the pipeline.
    ws.datasets.upload(readings([*first, ("a", NOW - pd.Timedelta("5min"), 25.0)]), name="readings")
    ws.features.apply([WEATHER])  # the source's dataset version changed: a new definitions
    failed = run("features", "check", "--view", "weather", "--json", env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    report = json.loads(failed.stdout)
    assert {"view": "weather", "keys": {"station": "a"}, "feature": "temp", "online": 20.0,
            "offline": 25.0, "at": "now"} in report["mismatches"]  # fmt: skip

    again = run("features", "materialize", "--incremental", "--view", "weather", env=env)
    assert again.returncode == 0, again.stderr
    assert run("features", "check", env=env).returncode == 0
    assert ws.features.online({"station": "a"}, ["weather:temp"])["temp"].tolist() == [25.0]

    refused = run("features", "materialize", "--view", "nope", env=env)
    assert refused.returncode != 0 and "No feature view 'nope'" in refused.stderr
    with pytest.raises(Invalid, match="lacks the join keys station"):
        ws.features.online([{"origin": "JFK"}], ["weather"])
    ws.close()
