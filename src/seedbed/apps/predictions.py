"""Predictions for demo pages and the API: check inputs against the signature, then score.

`predict` takes JSON or form rows (small, coerced one value at a time, form strings allowed);
`predict_frame` checks and scores a whole frame with column operations, for batch scoring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
_FALSE = {"false", "0", "no", "off", ""}  # "": an unticked checkbox sends nothing
_MISSING_TEXT = {"", "nan", "nat"}  # how forms and CSV files write a missing value


class InvalidInput(Invalid):
    """Inputs that do not match the model's signature (a missing, extra or mistyped field)."""

    status_code = 422
    code = "invalid_input"


@dataclass(frozen=True)
class Prediction:
    prediction: Any
    probabilities: dict[str, float] | None  # class label -> probability, for classifiers
    warnings: list[str] = field(default_factory=list)  # inputs outside the training range


def _coerce(column: InputColumn, value: Any, row: int) -> Any:
    where = f"row {row + 1}, field {column.name!r}"
    if (
        value is None
        or (
            isinstance(value, str)
            and value.strip().lower() in _MISSING_TEXT
            and column.type not in ("string", "boolean")
        )
        or (isinstance(value, float) and math.isnan(value))
    ):
        if column.type == "double":
            return math.nan  # estimators such as gradient boosting handle missing numbers
        raise InvalidInput(f"{where}: a value is required.")
    try:
        if column.type == "double":
            if isinstance(value, (dict, list, bool)):
                raise TypeError
            return float(value)
        if column.type == "long":
            if isinstance(value, (dict, list, bool)):
                raise TypeError
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
            stamp = pd.Timestamp(value)
            if stamp is pd.NaT:
                raise ValueError
            return stamp
    except (TypeError, ValueError, OverflowError) as exc:
        kind = _KINDS.get(column.type, column.type)
        raise InvalidInput(f"{where}: {value!r} is not {kind}.") from exc
    if isinstance(value, (dict, list)):
        raise InvalidInput(f"{where}: {value!r} is not a text value.")
    text = str(value)
    if column.choices is not None and text not in column.choices:
        raise InvalidInput(
            f"{where}: {text!r} is not one of the values seen in training ({_shown(column)})."
        )
    return text


def _shown(column: InputColumn) -> str:
    return ", ".join((column.choices or [])[:20])


