"""Two model versions (champion and challenger) on the same input: one form for both.

The versions may take different inputs: the form shows every input either takes, each model is
scored on the values it needs, and the page says which inputs a model ignores.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from seedbed.apps.demo_form import FormField, form_fields
from seedbed.apps.predictions import Prediction, predict
from seedbed.errors import Invalid
from seedbed.registry.loading import LoadedModel
from seedbed.registry.model_format import InputColumn


@dataclass(frozen=True)
class Side:
    reference: str  # as asked for: "champion", "3"
    model: LoadedModel
    ignores: list[str]  # inputs on the form this version does not take
    result: Prediction | None = None
    error: str | None = None


def shared_inputs(left: LoadedModel, right: LoadedModel) -> list[InputColumn]:
    """Every input either version takes, the left one's first; a shared category input offers
    the choices of both."""
    columns = {c.name: c for c in left.inputs}
    for column in right.inputs:
        mine = columns.get(column.name)
        if mine is None:
            columns[column.name] = column
        elif mine.choices is not None and column.choices is not None:
            merged = list(dict.fromkeys([*mine.choices, *column.choices]))
            columns[column.name] = dataclasses.replace(mine, choices=merged)
    return list(columns.values())


def shared_example(left: LoadedModel, right: LoadedModel) -> dict[str, Any]:
    """Default values: the left version's input example, the right one's for what it lacks."""
    return {**right.input_example, **left.input_example}


def fields(left: Side, right: Side, values: Mapping[str, Any]) -> list[FormField]:
    """The form's widgets, each saying which version (if any) ignores it."""
    built = form_fields(shared_inputs(left.model, right.model), values)
    return [dataclasses.replace(f, ignored_by=_ignored_by(f.name, left, right)) for f in built]


def sides(left: LoadedModel, right: LoadedModel, a: str, b: str) -> tuple[Side, Side]:
    names = {c.name for c in shared_inputs(left, right)}
    return (
        Side(a, left, sorted(names - {c.name for c in left.inputs})),
        Side(b, right, sorted(names - {c.name for c in right.inputs})),
    )


def score(side: Side, values: Mapping[str, Any]) -> Side:
    """Score one version on the values it takes; a bad value becomes the side's error."""
    row = {c.name: values.get(c.name) for c in side.model.inputs}
    try:
        return dataclasses.replace(side, result=predict(side.model, [row])[0])
    except Invalid as exc:
        return dataclasses.replace(side, error=str(exc))


def _ignored_by(name: str, left: Side, right: Side) -> str:
    return " and ".join(
        f"{s.reference} (v{s.model.version.version})" for s in (left, right) if name in s.ignores
    )
