"""Serve one model in the MLflow format (an MLmodel folder) over HTTP, without seedbed.

`seedbed package` copies this file as-is into a container build context beside the model
folder (`model/`) and `metadata.json`; run it with

    uvicorn --factory serving_app:create_app --host 0.0.0.0 --port 8080

Routes: `POST /predict` (JSON records: `{"inputs": [...]}` or a plain list), `GET /health`,
`GET /metadata` and the OpenAPI description at `/openapi.json`. Inputs are checked the way
seedbed's demo pages and prediction API check them, so the same rows give the same answers;
bad rows get a 422 naming the row and the field.

Only FastAPI, pandas, numpy, PyYAML and the model's own packages are needed here.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

HERE = Path(__file__).resolve().parent
MAX_ROWS = 10_000
MAX_ERRORS = 20
_KINDS = {
    "long": "a whole number",
    "double": "a number",
    "boolean": "true or false",
    "datetime": "a date and time",
}
_ALIASES = {"integer": "long", "float": "double"}  # MLflow column types read like seedbed's
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
_JSON_TYPES = {"long": "integer", "double": "number", "boolean": "boolean", "string": "string"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    choices: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass
class ServedModel:
    estimator: Any
    columns: list[Column]
    metadata: dict[str, Any] = field(default_factory=dict)


class InputError(Exception):
    """Rows that do not fit the model's inputs; `errors` as FastAPI writes them."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["msg"] if errors else "invalid input")
        self.errors = errors


def load_model(directory: Path) -> ServedModel:
    """The estimator and input columns of an MLmodel folder (its sklearn flavour)."""
    mlmodel = yaml.safe_load((directory / "MLmodel").read_text())
    flavour = (mlmodel.get("flavors") or {}).get("sklearn")
    if flavour is None:
        raise RuntimeError(f"The model in {directory} has no sklearn flavour.")
    path = directory / flavour["pickled_model"]
    serialization = flavour.get("serialization_format", "pickle")
    if serialization == "skops":
        import skops.io

        estimator = skops.io.load(path, trusted=flavour.get("skops_trusted_types"))
    elif serialization in ("pickle", "cloudpickle"):
        with path.open("rb") as handle:
            estimator = pickle.load(handle)  # a cloudpickled estimator unpickles with pickle too
    else:
        raise RuntimeError(f"Cannot load a scikit-learn model serialised as {serialization!r}.")
    return ServedModel(estimator, model_columns(mlmodel))


def model_columns(mlmodel: Mapping[str, Any]) -> list[Column]:
    """seedbed's input list (with choices and training ranges), else the MLflow signature's."""
    ours = (mlmodel.get("metadata") or {}).get("seedbed_inputs")
    if ours:
        return [
            Column(c["name"], c["type"], c.get("choices"), c.get("minimum"), c.get("maximum"))
            for c in ours
        ]
    spec = json.loads((mlmodel.get("signature") or {}).get("inputs") or "[]")
    return [Column(c["name"], c.get("type", "string")) for c in spec if "name" in c]


def _coerce(column: Column, value: Any) -> Any:
    """The value as the model takes it; ValueError says why it does not fit."""
    kind = _ALIASES.get(column.type, column.type)
    if value is None or (isinstance(value, str) and value.strip() == "" and kind != "string"):
        if kind == "double":
            return math.nan  # estimators such as gradient boosting handle missing numbers
        raise ValueError("a value is required")
    try:
        if kind == "double":
            return float(value)
        if kind == "long":
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind == "boolean":
            text = str(value).strip().lower()
            if text not in _TRUE | _FALSE:
                raise ValueError
            return text in _TRUE
        if kind == "datetime":
            return pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{value!r} is not {_KINDS.get(kind, kind)}") from exc
    if isinstance(value, dict | list):
        raise ValueError(f"{value!r} is not a text value")
    text = str(value)
    if column.choices is not None and text not in column.choices:
        shown = ", ".join(column.choices[:20])
        raise ValueError(f"{text!r} is not one of the values seen in training ({shown})")
    return text


def to_frame(columns: Sequence[Column], rows: Sequence[Any]) -> pd.DataFrame:
    """Check rows against the model's inputs; unknown, missing or mistyped fields are errors."""
    if not rows:
        raise InputError([_error(("body",), "Give at least one input row.", "missing")])
    if len(rows) > MAX_ROWS:
        raise InputError([_error(("body",), f"At most {MAX_ROWS} rows at once.", "too_long")])
    names = [c.name for c in columns]
    errors: list[dict[str, Any]] = []
    records = []
    for index, row in enumerate(rows):
        where = ("body", "inputs", index)
        if not isinstance(row, Mapping):
            errors.append(_error(where, f"row {index + 1} must be an object.", "dict_type"))
            continue
        for unknown in sorted(set(row) - set(names)):
            message = (
                f"row {index + 1}: unknown field {unknown!r}; the model takes {', '.join(names)}."
            )
            errors.append(_error((*where, unknown), message, "extra_forbidden"))
        record = {}
        for column in columns:
            if column.name not in row:
                message = (
                    f"row {index + 1}: missing field {column.name!r}; give every field "
                    "(null for a missing number)."
                )
                errors.append(_error((*where, column.name), message, "missing"))
                continue
            try:
                record[column.name] = _coerce(column, row[column.name])
            except ValueError as exc:
                message = f"row {index + 1}, field {column.name!r}: {exc}."
                errors.append(_error((*where, column.name), message, "value_error"))
        records.append(record)
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise InputError(errors[:MAX_ERRORS])
    return pd.DataFrame.from_records(records, columns=names)


