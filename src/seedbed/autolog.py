"""Autologging for scikit-learn: `ws.autolog()` makes every `fit` log itself.

The outermost `fit` (a Pipeline's, a GridSearchCV's) logs into the active run, or into a new
run that it ends. It logs the estimator's params, metrics on the training data, a search's
best params and score, and the fitted model; the fits those estimators make inside stay
silent. Metric names are the ones `mlflow.sklearn.autolog` uses, so runs logged either way
compare side by side.
"""

from __future__ import annotations

import functools
import math
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from seedbed import errors
from seedbed.client_runs import ActiveRun

if TYPE_CHECKING:
    from seedbed.client import Client

MARK = "__seedbed_autolog_original__"  # on a patched `fit`: the original it wraps
AUTOLOGGING_TAG = "mlflow.autologging"
MAX_PARAM_VALUE = 6000  # the server's limit (seedbed.tracking.runs.MAX_PARAM_VALUE)
MAX_KEY = 250


class AutologWarning(UserWarning):
    """Autologging could not log something; the fit itself went ahead."""


def enable(client: Client, experiment: str, log_models: bool = True) -> None:
    """Patch `fit` of every scikit-learn estimator to log through `client`."""
    disable()
    logger = Autologger(client, experiment, log_models)
    for owner in _fit_owners():
        original = owner.__dict__["fit"]
        setattr(owner, "fit", _patched(original, logger))  # noqa: B010


def disable() -> None:
    """Put the original `fit` methods back."""
    for owner in _fit_owners():
        original = getattr(owner.__dict__["fit"], MARK, None)
        if original is not None:
            setattr(owner, "fit", original)  # noqa: B010


def _fit_owners() -> Iterator[type]:
    """The scikit-learn classes that define the `fit` each estimator uses."""
    from sklearn.utils import all_estimators

    seen: set[type] = set()
    for _name, estimator in all_estimators():
        for klass in estimator.__mro__:
            if "fit" in klass.__dict__:
                if klass.__module__.startswith("sklearn.") and klass not in seen:
                    seen.add(klass)
                    yield klass
                break


def _patched(original: Callable[..., Any], logger: Autologger) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(estimator: Any, *args: Any, **kwargs: Any) -> Any:
        return logger.fit(original, estimator, args, kwargs)

    setattr(fit, MARK, original)
    return fit


