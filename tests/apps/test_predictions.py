from __future__ import annotations

import math

import pandas as pd
import pytest

from seedbed.apps.predictions import check_frame, predict, predict_frame, to_frame
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


def test_check_frame_converts_columns_and_names_the_first_bad_row() -> None:
    frame = pd.DataFrame(
        {"colour": ["red", "blue"], "n": ["3", 4], "x": [None, "2.5"], "ok": ["yes", "off"]}
    )
    checked = check_frame(INPUTS, frame)
    assert list(checked.columns) == ["n", "x", "ok", "colour"]
    assert checked["n"].tolist() == [3, 4] and checked["ok"].tolist() == [True, False]
    assert math.isnan(checked["x"][0]) and checked["x"][1] == 2.5
    with pytest.raises(Invalid, match=r"row 2, field 'x': 'abc' is not a number"):
        check_frame(INPUTS, frame.assign(x=["1", "abc"]))
    with pytest.raises(Invalid, match=r"row 2, field 'n': 1.5 is not a whole number"):
        check_frame(INPUTS, frame.assign(n=[1.0, 1.5]))
    with pytest.raises(Invalid, match=r"row 1, field 'colour': 'green' is not one of"):
        check_frame(INPUTS, frame.assign(colour=["green", "red"]))
    with pytest.raises(Invalid, match="Missing columns ok"):
        check_frame(INPUTS, frame.drop(columns="ok"))
    with pytest.raises(Invalid, match="Unknown columns size"):
        check_frame(INPUTS, frame.assign(size=1))


def test_predict_frame_agrees_with_predict_and_warns_outside_the_range(
    demo_workspace: Workspace,
) -> None:
    loaded = ModelLoader(demo_workspace).load(resolve(demo_workspace, "flight-delay", "champion"))
    distance = next(c for c in loaded.inputs if c.name == "distance")
    assert distance.minimum is not None and distance.maximum is not None
    rows = [
        {**loaded.input_example, "sched_hour": hour, "distance": 100.0 * hour}
        for hour in range(5, 23)
    ]
    scored = predict_frame(loaded, pd.DataFrame(rows))
    one_by_one = predict(loaded, rows)
    assert scored["prediction"].tolist() == [p.prediction for p in one_by_one]
    assert scored["probability_1"].tolist() == pytest.approx(
        [(p.probabilities or {})["1"] for p in one_by_one]
    )
    [far] = predict(loaded, [{**loaded.input_example, "distance": distance.maximum + 1000}])
    assert far.warnings == [
        f"distance {distance.maximum + 1000:g} is above the largest value seen in training "
        f"({distance.maximum:g})"
    ]
