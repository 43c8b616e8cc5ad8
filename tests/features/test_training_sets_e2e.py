"""The feature store end to end against a real server: definitions applied from files with
`seedbed features apply`, training sets through the SDK and the CLI, saved as datasets with
their lineage, and the errors a user sees."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import seedbed as sb
from seedbed.client_features import FeatureWarning
from seedbed.errors import Invalid
from server_process import SeedbedServer
from server_process import run_cli as run

pytestmark = pytest.mark.e2e

DEFINITIONS = """
from seedbed.features import Aggregate, Derived, Entity, Feature, FeatureView, Source

store = Entity("store", join_keys=["store"], description="A shop")

sales = FeatureView(
    "sales",
    entities=[store],
    source=Source(dataset="sales", timestamp="at"),
    ttl="2h",
    features=[Feature("amount", name="last_amount")],
    aggregations=[
        Aggregate("amount", "sum", "1d", name="amount_1d"),
        Aggregate(None, "count", "1d", name="sales_1d"),
    ],
    derived=[Derived("mean_sale_1d", "amount_1d / nullif(sales_1d, 0)")],
    owner="ana",
    description="Till receipts",
)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("features-e2e") / "ws") as running:
        yield running


def _env(server: SeedbedServer) -> dict[str, str]:
    return {"SEEDBED_URL": server.url, "SEEDBED_TOKEN": server.token}


def test_apply_training_set_and_lineage(server: SeedbedServer, tmp_path: Path) -> None:
    ws = sb.connect(server.url, server.token)
    sales = pd.DataFrame(
        {
            "store": ["a", "a", "a", "b"],
            "at": pd.to_datetime(
                ["2024-01-01 08:00", "2024-01-01 09:00", "2024-01-02 09:30", "2024-01-01 10:00"]
            ),
            "amount": [10.0, 20.0, 5.0, 7.0],
        }
    )
    ws.datasets.upload(sales, name="sales")
    folder = tmp_path / "features"
    folder.mkdir()
    (folder / "sales.py").write_text(DEFINITIONS, encoding="utf-8")

    dry = run("features", "apply", str(folder), "--dry-run", env=_env(server))
    assert dry.returncode == 0, dry.stderr
    assert "+ view sales (4 features)" in dry.stdout and "nothing registered" in dry.stdout
    applied = run("features", "apply", str(folder), "--json", env=_env(server))
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["version"] == 1
    again = run("features", "apply", str(folder), env=_env(server))
    assert "No changes" in again.stdout

    listed = json.loads(run("features", "list", "--json", env=_env(server)).stdout)
    assert {row["feature"] for row in listed} == {
        "sales:last_amount",
        "sales:amount_1d",
        "sales:sales_1d",
        "sales:mean_sale_1d",
    }
    shown = run("features", "show", "sales", env=_env(server))
    assert "dataset sales" in shown.stdout and "2h" in shown.stdout

    rows = pd.DataFrame(
        {
            "store": ["a", "a", "b", "c"],
            "ts": pd.to_datetime(
                ["2024-01-01 09:00", "2024-01-02 12:00", "2024-01-01 09:59", "2024-01-01 12:00"]
            ),
            "bought": [1, 0, 1, 0],
        }
    )
    frame = ws.features.training_set(rows, ["sales"], label="bought", timestamp="ts")
    assert list(frame.columns) == [
        "store",
        "ts",
        "last_amount",
        "amount_1d",
        "sales_1d",
        "mean_sale_1d",
        "bought",
    ]
    # a: at 09:00 sees the 09:00 sale (inclusive); the next day at 12:00 the last sale is
    # 09:30 (within 2h? no: 2.5h, so null) and the day's window (12:00 the day before, now]
    # holds only it. b: the 10:00 sale is in the future. c: unknown.
    assert frame["last_amount"].tolist()[:1] == [20.0]
    assert pd.isna(frame["last_amount"][1]) and pd.isna(frame["last_amount"][2])
    assert frame["amount_1d"].tolist()[:2] == [30.0, 5.0]
    assert frame["sales_1d"].tolist() == [2, 1, 0, 0]
    assert frame["mean_sale_1d"][0] == 15.0
    saved = frame.attrs["seedbed.dataset"]
    assert saved == "training-set@1"
    detail = ws.datasets.get("training-set")["versions"][0]
    assert detail["source"] == "features"
    assert detail["source_detail"]["features"] == [
        "sales:amount_1d",
        "sales:last_amount",
        "sales:mean_sale_1d",
        "sales:sales_1d",
    ]
    with ws.start_run(experiment="features-e2e", inputs=[frame]) as active:
        active.log_metrics({"rows": len(frame)})
    inputs = ws.run_inputs(active.id)
    assert [(i["name"], i["version"]) for i in inputs] == [("training-set", 1)]

    # the CLI builds one from a dataset of entity rows
    ws.datasets.upload(rows, name="visits")
    built = run(
        "features",
        "training-set",
        "visits",
        "-f",
        "sales:amount_1d",
        "--name",
        "visits-features",
        "--json",
        env=_env(server),
    )
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["dataset"] == "visits-features@1"
    ws.close()


def test_bad_input_is_refused_clearly(server: SeedbedServer, tmp_path: Path) -> None:
    ws = sb.connect(server.url, server.token)
    ws.datasets.upload(
        pd.DataFrame({"store": ["a"], "at": ["2024-01-01"], "amount": [1.0]}), name="texty"
    )
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from seedbed.features import *\n"
        "s = Entity('store')\n"
        "src = Source(dataset='texty', timestamp='at')\n"
        "v = FeatureView('texty', [s], src, features=['amount'])\n"
        "w = FeatureView('ghost', ['nobody'], src, features=['amount'])\n",
        encoding="utf-8",
    )
    before = ws.features.catalog()["version"]
    refused = run("features", "apply", str(bad), env=_env(server))
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "'at' is VARCHAR, not a timestamp" in output
    assert "unknown entities nobody" in output
    assert ws.features.catalog()["version"] == before

    with pytest.raises(Invalid, match="no feature view 'nope'"):
        ws.features.training_set(
            pd.DataFrame({"store": ["a"], "ts": pd.to_datetime(["2024-01-01"])}), ["nope:x"]
        )
    with pytest.raises(Invalid, match="not a timestamp"):
        ws.features.training_set(
            pd.DataFrame({"store": ["a"], "ts": ["2024-01-01"]}), ["sales"], timestamp="ts"
        )
    aware = pd.DataFrame(
        {"store": ["a"], "ts": pd.to_datetime(["2024-01-01 09:00"]).tz_localize("Europe/Paris")}
    )
    with pytest.warns(FeatureWarning, match="naive and time-zone-aware"):
        frame = ws.features.training_set(aware, ["sales:last_amount"], save=False)
    # 09:00 in Paris is 08:00 UTC: the 08:00 sale
    assert frame["last_amount"].tolist() == [10.0]
    assert "seedbed.dataset" not in frame.attrs
    ws.close()