class Autologger:
    """Logs the outermost `fit` in progress; fits inside it (and in other threads meanwhile,
    such as joblib's) run unlogged."""

    def __init__(self, client: Client, experiment: str, log_models: bool) -> None:
        self.client = client
        self.experiment = experiment
        self.log_models = log_models
        self._depth = 0
        self._lock = threading.Lock()

    def fit(
        self,
        original: Callable[..., Any],
        estimator: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        with self._lock:
            outermost = self._depth == 0
            self._depth += 1
        try:
            if not outermost:
                return original(estimator, *args, **kwargs)
            return self._logged_fit(original, estimator, args, kwargs)
        finally:
            with self._lock:
                self._depth -= 1

    def _logged_fit(
        self,
        original: Callable[..., Any],
        estimator: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        run = self.client.active_run()
        started = run is None
        if run is None:
            run = self._start(estimator)
            if run is None:
                return original(estimator, *args, **kwargs)
        self._quietly(run, "params", lambda: self._log_params(run, estimator))
        try:
            result = original(estimator, *args, **kwargs)
        except BaseException:
            if started:
                self._quietly(run, "the run's end", lambda: run.end("FAILED"))
            raise
        self._quietly(run, "metrics", lambda: self._log_results(run, estimator, args, kwargs))
        if self.log_models:
            frame = _argument(args, kwargs, 0, "X")
            self._quietly(run, "the model", lambda: self._log_model(run, estimator, frame))
        if started:
            self._quietly(run, "the run's end", lambda: run.end("FINISHED"))
        return result

    def _start(self, estimator: Any) -> ActiveRun | None:
        try:
            return self.client.start_run(
                self.experiment, tags={AUTOLOGGING_TAG: "sklearn"}, log_environment=True
            )
        except (errors.SeedbedError, httpx.HTTPError) as exc:
            warnings.warn(
                f"seedbed autolog could not start a run for {type(estimator).__name__}.fit "
                f"({exc}); the model was trained without logging.",
                AutologWarning,
                stacklevel=4,
            )
            return None

    def _quietly(self, run: ActiveRun, what: str, action: Callable[[], None]) -> None:
        # A logging failure must not cost the user a trained model: warn and go on.
        try:
            action()
        except (errors.SeedbedError, httpx.HTTPError) as exc:
            warnings.warn(
                f"seedbed autolog could not log {what} to run {run.id}: {exc}",
                AutologWarning,
                stacklevel=5,
            )

    def _log_params(self, run: ActiveRun, estimator: Any) -> None:
        run.set_tags({AUTOLOGGING_TAG: "sklearn", "estimator_name": type(estimator).__name__})
        run.log_params(param_texts(estimator.get_params(deep=True)))

    def _log_results(
        self, run: ActiveRun, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        X = _argument(args, kwargs, 0, "X")
        y = _argument(args, kwargs, 1, "y")
        weights = kwargs.get("sample_weight")
        metrics = training_metrics(estimator, X, y, weights) if y is not None else {}
        best_params = getattr(estimator, "best_params_", None)
        if isinstance(best_params, dict):
            run.log_params(param_texts({f"best_{k}": v for k, v in best_params.items()}))
        best_score = getattr(estimator, "best_score_", None)
        if isinstance(best_score, int | float):
            metrics["best_cv_score"] = float(best_score)
        if metrics:
            run.log_metrics(metrics)
        run.flush()

    def _log_model(self, run: ActiveRun, estimator: Any, X: Any) -> None:
        import pandas as pd

        example = X if isinstance(X, pd.DataFrame) else None
        run.log_model(estimator, "model", input_example=example)


def _argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def param_texts(params: dict[str, Any]) -> dict[str, str]:
    """Params as the server keeps them: strings, cut to its length limit."""
    texts = {}
    for key, value in params.items():
        if key and len(key) <= MAX_KEY:
            texts[key] = str(value)[:MAX_PARAM_VALUE]
    return texts


def training_metrics(estimator: Any, X: Any, y: Any, weights: Any = None) -> dict[str, float]:
    """MLflow's training metrics for a classifier or a regressor; those that cannot be
    computed for this estimator (no predict_proba, one class) are left out."""
    from sklearn import metrics as sk
    from sklearn.base import is_classifier, is_regressor

    found: dict[str, float] = {}

    def measure(name: str, compute: Callable[[], Any]) -> None:
        try:
            value = float(compute())
        except (ValueError, TypeError, AttributeError, IndexError):
            return
        if not math.isnan(value):
            found[name] = value

    with warnings.catch_warnings():
        # Undefined precision on an unseen class and the like: the metric says enough.
        warnings.simplefilter("ignore")
        if is_classifier(estimator):
            predicted = estimator.predict(X)
            kw: dict[str, Any] = {"sample_weight": weights}
            weighted = {**kw, "average": "weighted"}
            measure("training_accuracy_score", lambda: sk.accuracy_score(y, predicted, **kw))
            measure(
                "training_precision_score",
                lambda: sk.precision_score(y, predicted, zero_division=0, **weighted),
            )
            measure("training_recall_score", lambda: sk.recall_score(y, predicted, **weighted))
            measure("training_f1_score", lambda: sk.f1_score(y, predicted, **weighted))
            if hasattr(estimator, "predict_proba"):
                _probability_metrics(estimator, X, y, kw, measure)
        elif is_regressor(estimator):
            predicted = estimator.predict(X)
            kw = {"sample_weight": weights}
            measure(
                "training_mean_squared_error", lambda: sk.mean_squared_error(y, predicted, **kw)
            )
            if "training_mean_squared_error" in found:
                mse = found["training_mean_squared_error"]
                measure("training_root_mean_squared_error", lambda: math.sqrt(mse))
            measure(
                "training_mean_absolute_error", lambda: sk.mean_absolute_error(y, predicted, **kw)
            )
            measure("training_r2_score", lambda: sk.r2_score(y, predicted, **kw))
        if hasattr(estimator, "score"):
            measure("training_score", lambda: estimator.score(X, y, **_weights(weights)))
    return found


def _probability_metrics(
    estimator: Any,
    X: Any,
    y: Any,
    kw: dict[str, Any],
    measure: Callable[[str, Callable[[], Any]], None],
) -> None:
    from sklearn import metrics as sk

    try:
        probabilities = estimator.predict_proba(X)
    except (AttributeError, ValueError):  # e.g. SVC(probability=False)
        return
    labels = list(estimator.classes_)
    measure("training_log_loss", lambda: sk.log_loss(y, probabilities, labels=labels, **kw))
    if len(labels) == 2:
        measure("training_roc_auc", lambda: sk.roc_auc_score(y, probabilities[:, 1], **kw))
    else:
        measure(
            "training_roc_auc",
            lambda: sk.roc_auc_score(
                y, probabilities, multi_class="ovr", average="weighted", labels=labels, **kw
            ),
        )


def _weights(weights: Any) -> dict[str, Any]:
    return {} if weights is None else {"sample_weight": weights}
