"""A simple explanation of one prediction: one-at-a-time ablation against typical values.

For each input, the row is scored again with that input replaced by its typical value (the
median or most frequent value in training; the input example where the model has none). The
contribution of the input is how much the output moves back: the predicted probability of the
predicted class for classifiers, the predicted value for regressors. This is not SHAP: the
contributions need not add up to anything, and inputs that act together are not split fairly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from seedbed.apps.predictions import Prediction, predict
from seedbed.registry.loading import LoadedModel
from seedbed.registry.model_format import InputColumn


@dataclass(frozen=True)
class Contribution:
    name: str
    value: Any  # what the row holds
    typical: Any  # what it was replaced with
    output_without: float  # the output with the typical value instead
    change: float  # output - output_without: what this input's value adds
    width: float = 0.0  # |change| as a percentage of the largest, for the bar


@dataclass(frozen=True)
class Explanation:
    measure: str  # what the numbers are, e.g. "probability of 'delayed'"
    output: float
    contributions: list[Contribution]  # largest |change| first


def explain(model: LoadedModel, values: Mapping[str, Any]) -> Explanation:
    """Contributions of each input to one prediction, sorted by size (see the module doc)."""
    replaced: list[tuple[InputColumn, Any]] = []
    rows: list[dict[str, Any]] = [dict(values)]
    for column in model.inputs:
        typical = typical_value(model, column)
        if typical is None or _same(values.get(column.name), typical):
            continue
        replaced.append((column, typical))
        rows.append({**values, column.name: typical})
    scored = predict(model, rows)
    measure, pick = _measure(model, scored[0])
    output = pick(scored[0])
    changes = [
        (column.name, typical, pick(result), output - pick(result))
        for (column, typical), result in zip(replaced, scored[1:], strict=True)
    ]
    changes.sort(key=lambda item: abs(item[3]), reverse=True)
    largest = max((abs(item[3]) for item in changes), default=0.0)
    contributions = [
        Contribution(
            name,
            values.get(name),
            typical,
            without,
            change,
            round(abs(change) / largest * 100, 1) if largest else 0.0,
        )
        for name, typical, without, change in changes
    ]
    return Explanation(measure, output, contributions)


def typical_value(model: LoadedModel, column: InputColumn) -> Any:
    """The column's typical value from training, else the input example's; whole numbers
    stay whole so the row still fits the signature."""
    value = column.typical if column.typical is not None else model.input_example.get(column.name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if column.type == "long" and isinstance(value, float):
        return round(value)
    return value


def _measure(model: LoadedModel, first: Prediction) -> tuple[str, Any]:
    if first.probabilities:
        label = str(first.prediction)
        shown = model.class_labels.get(label, label)
        return f"probability of {shown!r}", lambda p: float((p.probabilities or {}).get(label, 0))
    return "predicted value", lambda p: float(p.prediction)


def _same(value: Any, typical: Any) -> bool:
    if value is None:
        return False
    try:
        return float(value) == float(typical)
    except (TypeError, ValueError):
        return str(value).strip().lower() == str(typical).strip().lower()
