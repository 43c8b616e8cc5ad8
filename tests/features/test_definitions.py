"""Feature definitions: their own shape rules, validation against real sources at apply
time (every problem listed, nothing registered), versions and diffs, and loading files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from seedbed.errors import Invalid, NotFound
from seedbed.features import Aggregate, Derived, Entity, Feature, FeatureView, Source, registry
from seedbed.features.definitions import build_spec, parse_duration
from seedbed.features.loader import load_definitions
from seedbed.workspace import Workspace

STORE = Entity("store")


def _load(workspace: Workspace) -> None:
    workspace.warehouse.load_dataframe(
        "sales",
        pd.DataFrame(
            {
                "store": ["a", "b"],
                "at": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                "day": ["2024-01-01", "2024-01-02"],
                "amount": [1.0, 2.0],
                "note": ["x", "y"],
            }
        ),
    )


def _view(**changes: object) -> FeatureView:
    fields: dict[str, object] = {
        "name": "sales",
        "entities": [STORE],
        "source": Source(table="sales", timestamp="at"),
        "features": ["amount"],
        "ttl": "1d",
    }
    fields.update(changes)
    return FeatureView(**fields)  # type: ignore[arg-type]


def test_durations_and_shapes_are_checked_when_written() -> None:
    assert parse_duration("90s", "x") == 90 and parse_duration("7d", "x") == 7 * 86400
    with pytest.raises(Invalid, match="not a duration"):
        parse_duration("a week", "A window")
    with pytest.raises(Invalid, match="longer than zero"):
        parse_duration(0, "A ttl")
    with pytest.raises(Invalid, match="Aggregation 'median' is unknown"):
        Aggregate("amount", "median", "1d")
    with pytest.raises(Invalid, match="needs a column"):
        Aggregate(None, "sum", "1d")
    with pytest.raises(Invalid, match="either a warehouse table"):
        Source(table="a", dataset="b")
    with pytest.raises(Invalid, match="is not allowed"):
        Entity("two words")
    with pytest.raises(Invalid, match="reserved"):
        Entity("_as_of")
    with pytest.raises(Invalid, match="defines no feature"):
        _view(features=[])
    assert Aggregate("amount", "mean", "7d").name == "amount_mean_7d"
    with pytest.raises(Invalid, match="defined twice"):
        build_spec([_view(), _view()])


def test_apply_registers_versions_with_a_diff(workspace: Workspace) -> None:
    _load(workspace)
    first = registry.apply(workspace, build_spec([_view()]), "ana")
    assert first.registered is not None and first.registered.version == 1
    assert first.changes == ["+ entity store (keys store)", "+ view sales (1 feature)"]
    assert registry.apply(workspace, build_spec([_view()]), "ana").registered is None
    changed = _view(ttl="2h", features=["amount", Feature("note", description="free text")])
    dry = registry.apply(workspace, build_spec([changed]), "ana", dry_run=True)
    assert dry.registered is None
    assert dry.changes == ["~ view sales: ttl_s 1d → 2h", "+ sales:note"]
    second = registry.apply(workspace, build_spec([changed]), "bo")
    assert second.registered is not None and second.registered.version == 2
    assert [r.version for r in registry.history(workspace)] == [2, 1]
    spec = registry.get(workspace).spec
    features = {f["name"]: f for f in spec["views"][0]["features"]}
    assert features["amount"]["dtype"] == "DOUBLE" and features["note"]["dtype"] == "VARCHAR"
    assert registry.get(workspace, 1).spec["views"][0]["ttl_s"] == 86400


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (_view(entities=["nobody"]), "names unknown entities nobody"),
        (_view(source=Source(table="missing", timestamp="at")), "No warehouse table 'missing'"),
        (_view(source=Source(table="sales", timestamp="day")), "'day' is VARCHAR, not a timestamp"),
        (_view(source=Source(table="sales", timestamp="amount")), "'amount' is DOUBLE"),
        (_view(features=["amount", Feature("note", name="amount")]), "'amount' twice"),
        (_view(features=["nothing"]), "'nothing' is not a column of the table sales"),
        (_view(aggregations=[Aggregate("note", "mean", "1d")]), "which is VARCHAR, not a number"),
        (
            _view(
                source=Source(table="sales"),
                ttl=None,
                aggregations=[Aggregate(None, "count", "1d")],
            ),
            "needs an event-time column",
        ),
        (
            _view(derived=[Derived("a", "b + 1"), Derived("b", "a * 2")]),
            "form a cycle: a → b → a",
        ),
        (_view(derived=[Derived("x", "amount + ghost")]), "uses ghost, which are not features"),
        (_view(derived=[Derived("x", "amount +")]), "'amount +' is not an SQL expression"),
        (_view(derived=[Derived("x", "note + 1")]), "Derived feature 'x'"),
    ],
)
def test_bad_definitions_are_refused_and_nothing_is_registered(
    local_workspace: Workspace, view: FeatureView, message: str
) -> None:
    _load(local_workspace)
    with pytest.raises(Invalid, match="nothing was registered") as refused:
        registry.apply(local_workspace, build_spec([view]), "ana")
    assert message in str(refused.value)
    assert registry.latest(local_workspace) is None
    with pytest.raises(NotFound, match="seedbed features apply"):
        registry.get(local_workspace)


def test_every_problem_is_listed_at_once(local_workspace: Workspace) -> None:
    _load(local_workspace)
    views = [
        _view(features=["nothing"]),
        _view(name="other", entities=["ghost"]),
    ]
    with pytest.raises(Invalid) as refused:
        registry.apply(local_workspace, build_spec(views), "ana")
    assert "'nothing' is not a column" in str(refused.value)
    assert "unknown entities ghost" in str(refused.value)


def test_malformed_json_specs_are_refused(local_workspace: Workspace) -> None:
    with pytest.raises(Invalid, match="malformed"):
        registry.apply(local_workspace, {"views": [{"name": "x"}]}, "ana")
    with pytest.raises(Invalid, match="Feature kind 'magic'"):
        registry.apply(
            local_workspace,
            {
                "entities": [{"name": "store"}],
                "views": [
                    {
                        "name": "x",
                        "entities": ["store"],
                        "source": {"table": "sales"},
                        "features": [{"kind": "magic", "name": "m"}],
                    }
                ],
            },
            "ana",
        )


def test_definitions_load_from_python_files(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        "from seedbed.features import *\nstore = Entity('store')\n", encoding="utf-8"
    )
    (tmp_path / "b.py").write_text(
        "from seedbed.features import *\n"
        "v = FeatureView('v', ['store'], Source(table='sales', timestamp='at'), features=['x'])\n",
        encoding="utf-8",
    )
    (tmp_path / "_helpers.py").write_text("raise SystemExit('not loaded')\n", encoding="utf-8")
    found = load_definitions(tmp_path)
    assert [type(item).__name__ for item in found] == ["Entity", "FeatureView"]
    (tmp_path / "c.py").write_text("1 / 0\n", encoding="utf-8")
    with pytest.raises(Invalid, match=r"c\.py failed to run: ZeroDivisionError"):
        load_definitions(tmp_path)
    with pytest.raises(Invalid, match="neither a Python file nor a folder"):
        load_definitions(tmp_path / "missing")