def _error(loc: tuple[Any, ...], message: str, kind: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": message, "type": kind}


def _warnings(columns: Sequence[Column], frame: pd.DataFrame) -> list[list[str]]:
    """For each row, its values outside the range seen in training, said for people."""
    found: list[list[str]] = [[] for _ in range(len(frame))]
    for column in columns:
        if _ALIASES.get(column.type, column.type) not in ("double", "long"):
            continue
        if column.minimum is None and column.maximum is None:
            continue
        low = -math.inf if column.minimum is None else column.minimum
        high = math.inf if column.maximum is None else column.maximum
        values = frame[column.name].to_numpy(dtype="float64")
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


def predict(model: ServedModel, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Score rows; classifiers also give the probability of each class."""
    frame = to_frame(model.columns, rows)
    try:
        return _score(model, frame)
    except ValueError as exc:  # e.g. a missing number the estimator cannot take
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        message = f"The model cannot score these rows: {first}"
        raise InputError([_error(("body", "inputs"), message, "value_error")]) from exc


def _score(model: ServedModel, frame: pd.DataFrame) -> list[dict[str, Any]]:
    estimator = model.estimator
    classes = getattr(estimator, "classes_", None)
    probabilities = None
    if classes is not None and hasattr(estimator, "predict_proba"):
        # a classifier's label is its most probable class, so one call scores both
        probabilities = np.asarray(estimator.predict_proba(frame))
        labels = np.asarray(classes)[probabilities.argmax(axis=1)]
        names = [str(_plain(c)) for c in classes]
    else:
        labels = np.asarray(estimator.predict(frame))
    warnings = _warnings(model.columns, frame)
    results = []
    for index, label in enumerate(labels):
        probs = None
        if probabilities is not None:
            probs = {c: float(p) for c, p in zip(names, probabilities[index], strict=True)}
        results.append(
            {"prediction": _plain(label), "probabilities": probs, "warnings": warnings[index]}
        )
    return results


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones, so they serialise as JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _rows(payload: Any) -> Sequence[Any]:
    """The rows of a request body: a list, or an object with `inputs` (or MLflow's
    `dataframe_records`)."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for key in ("inputs", "dataframe_records"):
            if isinstance(payload.get(key), list):
                rows: list[Any] = payload[key]
                return rows
    message = 'Send JSON records: {"inputs": [{"field": value, ...}, ...]} or a list of them.'
    raise InputError([_error(("body",), message, "model_type")])


def _request_schema(columns: Sequence[Column]) -> dict[str, Any]:
    """The OpenAPI description of a request body for these input columns."""
    properties: dict[str, Any] = {}
    for column in columns:
        kind = _ALIASES.get(column.type, column.type)
        schema: dict[str, Any] = {"type": _JSON_TYPES.get(kind, "string")}
        if kind == "datetime":
            schema["format"] = "date-time"
        if column.choices is not None:
            schema["enum"] = column.choices
        if kind == "double":
            schema["type"] = ["number", "null"]  # null: a missing number
        properties[column.name] = schema
    required = [c.name for c in columns]
    row = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    body = {
        "oneOf": [
            {"type": "object", "properties": {"inputs": {"type": "array", "items": row}}},
            {"type": "array", "items": row},
        ]
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": body}}}}


def create_app(model_dir: Path | None = None) -> FastAPI:
    """The serving app for the model in `model_dir` (default: $MODEL_DIR, else ./model)."""
    directory = model_dir or Path(os.environ.get("MODEL_DIR") or HERE / "model")
    model = load_model(directory)
    metadata_file = directory.parent / "metadata.json"
    if metadata_file.is_file():
        model.metadata = json.loads(metadata_file.read_text())
    title = f"{model.metadata.get('name', 'model')} v{model.metadata.get('version', '?')}"
    app = FastAPI(title=title, docs_url=None, redoc_url=None)  # no CDN assets
    app.state.model = model

    @app.exception_handler(InputError)
    async def _input_error(_request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"detail": exc.errors}, status_code=422)

    @app.get("/health")
    def health() -> dict[str, Any]:
        """200 while the model is loaded and the app answers."""
        return {"status": "ok"}

    @app.get("/metadata")
    def metadata() -> dict[str, Any]:
        """The model's name, version, alias, run, signature, requirements and where they
        were pinned from."""
        return model.metadata

    @app.post("/predict", openapi_extra=_request_schema(model.columns))
    async def predict_route(request: Request) -> dict[str, Any]:
        """Score JSON records; classifiers also give class probabilities."""
        try:
            payload = await request.json()
        except ValueError:
            raise InputError(
                [_error(("body",), "The body is not valid JSON.", "json_invalid")]
            ) from None
        rows = _rows(payload)
        return {"predictions": await run_in_threadpool(predict, model, rows)}

    return app
