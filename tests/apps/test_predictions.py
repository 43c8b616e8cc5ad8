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


def test_bad_values_are_422s_and_both_paths_agree(local_workspace: Workspace) -> None:
    """What a reviewer found: inputs that reached the model, or only one of the two paths,
    and gave a 500 or a different answer."""
    import numpy as np

    from registry_models import log_small_model
    from seedbed.apps.predictions import InvalidInput
    from seedbed.registry.models import register_version

    run = log_small_model(local_workspace)
    version = register_version(local_workspace, "small", run.id)
    loaded = ModelLoader(local_workspace).load(version)
    good = dict(loaded.input_example)
    numbers = [c.name for c in loaded.inputs if c.type == "double"]
    assert numbers, loaded.inputs
    # a missing number this linear model cannot take: a 422 saying so, not a 500
    with pytest.raises(InvalidInput, match="cannot score these rows"):
        predict(loaded, [{**good, numbers[0]: None}])
    with pytest.raises(InvalidInput, match="cannot score these rows"):
        predict_frame(loaded, pd.DataFrame([{**good, numbers[0]: "nan"}]))
    with pytest.raises(InvalidInput, match="is not a number"):
        predict(loaded, [{**good, numbers[0]: 10**400}])
    twice = pd.DataFrame([[*good.values(), 1.0]], columns=[*good, numbers[0]])
    with pytest.raises(InvalidInput, match="more than once"):
        predict_frame(loaded, twice)

    # both paths read the same values the same way
    both = [InputColumn("n", "long"), InputColumn("ok", "boolean"), InputColumn("at", "datetime")]
    rows = [
        {"n": "2", "ok": "", "at": "2024-01-13"},
        {"n": 3, "ok": "yes", "at": "13 January 2024 10:00"},
    ]
    one_by_one = to_frame(both, rows)
    whole = check_frame(both, pd.DataFrame(rows))
    assert one_by_one["n"].tolist() == whole["n"].tolist() == [2, 3]
    assert one_by_one["ok"].tolist() == whole["ok"].tolist() == [False, True]
    assert one_by_one["at"].tolist() == whole["at"].tolist()
    for bad in ({"n": np.inf, "ok": "no", "at": "2024-01-13"}, {"n": 1, "ok": "no", "at": "NaT"}):
        with pytest.raises(Invalid):
            to_frame(both, [bad])
        with pytest.raises(Invalid):
            check_frame(both, pd.DataFrame([bad]))
    with pytest.raises(Invalid, match="not a text value"):
        check_frame([InputColumn("s", "string")], pd.DataFrame({"s": [[1]]}))


def test_mlflow_signature_types_are_read_as_seedbed_checks_them(tmp_path: object) -> None:
    import json
    from pathlib import Path

    import yaml

    from seedbed.registry.model_format import model_inputs

    folder = Path(str(tmp_path))
    inputs = [{"name": "a", "type": "integer"}, {"name": "b", "type": "float"}]
    signature = {"inputs": json.dumps(inputs)}
    (folder / "MLmodel").write_text(yaml.safe_dump({"flavors": {}, "signature": signature}))
    assert [(c.name, c.type) for c in model_inputs(folder)] == [("a", "long"), ("b", "double")]


def test_a_reused_version_number_is_not_served_from_the_cache(local_workspace: Workspace) -> None:
    import time

    from registry_models import log_small_model
    from seedbed.registry.models import delete_version, register_version

    run = log_small_model(local_workspace)  # both versions come from its model
    first = register_version(local_workspace, "reused", run.id)
    loader = ModelLoader(local_workspace)
    assert loader.load_reference("reused", "1").version.created_at == first.created_at
    delete_version(local_workspace, "reused", 1)
    time.sleep(0.01)
    again = register_version(local_workspace, "reused", run.id)
    assert again.version == 1 and again.created_at != first.created_at
    assert loader.cached("reused", "1") is None  # not the deleted version's model
    assert loader.load_reference("reused", "latest").version.created_at == again.created_at
