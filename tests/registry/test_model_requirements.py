"""A saved model pins the distributions its fitted object uses, and loading it where the
versions differ warns, naming each difference (the stored requirements are edited, as a
model saved elsewhere would have them)."""

from __future__ import annotations

import logging
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

import seedbed as sb
from registry_models import log_small_model
from seedbed.registry import model_format, model_requirements
from seedbed.registry.loading import ModelLoader
from seedbed.registry.models import register_version
from seedbed.run_models import save_model
from seedbed.workspace import Workspace

FRAME = pd.DataFrame({"carrier": ["UA", "AA", "DL"] * 20, "distance": np.arange(60.0)})
TARGET = np.arange(60) % 2


def fitted() -> Pipeline:
    encode = ColumnTransformer(
        [("carrier", OneHotEncoder(handle_unknown="ignore"), ["carrier"])], remainder="passthrough"
    )
    steps = [
        ("encode", encode),
        ("log", FunctionTransformer(np.log1p)),
        ("classify", HistGradientBoostingClassifier(max_iter=5)),
    ]
    return Pipeline(steps).fit(FRAME, TARGET)


def test_requirements_are_the_packages_the_fitted_model_uses(tmp_path: Path) -> None:
    folder = save_model(fitted(), tmp_path / "model", FRAME.head())
    pins = (folder / "requirements.txt").read_text().splitlines()
    assert f"scikit-learn=={metadata.version('scikit-learn')}" in pins
    assert f"numpy=={metadata.version('numpy')}" in pins
    names = {line.split("==")[0].lower() for line in pins}
    # pandas only fed the fit; nothing of seedbed, the web stack or the SDK is in the pickle
    assert not names & {"pandas", "seedbed", "httpx", "fastapi", "pyarrow", "duckdb"}
    assert names <= {"scikit-learn", "numpy", "scipy"}
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    python = mlmodel["flavors"]["python_function"]["python_version"]
    assert yaml.safe_load((folder / "python_env.yaml").read_text())["python"] == python
    conda = yaml.safe_load((folder / "conda.yaml").read_text())
    assert conda["dependencies"][0] == f"python={python}"
    assert conda["dependencies"][2] == {"pip": pins}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same environment: no warning
        model_format.load_model(folder)


def test_loading_among_other_versions_warns_naming_each(tmp_path: Path) -> None:
    folder = save_model(fitted(), tmp_path / "model", FRAME.head())
    path = folder / "requirements.txt"
    here = metadata.version("scikit-learn")
    path.write_text(
        path.read_text().replace(f"scikit-learn=={here}", "scikit-learn==0.24.2")
        + "no-such-dist==1.0\n"
    )
    mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
    mlmodel["flavors"]["python_function"]["python_version"] = "3.8.10"
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.warns(sb.ModelEnvironmentWarning) as caught:
        model = model_format.load_model(folder)
    message = str(caught[0].message)
    assert f"scikit-learn: model has 0.24.2, here {here}" in message
    assert "no-such-dist: model has 1.0, here not installed" in message
    assert "python: model has 3.8.10, here" in message
    assert "numpy" not in message  # what matches is not named
    assert model.predict(FRAME.head()).shape == (5,)  # it still loads


def test_the_server_logs_the_differences_of_a_registered_version(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    run = log_small_model(workspace)
    version = register_version(workspace, "small", run.id, "model")
    key = f"{version.source}/requirements.txt"
    stored = workspace.artifacts.get_bytes(key).decode()
    numpy_here = metadata.version("numpy")
    edited = stored.replace(f"numpy=={numpy_here}", "numpy==1.21.0")
    assert edited != stored
    workspace.artifacts.put_bytes(key, edited.encode())
    with caplog.at_level(logging.WARNING), pytest.warns(sb.ModelEnvironmentWarning, match="numpy"):
        ModelLoader(workspace).load(version)
    [record] = [r for r in caplog.records if r.name == model_requirements.__name__]
    assert f"small version {version.version}" in record.getMessage()
    assert f"numpy: model has 1.21.0, here {numpy_here}" in record.getMessage()
