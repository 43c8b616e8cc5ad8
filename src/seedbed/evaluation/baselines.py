"""Baselines a model must beat: the majority class, the mean, the business's rule (an SQL or
Python expression over a row), or a registered model version. Each behaves like a fitted
estimator (`fit` only learns the classes or the mean; rules and models learn nothing), so
it is scored on the same test split and validation folds as the models."""

from __future__ import annotations

import ast
import builtins
import re
from typing import Any

import numpy as np
import pandas as pd

from seedbed.errors import Invalid
from seedbed.evaluation.spec import Baseline

_SAFE_NAMES = "abs all any bool float int len max min round str sum"
SAFE_BUILTINS = {name: getattr(builtins, name) for name in _SAFE_NAMES.split()}


class _Baseline:
    classes_: np.ndarray

    def fit(self, frame: pd.DataFrame, truth: Any) -> _Baseline:
        labels = np.asarray(truth)
        self.classes_ = np.unique(labels)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError


class Majority(_Baseline):
    """The training part's most frequent class; probabilities are the class priors."""

    def fit(self, frame: pd.DataFrame, truth: Any) -> Majority:
        labels = np.asarray(truth)
        self.classes_, counts = np.unique(labels, return_counts=True)
        self.priors_ = counts / counts.sum()
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.tile(self.priors_, (len(frame), 1))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.repeat(self.classes_[np.argmax(self.priors_)], len(frame))


class Mean(_Baseline):
    """The training part's mean of the target."""

    def fit(self, frame: pd.DataFrame, truth: Any) -> Mean:
        self.mean_ = float(np.mean(np.asarray(truth, dtype=float)))
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.full(len(frame), self.mean_)


