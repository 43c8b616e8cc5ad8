"""One-at-a-time explanations of a prediction, on the demo's champion."""

from __future__ import annotations

import pytest

from seedbed.apps.explain import explain, typical_value
from seedbed.apps.predictions import predict
from seedbed.registry.loading import LoadedModel, ModelLoader
from seedbed.registry.models import resolve
from seedbed.workspace import Workspace

ROW = {
    "carrier": "UA",
    "origin": "EWR",
    "month": 12,
    "weekday": 5,
    "sched_hour": 19,
    "distance": 1000,
    "temp": 30,
    "wind_speed": 20,
    "precip": 0.3,
    "visib": 1,
}


@pytest.fixture(scope="module")
def champion(demo_workspace: Workspace) -> LoadedModel:
    return ModelLoader(demo_workspace).load(resolve(demo_workspace, "flight-delay", "champion"))


def test_contributions_are_the_output_change_when_an_input_is_typical(
    champion: LoadedModel,
) -> None:
    model = champion
    explained = explain(model, ROW)
    result = predict(model, [ROW])[0]
    label = str(result.prediction)
    assert explained.measure.startswith("probability of")
    assert explained.output == result.probabilities[label]  # type: ignore[index]
    changes = [abs(c.change) for c in explained.contributions]
    assert changes == sorted(changes, reverse=True) and changes[0] > 0
    assert explained.contributions[0].width == 100.0
    # each change is what scoring the row with that one input made typical gives
    for c in explained.contributions[:3]:
        column = next(col for col in model.inputs if col.name == c.name)
        assert c.typical == typical_value(model, column) and c.value == ROW[c.name]
        again = predict(model, [{**ROW, c.name: c.typical}])[0]
        assert abs(c.change - (explained.output - again.probabilities[label])) < 1e-9  # type: ignore[index]
    # probabilities: every change lies in [-1, 1], and so does their sum for this row
    assert all(-1 <= c.change <= 1 for c in explained.contributions)
    assert abs(sum(c.change for c in explained.contributions)) <= len(changes)


def test_inputs_at_their_typical_value_contribute_nothing(champion: LoadedModel) -> None:
    model = champion
    typical = {c.name: typical_value(model, c) for c in model.inputs}
    assert all(v is not None for v in typical.values())
    explained = explain(model, typical)
    assert explained.contributions == []  # nothing to replace: the row is all typical
    one_off = {**typical, "visib": 0.5}
    assert [c.name for c in explain(model, one_off).contributions] == ["visib"]
