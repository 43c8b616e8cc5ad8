"""Estimators by name: any scikit-learn estimator, LightGBM and XGBoost when installed, or a
dotted path to a class importable in the job's environment; and the pipeline that prepares
a frame's columns for one."""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
from typing import Any

import pandas as pd

from seedbed.errors import Invalid

OPTIONAL = {
    "LGBMClassifier": ("lightgbm", "lightgbm"),
    "LGBMRegressor": ("lightgbm", "lightgbm"),
    "XGBClassifier": ("xgboost", "xgboost"),
    "XGBRegressor": ("xgboost", "xgboost"),
}
# Estimators fitted on distances or gradients: numbers are imputed and standardised.
SCALED_MODULES = (
    "sklearn.linear_model",
    "sklearn.svm",
    "sklearn.neighbors",
    "sklearn.neural_network",
)
# Estimators that take missing numbers as they are.
NAN_NATIVE = ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor", *OPTIONAL)
TASK_KINDS = {
    "classification": "classifier",
    "regression": "regressor",
    "clustering": "clusterer",
    "anomaly_detection": "outlier_detector",
}
MAX_CATEGORIES = 50  # per column; rarer values share one "infrequent" column


@functools.lru_cache(maxsize=1)
def sklearn_estimators() -> dict[str, type]:
    from sklearn.utils.discovery import all_estimators

    return dict(all_estimators())


def resolve_estimator(name: str) -> type:
    """The estimator class called `name`; Invalid with close names when there is none."""
    if name in OPTIONAL:
        module_name, package = OPTIONAL[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise Invalid(
                f"{name} needs the {package} package, which is not installed in the job's "
                f"environment: add {package} to it (pip install {package})."
            ) from exc
        found: type = getattr(module, name)
        return found
    known = sklearn_estimators()
    if name in known:
        return known[name]
    if "." in name:
        return _import_path(name)
    names = [*known, *OPTIONAL]
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    close += [n for n in names if n.lower() == name.lower() and n not in close]
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise Invalid(
        f"Unknown estimator {name!r}.{hint} Give a scikit-learn estimator's class name, "
        "LGBMClassifier/XGBClassifier (when installed), or a dotted path package.module.Class."
    )


def _import_path(path: str) -> type:
    module_name, _, class_name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise Invalid(
            f"Cannot import {module_name!r} for the estimator {path!r} in the job's "
            f"environment: {exc}."
        ) from exc
    found = getattr(module, class_name, None)
    if not inspect.isclass(found):
        raise Invalid(f"{module_name} has no class {class_name!r} (estimator {path!r}).")
    return found


def estimator_kind(estimator: Any) -> str:
    """classifier, regressor, clusterer, outlier_detector or '' (unknown)."""
    from sklearn import base

    for kind in ("classifier", "regressor", "clusterer", "outlier_detector"):
        check = getattr(base, f"is_{kind}", None)
        if check is not None and check(estimator):
            return kind
    return str(getattr(estimator, "_estimator_type", "") or "")


def make_estimator(name: str, params: dict[str, Any], task: str, seed: int) -> Any:
    """An unfitted estimator with `params`, checked to suit `task`; seeded when it can be."""
    cls = resolve_estimator(name)
    try:
        estimator = cls()
    except Exception as exc:
        raise Invalid(f"Cannot create {name}() without arguments: {exc}.") from exc
    if not hasattr(estimator, "get_params") or not hasattr(estimator, "fit"):
        raise Invalid(f"{name} is not an estimator: it lacks fit/get_params.")
    accepted = estimator.get_params(deep=False)
    unknown = sorted(set(params) - set(accepted))
    if unknown and not _takes_any_keyword(cls):  # LightGBM and XGBoost pass extras through
        raise Invalid(
            f"{name} has no parameters {unknown}; it takes {', '.join(sorted(accepted))}."
        )
    chosen = dict(params)
    if "random_state" in accepted and "random_state" not in chosen:
        chosen["random_state"] = seed
    try:
        estimator.set_params(**chosen)
    except (TypeError, ValueError) as exc:
        raise Invalid(f"{name}: {exc}") from exc
    kind = estimator_kind(estimator)
    wanted = TASK_KINDS[task]
    if kind != wanted:
        raise Invalid(
            f"{name} is {'a ' + kind if kind else 'not a known kind of estimator'}, but the "
            f"task is {task}: choose a {wanted}."
        )
    return estimator


def _takes_any_keyword(cls: type) -> bool:
    import inspect

    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def categorical_columns(frame: pd.DataFrame) -> list[str]:
    """Columns one-hot encoded: text, categories and booleans."""
    return [
        str(name)
        for name in frame.columns
        if frame[name].dtype.kind in "OSUb"
        or isinstance(frame[name].dtype, pd.CategoricalDtype)
        or pd.api.types.is_string_dtype(frame[name].dtype)
    ]


def as_text(frame: Any) -> Any:
    """Categorical values as strings with a name for missing ones, so encoders see one type."""
    table = pd.DataFrame(frame)
    return table.astype(object).where(table.notna(), "(missing)").astype(str)


def build_pipeline(estimator: Any, frame: pd.DataFrame) -> Any:
    """Encode categories, impute (and scale, where the estimator needs it) numbers, then
    `estimator`; the column lists come from `frame`'s dtypes."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    categorical = categorical_columns(frame)
    numeric = [str(c) for c in frame.columns if str(c) not in categorical]
    name = type(estimator).__name__
    module = type(estimator).__module__
    unsupervised = estimator_kind(estimator) in ("clusterer", "outlier_detector")
    numbers: Any
    if name in NAN_NATIVE:
        numbers = "passthrough"
    elif module.startswith(SCALED_MODULES) or unsupervised:
        numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    else:
        numbers = SimpleImputer(strategy="median")
    encoder = OneHotEncoder(
        handle_unknown="ignore", sparse_output=False, max_categories=MAX_CATEGORIES
    )
    steps = []
    if categorical:
        text = FunctionTransformer(as_text, feature_names_out="one-to-one")
        steps.append(("categories", make_pipeline(text, encoder), categorical))
    if numeric:
        steps.append(("numbers", numbers, numeric))
    prepare = ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("prepare", prepare), ("estimator", estimator)])