class Rule(_Baseline):
    """Predictions from an expression; for classification, a boolean result means the
    positive (last) class and other values are taken as class labels."""

    classification = True

    def fit(self, frame: pd.DataFrame, truth: Any) -> Rule:
        labels = np.asarray(truth)
        self.classification = not np.issubdtype(labels.dtype, np.floating)
        if self.classification:
            self.classes_ = np.unique(labels)
        return self

    def values(self, frame: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def mentions(self, column: str) -> bool:
        """Whether the expression may read `column` (used to score only what it reads)."""
        raise NotImplementedError

    def used_columns(self, available: list[str]) -> list[str]:
        """The columns of `available` the expression reads; all of them when it names none
        we can see (a rule that reads no column still gets rows to count)."""
        used = [c for c in available if self.mentions(c)]
        return used or available

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        found = self.values(frame)
        if not self.classification:
            return found.astype(float)
        if found.dtype == bool or set(pd.unique(found)) <= {True, False}:
            negative, positive = self.classes_[0], self.classes_[-1]
            return np.where(found.astype(bool), positive, negative)
        return found.astype(self.classes_.dtype)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        labels = self.predict(frame)
        return (labels[:, None] == self.classes_[None, :]).astype(float)


class SqlRule(Rule):
    """An SQL expression over a row's columns, evaluated by DuckDB without file or network
    access."""

    def __init__(self, sql: str) -> None:
        self.sql = sql

    def mentions(self, column: str) -> bool:
        quoted = '"' + column.replace('"', '""') + '"'
        bare = re.compile(rf"(?<![\w.\"']){re.escape(column)}(?![\w\"'])", re.IGNORECASE)
        return quoted in self.sql or bare.search(self.sql) is not None

    def values(self, frame: pd.DataFrame) -> np.ndarray:
        import duckdb

        rows = frame.assign(__seedbed_row=np.arange(len(frame)))
        with duckdb.connect(config={"enable_external_access": False}) as connection:
            connection.register("rows", rows)
            try:
                found = connection.execute(
                    f'SELECT ({self.sql}) AS value FROM "rows" ORDER BY __seedbed_row'
                ).df()["value"]
            except duckdb.Error as exc:
                raise Invalid(
                    f"The rule {self.sql!r} failed: {str(exc).splitlines()[0]}. Columns: "
                    f"{', '.join(map(str, frame.columns))}."
                ) from exc
        if found.isna().any():
            raise Invalid(f"The rule {self.sql!r} gives no value for some rows (NULL).")
        return found.to_numpy()


class PythonRule(Rule):
    """A Python expression over `row` (a dict of the row's columns), with only a few safe
    builtins and no dunder names."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        try:
            tree = ast.parse(expression, mode="eval")
        except SyntaxError as exc:
            raise Invalid(
                f"The rule {expression!r} is not a Python expression: {exc.msg}."
            ) from None
        for node in ast.walk(tree):
            name = getattr(node, "id", None) or getattr(node, "attr", None)
            if isinstance(name, str) and name.startswith("__"):
                raise Invalid(f"The rule {expression!r} may not use {name}.")
        # row["x"] and row.get("x") name the columns it reads; anything cleverer reads all.
        self.names = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }

    def mentions(self, column: str) -> bool:
        return column in self.names

    def values(self, frame: pd.DataFrame) -> np.ndarray:
        code = compile(self.expression, "<rule>", "eval")  # not kept: code does not pickle
        scope = {"__builtins__": SAFE_BUILTINS}
        found = []
        for row in frame.to_dict(orient="records"):
            try:
                found.append(eval(code, scope, {"row": row}))
            except Exception as exc:
                raise Invalid(
                    f"The rule {self.expression!r} failed on a row: {type(exc).__name__}: {exc}."
                ) from exc
        return np.asarray(found)


class RegisteredModel(_Baseline):
    """A registered model version's predictions, from the columns of its signature."""

    def __init__(self, model: Any, columns: list[str], label: str) -> None:
        self.model = model
        self.columns = columns
        self.label = label
        if hasattr(model, "classes_"):
            self.classes_ = np.asarray(model.classes_)
        if hasattr(model, "predict_proba"):
            self.predict_proba = self._predict_proba

    def fit(self, frame: pd.DataFrame, truth: Any) -> RegisteredModel:
        return self  # the model is already fitted; it learns nothing here

    def _rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise Invalid(
                f"The baseline model {self.label} takes columns {missing} that the data lacks; "
                f"its inputs are {', '.join(self.columns)}."
            )
        return frame[self.columns]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(self._rows(frame)))

    def _predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(self._rows(frame)))


def model_reference(reference: str) -> tuple[str, str]:
    """NAME@ALIAS or NAME@3 as (name, version or alias)."""
    name, at, version = reference.partition("@")
    if not at or not name or not version:
        raise Invalid(f"Baseline model {reference!r}: write NAME@ALIAS or NAME@VERSION.")
    return name, version


def load_registered(ws: Any, reference: str) -> RegisteredModel:
    """A registered version through the SDK, with the input columns of its signature (or
    the columns it was fitted on)."""
    name, version = model_reference(reference)
    model = ws.models.load(name, version)
    found = ws.request("GET", f"/api/v1/models/{name}/versions/{version}").json()
    signature = found.get("signature") or {}
    columns = [c["name"] for c in signature.get("inputs") or [] if "name" in c]
    if not columns and hasattr(model, "feature_names_in_"):
        columns = [str(c) for c in model.feature_names_in_]
    if not columns:
        raise Invalid(
            f"The baseline model {reference} has no input signature and no column names; "
            "log it with an input_example so its input columns are known."
        )
    return RegisteredModel(model, columns, reference)


def make_baseline(ws: Any, baseline: Baseline) -> Any:
    """An unfitted baseline for the spec's entry."""
    if baseline.kind == "majority":
        return Majority()
    if baseline.kind == "mean":
        return Mean()
    if baseline.kind == "rule":
        return (
            SqlRule(baseline.sql) if baseline.sql is not None else PythonRule(baseline.python or "")
        )
    return load_registered(ws, baseline.model or "")
