"""A tiny fitted model logged by a run, shared by the registry and data tests."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from seedbed.registry import model_format
from seedbed.tracking.experiments import create_experiment
from seedbed.tracking.runs import Run, start_run
from seedbed.workspace import Workspace


def small_training_frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "n": [1, 2, 3, 4, 5, 6]})


def log_small_model(workspace: Workspace) -> Run:
    """A run that logged a tiny fitted classifier as an MLmodel folder at `model`."""
    frame = small_training_frame()
    model = Pipeline([("classify", LogisticRegression())]).fit(frame, [0, 0, 0, 1, 1, 1])
    run = start_run(workspace, create_experiment(workspace, "small").id)
    with tempfile.TemporaryDirectory() as folder:
        model_format.save_sklearn_model(
            model, Path(folder), model_format.infer_inputs(frame), frame.iloc[0].to_dict()
        )
        workspace.artifacts.put_dir(Path(folder), f"{run.artifact_key}/model")
    return run
