"""Predictions for demo pages and the API: check inputs against the signature, then score."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from seedbed.errors import Invalid
from seedbed.registry.loading import LoadedModel
from seedbed.registry.model_format import InputColumn

_KINDS = {
    "long": "a whole number",
    "double": "a number",
    "boolean": "true or false",
    "datetime": "a date and time",
}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class Prediction:
    prediction: Any
    probabilities: dict[str, float] | None  # class label -> probability, for classifiers


def _coerce(column: InputColumn, value: Any, row: int) -> Any:
    where = f"row {row + 1}, field {column.name!r}"
    if value is None or (
        isinstance(value, str) and value.strip() == "" and column.type != "string"
    ):
        if column.type == "double":
            return math.nan  # estimators such as gradient boosting handle missing numbers
        raise Invalid(f"{where}: a value is required.")
    try:
        if column.type == "double":
            return float(value)
        if column.type == "long":
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if column.type == "boolean":
            text = str(value).strip().lower()
            if text not in _TRUE | _FALSE:
                raise ValueError
            return text in _TRUE
        if column.type == "datetime":
            return pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        kind = _KINDS.get(column.type, column.type)
        raise Invalid(f"{where}: {value!r} is not {kind}.") from exc
    text = str(value)
    if column.choices is not None and text not in column.choices:
        shown = ", ".join(column.choices[:20])
        raise Invalid(f"{where}: {text!r} is not one of the values seen in training ({shown}).")
    return text


def to_frame(inputs: Sequence[InputColumn], rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Validate rows against the model's inputs; unknown or missing fields are errors."""
    if not rows:
        raise Invalid("Give at least one input row.")
    names = [c.name for c in inputs]
    records = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise Invalid(f"row {index + 1} must be an object of field: value pairs.")
        unknown = sorted(set(row) - set(names))
        if unknown:
            raise Invalid(
                f"row {index + 1}: unknown fields {', '.join(unknown)}; "
                f"the model takes {', '.join(names)}."
            )
        records.append({c.name: _coerce(c, row.get(c.name), index) for c in inputs})
    return pd.DataFrame.from_records(records, columns=names)


def predict(model: LoadedModel, rows: Sequence[Mapping[str, Any]]) -> list[Prediction]:
    """Score rows with a loaded model; classifiers also give class probabilities."""
    frame = to_frame(model.inputs, rows)
    estimator = model.estimator
    labels = estimator.predict(frame)
    probabilities = None
    if hasattr(estimator, "predict_proba"):
        probabilities = estimator.predict_proba(frame)
    classes = [_plain(c) for c in getattr(estimator, "classes_", [])]
    results = []
    for index, label in enumerate(labels):
        probs = None
        if probabilities is not None and classes:
            probs = {str(c): float(p) for c, p in zip(classes, probabilities[index], strict=True)}
        results.append(Prediction(prediction=_plain(label), probabilities=probs))
    return results


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones, so they serialise as JSON."""
    return value.item() if isinstance(value, np.generic) else value
