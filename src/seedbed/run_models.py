"""scikit-learn models saved for `run.log_model`: the MLflow model format, with the input
schema (and the choices a demo form offers) taken from an example of the training data."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from seedbed import errors
from seedbed.registry import model_format

MIN_ROWS_FOR_RANGES = 30


def save_model(model: Any, directory: Path, input_example: Any = None) -> Path:
    """Write `model` as an MLmodel folder at `directory`.

    With a DataFrame (or dict rows) as `input_example`, the folder holds an input signature,
    so a demo page builds its form and MLflow checks inputs; with none, it holds none.
    """
    from sklearn.base import BaseEstimator, is_classifier

    if not isinstance(model, BaseEstimator):
        raise errors.Invalid(
            f"log_model saves scikit-learn estimators and Pipelines, not {type(model).__name__}."
        )
    frame = example_frame(input_example)
    classes = getattr(model, "classes_", None)
    integer_classes = classes is not None and pd.Series(classes).dtype.kind in "iub"
    output_type = "long" if is_classifier(model) and integer_classes else "double"
    if frame is None or frame.empty:
        model_format.save_sklearn_model(model, directory, [], {}, output_type)
        _drop_signature(directory)
        return directory
    inputs = model_format.infer_inputs(frame)
    if len(frame) < MIN_ROWS_FOR_RANGES:
        # A few example rows say little about the training range: warning on every value
        # outside them would be noise, so such models record no range.
        inputs = [dataclasses.replace(c, minimum=None, maximum=None) for c in inputs]
    first_row = frame.head(1).to_dict(orient="records")[0]
    return model_format.save_sklearn_model(model, directory, inputs, first_row, output_type)


def example_frame(example: Any) -> pd.DataFrame | None:
    """An input example as a DataFrame with named columns, or None when it has no names."""
    if example is None:
        return None
    if isinstance(example, pd.DataFrame):
        return example
    if isinstance(example, pd.Series):
        return example.to_frame().T if example.index.dtype == object else None
    if isinstance(example, Mapping):
        return pd.DataFrame([dict(example)])
    if isinstance(example, list) and example and all(isinstance(r, Mapping) for r in example):
        return pd.DataFrame([dict(r) for r in example])
    return None  # an array: no column names to build a schema from


def _drop_signature(directory: Path) -> None:
    """Without an example the saved schema would be empty, which MLflow refuses to load."""
    path = directory / "MLmodel"
    mlmodel = yaml.safe_load(path.read_text())
    for key in ("signature", "saved_input_example_info"):
        mlmodel.pop(key, None)
    path.write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    (directory / "input_example.json").unlink(missing_ok=True)
