"""The fields of a demo form, built from a model's inputs, and the values a posted form gives.

Shared by the demo page, the side-by-side page and share-link pages, so every form shows the
same widgets: selects for categories, checkboxes for booleans, date-time pickers for dates.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from seedbed.registry.model_format import InputColumn


@dataclass(frozen=True)
class FormField:
    name: str
    type: str  # the MLflow column type, shown as a hint
    widget: str  # select, checkbox, datetime, number or text
    value: str  # what the widget shows ("true"/"false" for a checkbox)
    choices: list[str] | None = None
    step: str | None = None  # for number widgets: "1" (whole numbers) or "any"
    hint: str = ""  # e.g. "seen in training: 1 - 4983"
    ignored_by: str = ""  # on the side-by-side page: the model that does not use this input


def form_fields(inputs: Sequence[InputColumn], values: Mapping[str, Any]) -> list[FormField]:
    """One widget per input, showing `values` (the input example or what was posted)."""
    return [_field(column, values.get(column.name)) for column in inputs]


def _field(column: InputColumn, value: Any) -> FormField:
    if column.choices:
        return FormField(column.name, column.type, "select", _text(value), list(column.choices))
    if column.type == "boolean":
        checked = _text(value).strip().lower() in ("true", "1", "yes", "on")
        return FormField(column.name, column.type, "checkbox", "true" if checked else "false")
    if column.type == "datetime":
        return FormField(column.name, column.type, "datetime", _datetime_local(value))
    if column.type in ("double", "long", "float", "integer"):
        step = "1" if column.type in ("long", "integer") else "any"
        return FormField(
            column.name, column.type, "number", _text(value), step=step, hint=_range(column)
        )
    return FormField(column.name, column.type, "text", _text(value))


def form_values(inputs: Sequence[InputColumn], form: Mapping[str, Any]) -> dict[str, Any]:
    """The row a posted form describes. An unticked checkbox sends nothing: that is false."""
    values: dict[str, Any] = {}
    for column in inputs:
        raw = form.get(column.name)
        if column.type == "boolean" and column.choices is None:
            values[column.name] = "true" if raw in ("true", "on", "1") else "false"
        else:
            values[column.name] = raw if isinstance(raw, str) else None
    return values


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _datetime_local(value: Any) -> str:
    """What an <input type="datetime-local"> shows: 2013-01-01T05:00."""
    if value is None or value == "":
        return ""
    try:
        moment = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if moment is pd.NaT:
        return ""
    stamp: dt.datetime = moment.to_pydatetime()
    return stamp.strftime("%Y-%m-%dT%H:%M")


def _range(column: InputColumn) -> str:
    # minimum/maximum: the range seen in training, where the model's metadata has it
    low, high = getattr(column, "minimum", None), getattr(column, "maximum", None)
    if low is None or high is None:
        return ""
    return f"seen in training: {_short(low)} - {_short(high)}"


def _short(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)
