"""scikit-learn autologging through a real `seedbed up`: one run per outermost fit, MLflow's
training metrics, search results, the fitted model, FAILED runs, and a clean disable."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

import seedbed as sb
from server_process import SeedbedServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore::FutureWarning:mlflow"),
    pytest.mark.filterwarnings("ignore::UserWarning:mlflow"),
]
RNG = np.random.default_rng(7)
X = pd.DataFrame({"a": RNG.normal(size=60), "b": RNG.normal(size=60)})
Y = (X["a"] + 0.3 * RNG.normal(size=60) > 0).astype(int)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("autolog") / "ws") as running:
        yield running


@pytest.fixture
def ws(server: SeedbedServer) -> Iterator[sb.Client]:
    from sklearn.linear_model import LogisticRegression

    original = LogisticRegression.fit
    with sb.connect(url=server.url, token=server.token) as client:
        try:
            yield client
        finally:
            client.autolog(disable=True)
    assert LogisticRegression.fit is original  # every test leaves sklearn as it found it


def only_run(ws: sb.Client, experiment: str) -> dict[str, Any]:
    [run] = ws.runs(experiment)
    return run


def test_a_classifier_fit_logs_params_metrics_and_model(ws: sb.Client, mlflow: ModuleType) -> None:
    import mlflow.pyfunc
    from sklearn.linear_model import LogisticRegression

    ws.autolog(experiment="auto-clf")
    model = LogisticRegression(C=0.5).fit(X, Y)
    run = only_run(ws, "auto-clf")
    assert run["status"] == "FINISHED"
    assert run["params"]["C"] == "0.5" and run["params"]["max_iter"] == "100"
    assert run["tags"]["mlflow.autologging"] == "sklearn"
    assert run["tags"]["estimator_name"] == "LogisticRegression"
    metrics = run["metrics"]
    assert set(metrics) == {
        "training_accuracy_score",
        "training_precision_score",
        "training_recall_score",
        "training_f1_score",
        "training_log_loss",
        "training_roc_auc",
        "training_score",
    }
    assert metrics["training_score"] == pytest.approx(model.score(X, Y))
    assert 0.5 < metrics["training_roc_auc"] <= 1.0
    loaded = mlflow.pyfunc.load_model(f"runs:/{run['id']}/model")
    assert list(loaded.predict(X.head(5))) == list(model.predict(X.head(5)))


def test_pipelines_and_searches_log_once_with_the_best_result(ws: sb.Client) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    ws.autolog(experiment="auto-search", log_models=False)
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    search = GridSearchCV(pipeline, {"clf__C": [0.1, 1.0, 10.0]}, cv=3).fit(X, Y)
    run = only_run(ws, "auto-search")  # 10 inner fits, one run
    params = run["params"]
    assert params["best_clf__C"] == str(search.best_params_["clf__C"])
    assert params["cv"] == "3" and params["estimator__clf__C"] == "1.0"
    assert not any(k.startswith("scale__") or k == "C" for k in params)  # no inner fit's params
    assert run["metrics"]["best_cv_score"] == pytest.approx(search.best_score_)
    assert run["metrics"]["training_score"] == pytest.approx(search.score(X, Y))

    pipeline.fit(X, Y)  # a second outermost fit: a second run
    assert len(ws.runs("auto-search")) == 2


def test_inside_an_active_run_fits_log_into_it(ws: sb.Client) -> None:
    from sklearn.linear_model import LinearRegression

    ws.autolog(experiment="auto-unused", log_models=False)
    target = X["a"] * 2 + 1
    with ws.start_run(experiment="auto-mine", name="mine") as run:
        run.log_param("note", "by hand")
        model = LinearRegression().fit(X, target)
    assert "auto-unused" not in set(ws.experiments().get("name", []))
    found = only_run(ws, "auto-mine")
    assert found["id"] == run.id and found["status"] == "FINISHED"
    assert found["params"]["note"] == "by hand" and found["params"]["fit_intercept"] == "True"
    metrics = found["metrics"]
    assert metrics["training_r2_score"] == pytest.approx(model.score(X, target))
    assert metrics["training_mean_squared_error"] == pytest.approx(0.0, abs=1e-12)
    assert {"training_root_mean_squared_error", "training_mean_absolute_error"} <= set(metrics)


def test_a_failing_fit_leaves_its_run_failed(ws: sb.Client) -> None:
    from sklearn.linear_model import LogisticRegression

    ws.autolog(experiment="auto-fail")
    broken = X.copy()
    broken.loc[0, "a"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression().fit(broken, Y)
    run = only_run(ws, "auto-fail")
    assert run["status"] == "FAILED" and run["params"]["C"] == "1.0"
    assert ws.active_run() is None


def test_disable_restores_plain_fit(ws: sb.Client) -> None:
    from sklearn.tree import DecisionTreeClassifier

    original = DecisionTreeClassifier.fit
    ws.autolog(experiment="auto-off")
    assert DecisionTreeClassifier.fit is not original
    ws.autolog(disable=True)
    assert DecisionTreeClassifier.fit is original
    DecisionTreeClassifier().fit(X, Y)
    assert "auto-off" not in set(ws.experiments().get("name", []))
