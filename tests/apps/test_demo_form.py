"""Demo form widgets from a model's inputs: dates, booleans, categories and numbers."""

from __future__ import annotations

from seedbed.apps.demo_form import form_fields, form_values
from seedbed.registry.model_format import InputColumn

INPUTS = [
    InputColumn("carrier", "string", ["AA", "UA"]),
    InputColumn("departure", "datetime"),
    InputColumn("holiday", "boolean"),
    InputColumn("distance", "double", None, 17.0, 4983.0),
    InputColumn("hour", "long"),
]


def test_each_input_type_gets_its_widget() -> None:
    example = {
        "carrier": "UA",
        "departure": "2013-01-01 05:15:00",
        "holiday": True,
        "distance": 1400.0,
        "hour": 5,
    }
    fields = {f.name: f for f in form_fields(INPUTS, example)}
    assert fields["carrier"].widget == "select" and fields["carrier"].value == "UA"
    assert fields["departure"].widget == "datetime"
    assert fields["departure"].value == "2013-01-01T05:15"  # what datetime-local shows
    assert fields["holiday"].widget == "checkbox" and fields["holiday"].value == "true"
    assert fields["distance"].step == "any" and fields["distance"].hint.endswith("17 - 4983")
    assert fields["hour"].step == "1" and fields["hour"].hint == ""


def test_an_unticked_checkbox_is_false() -> None:
    posted = {"carrier": "AA", "departure": "2013-01-01T05:15", "distance": "10", "hour": "3"}
    values = form_values(INPUTS, posted)
    assert values["holiday"] == "false"
    assert form_values(INPUTS, {**posted, "holiday": "true"})["holiday"] == "true"
    assert values["departure"] == "2013-01-01T05:15"
