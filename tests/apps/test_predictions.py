from __future__ import annotations

import math

import pytest

from seedbed.apps.predictions import predict, to_frame
from seedbed.errors import Invalid
from seedbed.registry.loading import ModelLoader
from seedbed.registry.model_format import InputColumn
from seedbed.registry.models import resolve
from seedbed.workspace import Workspace

INPUTS = [
    InputColumn("n", "long"),
    InputColumn("x", "double"),
    InputColumn("ok", "boolean"),
    InputColumn("colour", "string", ["blue", "red"]),
]


def test_inputs_are_coerced_from_form_strings() -> None:
    frame = to_frame(INPUTS, [{"n": "3", "x": "", "ok": "on", "colour": "red"}])
    row = frame.iloc[0]
    assert row["n"] == 3 and math.isnan(row["x"]) and row["ok"] and row["colour"] == "red"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"n": "1.5", "x": 1, "ok": "yes", "colour": "red"}, "'n': '1.5' is not a whole number"),
        ({"n": 1, "x": "abc", "ok": "yes", "colour": "red"}, "not a number"),
        ({"n": 1, "x": 1, "ok": "maybe", "colour": "red"}, "not true or false"),
        ({"n": 1, "x": 1, "ok": "yes", "colour": "green"}, "not one of the values seen"),
        ({"n": None, "x": 1, "ok": "yes", "colour": "red"}, "a value is required"),
        ({"n": 1, "x": 1, "ok": "yes", "colour": "red", "extra": 1}, "unknown fields extra"),
    ],
)
def test_bad_rows_say_which_field(row: dict[str, object], message: str) -> None:
    with pytest.raises(Invalid, match=message):
        to_frame(INPUTS, [row])


def test_no_rows() -> None:
    with pytest.raises(Invalid, match="at least one"):
        to_frame(INPUTS, [])


def test_demo_champion_predicts_with_probabilities(demo_workspace: Workspace) -> None:
    loaded = ModelLoader(demo_workspace).load(resolve(demo_workspace, "flight-delay", "champion"))
    calm = {**loaded.input_example, "sched_hour": 6, "precip": 0.0, "visib": 10.0}
    stormy = {**loaded.input_example, "sched_hour": 20, "month": 7, "precip": 0.5, "visib": 0.5}
    [low, high] = predict(loaded, [calm, stormy])
    assert set(low.probabilities or {}) == {"0", "1"}
    assert sum((low.probabilities or {}).values()) == pytest.approx(1.0)
    assert (high.probabilities or {})["1"] > (low.probabilities or {})["1"]