def to_frame(inputs: Sequence[InputColumn], rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Validate rows against the model's inputs; unknown or missing fields are errors."""
    if not rows:
        raise InvalidInput("Give at least one input row.")
    names = [c.name for c in inputs]
    known = set(names)
    records = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidInput(f"row {index + 1} must be an object of field: value pairs.")
        unknown = sorted(set(row) - known)
        if unknown:
            raise InvalidInput(
                f"row {index + 1}: unknown fields {', '.join(unknown)}; "
                f"the model takes {', '.join(names)}."
            )
        missing = [name for name in names if name not in row]
        if missing:
            raise InvalidInput(
                f"row {index + 1}: missing fields {', '.join(missing)}; give every field "
                "(null for a missing number)."
            )
        records.append({c.name: _coerce(c, row[c.name], index) for c in inputs})
    return pd.DataFrame.from_records(records, columns=names)


def predict(model: LoadedModel, rows: Sequence[Mapping[str, Any]]) -> list[Prediction]:
    """Score rows with a loaded model; classifiers also give class probabilities, and each
    prediction warns about inputs outside the range seen in training."""
    frame = to_frame(model.inputs, rows)
    labels, probabilities, classes = _score(model.estimator, frame)
    warnings = row_warnings(model.inputs, frame)
    results = []
    for index, label in enumerate(labels):
        probs = None
        if probabilities is not None:
            probs = {c: float(p) for c, p in zip(classes, probabilities[index], strict=True)}
        results.append(Prediction(_plain(label), probs, warnings[index]))
    return results


def predict_frame(model: LoadedModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Check a whole frame against the model's inputs (column operations, no per-row Python)
    and score it: the input columns plus `prediction` and, for classifiers, one
    `probability_<class>` column per class."""
    checked = check_frame(model.inputs, frame)
    labels, probabilities, classes = _score(model.estimator, checked)
    checked["prediction"] = labels
    if probabilities is not None:
        for index, label in enumerate(classes):
            checked[f"probability_{label}"] = probabilities[:, index]
    return checked


def check_frame(inputs: Sequence[InputColumn], frame: pd.DataFrame) -> pd.DataFrame:
    """A new frame with the model's columns in order, each converted to its type; Invalid
    names a missing, extra or mistyped column and the first bad row."""
    if len(frame) == 0:
        raise InvalidInput("Give at least one input row.")
    names = [c.name for c in inputs]
    given = [str(c) for c in frame.columns]
    repeated = sorted({c for c in given if given.count(c) > 1})
    if repeated:
        raise InvalidInput(f"Columns {', '.join(repeated)} appear more than once.")
    missing = [n for n in names if n not in given]
    if missing:
        raise InvalidInput(
            f"Missing columns {', '.join(missing)}; the model takes {', '.join(names)}."
        )
    extra = [c for c in given if c not in set(names)]
    if extra:
        raise InvalidInput(
            f"Unknown columns {', '.join(extra)}; the model takes {', '.join(names)}."
        )
    frame = frame.set_axis(given, axis=1)
    return pd.DataFrame({c.name: _convert(c, frame[c.name]) for c in inputs})


def _fail(column: InputColumn, series: pd.Series, bad: np.ndarray, problem: str) -> None:
    """Raise for the first row flagged in `bad`, if any."""
    rows = np.flatnonzero(bad)
    if len(rows):
        row = int(rows[0])
        value = _plain(series.iloc[row])
        text = problem.format(value=repr(value), kind=_KINDS.get(column.type, column.type))
        raise InvalidInput(f"row {row + 1}, field {column.name!r}: {text}")


def _convert(column: InputColumn, series: pd.Series) -> pd.Series:
    series = series.reset_index(drop=True)
    missing = series.isna().to_numpy()
    kind = series.dtype.kind
    if column.type in ("double", "long"):
        if kind in "iuf":
            numbers = series.astype("float64")
        elif kind in "bmM":  # booleans and times are not numbers
            _fail(column, series, ~missing, "{value} is not {kind}.")
            numbers = series.astype("float64")
        else:
            numbers = pd.to_numeric(series.where(~_blank(series)), errors="coerce").astype(
                "float64"
            )
            _fail(
                column,
                series,
                numbers.isna().to_numpy() & ~_blank(series).to_numpy() & ~missing,
                "{value} is not {kind}.",
            )
        if column.type == "double":
            return numbers
        values = numbers.to_numpy()
        _fail(column, series, np.isnan(values), "a value is required.")
        _fail(column, series, ~np.isfinite(values), "{value} is not {kind}.")
        _fail(column, series, values != np.floor(values), "{value} is not {kind}.")
        return numbers.astype("int64")
    _fail(column, series, missing, "a value is required.")
    if column.type == "boolean":
        if kind == "b":
            return series
        text = series.astype(str).str.strip().str.lower()
        _fail(column, series, ~text.isin(_TRUE | _FALSE).to_numpy(), "{value} is not {kind}.")
        return text.isin(_TRUE)
    if column.type == "datetime":
        times = pd.to_datetime(series, errors="coerce", format="mixed")
        _fail(column, series, times.isna().to_numpy(), "{value} is not {kind}.")
        return times
    nested = series.map(lambda v: isinstance(v, (dict, list))).to_numpy(dtype=bool)
    _fail(column, series, nested, "{value} is not a text value.")
    text = series.astype(str).astype(object)
    if column.choices is not None:
        _fail(
            column,
            series,
            ~text.isin(column.choices).to_numpy(),
            "{value} is not one of the values seen in training (" + _shown(column) + ").",
        )
    return text


def _blank(series: pd.Series) -> pd.Series:
    if series.dtype.kind not in "OT" and str(series.dtype) not in ("str", "string"):
        return pd.Series(False, index=series.index)
    return series.astype(str).str.strip().str.lower().isin(_MISSING_TEXT) & series.notna()


def _score(estimator: Any, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Labels, class probabilities (or None) and class names; a classifier's label is its most
    probable class, so one call scores both."""
    classes = getattr(estimator, "classes_", None)
    try:
        if classes is not None and hasattr(estimator, "predict_proba"):
            probabilities = np.asarray(estimator.predict_proba(frame))
            labels = np.asarray(classes)[probabilities.argmax(axis=1)]
            return labels, probabilities, [str(_plain(c)) for c in classes]
        return np.asarray(estimator.predict(frame)), None, []
    except (ValueError, TypeError) as exc:  # e.g. a missing number a linear model cannot take
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidInput(f"The model cannot score these rows: {reason}") from exc


def row_warnings(inputs: Sequence[InputColumn], frame: pd.DataFrame) -> list[list[str]]:
    """For each row, its values outside the range seen in training."""
    found: list[list[str]] = [[] for _ in range(len(frame))]
    for column, values, low, high in _ranges(inputs, frame):
        for row in np.flatnonzero(values < low):
            found[row].append(
                f"{column.name} {values[row]:g} is below the smallest value seen in "
                f"training ({low:g})"
            )
        for row in np.flatnonzero(values > high):
            found[row].append(
                f"{column.name} {values[row]:g} is above the largest value seen in "
                f"training ({high:g})"
            )
    return found


def frame_warnings(inputs: Sequence[InputColumn], frame: pd.DataFrame) -> list[str]:
    """For a batch: per column, how many rows lie outside the range seen in training."""
    found = []
    for column, values, low, high in _ranges(inputs, frame):
        outside = int(np.count_nonzero((values < low) | (values > high)))
        if outside:
            found.append(
                f"{column.name}: {outside} of {len(values)} rows are outside the range seen in "
                f"training ({low:g} to {high:g})"
            )
    return found


def _ranges(
    inputs: Sequence[InputColumn], frame: pd.DataFrame
) -> list[tuple[InputColumn, np.ndarray, float, float]]:
    ranges = []
    for column in inputs:
        if column.type not in ("double", "long") or column.name not in frame.columns:
            continue
        low = -math.inf if column.minimum is None else column.minimum
        high = math.inf if column.maximum is None else column.maximum
        if math.isinf(low) and math.isinf(high):
            continue
        ranges.append((column, frame[column.name].to_numpy(dtype="float64"), low, high))
    return ranges


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones, so they serialise as JSON."""
    return value.item() if isinstance(value, np.generic) else value
