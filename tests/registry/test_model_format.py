from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.tree import DecisionTreeClassifier

from seedbed.errors import Invalid
from seedbed.registry import model_format


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "size": [1.0, 2.0, 3.0, 4.0],
            "count": [1, 2, 3, 4],
            "colour": ["red", "blue", "red", "blue"],
        }
    )
    model = DecisionTreeClassifier().fit(frame[["size", "count"]], [0, 1, 0, 1])
    inputs = model_format.infer_inputs(frame)
    assert [(c.name, c.type, c.choices) for c in inputs] == [
        ("size", "double", None),
        ("count", "long", None),
        ("colour", "string", ["blue", "red"]),
    ]
    model_format.save_sklearn_model(model, tmp_path, inputs[:2], {"size": 1.0, "count": 1})
    loaded = model_format.load_model(tmp_path)
    assert loaded.predict(frame[["size", "count"]]).tolist() == [0, 1, 0, 1]
    assert model_format.model_inputs(tmp_path) == inputs[:2]
    assert model_format.read_input_example(tmp_path) == {"size": 1.0, "count": 1}


def test_mlmodel_follows_the_mlflow_format(tmp_path: Path) -> None:
    model = DecisionTreeClassifier().fit(np.array([[0.0], [1.0]]), [0, 1])
    inputs = [model_format.InputColumn("x", "double")]
    model_format.save_sklearn_model(model, tmp_path, inputs, {"x": 0.5})
    mlmodel = yaml.safe_load((tmp_path / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert mlmodel["flavors"]["sklearn"]["pickled_model"] == "model.pkl"
    assert json.loads(mlmodel["signature"]["inputs"]) == [
        {"type": "double", "name": "x", "required": True}
    ]
    requirements = (tmp_path / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("scikit-learn==") for line in requirements)


# mlflow warns about its own type hints while importing pyfunc.
@pytest.mark.filterwarnings("ignore:.*type hint.*:UserWarning")
def test_mlflow_pyfunc_loads_a_seedbed_model(tmp_path: Path) -> None:
    """The real mlflow client reads what seedbed wrote (format interoperability)."""
    from mlflow import pyfunc

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = DecisionTreeClassifier().fit(frame, [0, 0, 1, 1])
    model_format.save_sklearn_model(model, tmp_path, model_format.infer_inputs(frame), {"x": 0.0})
    loaded = pyfunc.load_model(str(tmp_path))
    assert list(loaded.predict(pd.DataFrame({"x": [0.0, 3.0]}))) == [0, 1]


def test_missing_or_foreign_model_folder(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="no MLmodel"):
        model_format.load_model(tmp_path)
    (tmp_path / "MLmodel").write_text("flavors:\n  pytorch: {}\n")
    with pytest.raises(Invalid, match="pytorch"):
        model_format.load_model(tmp_path)
