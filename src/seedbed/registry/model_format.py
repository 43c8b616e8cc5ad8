"""Models on disk in the MLflow model format (an MLmodel folder), without needing mlflow.

A saved folder holds `MLmodel` (python_function and sklearn flavours), the pickled
estimator, the input example and the pinned requirements, so `mlflow.pyfunc.load_model`
reads what seedbed writes and seedbed reads what the mlflow client logs.
"""

from __future__ import annotations

import json
import pickle
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from seedbed.errors import Conflict, Invalid
from seedbed.registry import model_requirements

MODEL_FILE = "model.pkl"

# pandas dtype kind -> MLflow column type
_COLUMN_TYPES = {"b": "boolean", "i": "long", "u": "long", "f": "double", "M": "datetime"}


@dataclass(frozen=True)
class InputColumn:
    name: str
    type: str  # MLflow column type: double, long, boolean, string, datetime
    choices: list[str] | None = None  # categories seen in training, for forms
    minimum: float | None = None  # numeric columns: the range seen in training
    maximum: float | None = None
    typical: Any = None  # median of a number, most frequent value of a string

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.choices is not None:
            data["choices"] = self.choices
        for key in ("minimum", "maximum", "typical"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputColumn:
        """Read back `to_dict`; models saved before ranges were recorded have none."""
        return cls(
            str(data["name"]),
            str(data.get("type", "string")),
            data.get("choices"),
            _number(data.get("minimum")),
            _number(data.get("maximum")),
            data.get("typical"),
        )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def infer_inputs(frame: pd.DataFrame, max_choices: int = 200) -> list[InputColumn]:
    """Column types from a training frame: string columns keep their distinct values, numeric
    ones their range; every column records a typical value (median or most frequent)."""
    columns = []
    for name in frame.columns:
        series = frame[name]
        kind = series.dtype.kind
        if kind in "iuf":
            present = series.dropna()
            if present.empty:
                columns.append(InputColumn(str(name), _COLUMN_TYPES[kind]))
                continue
            typical: Any = float(present.median())
            columns.append(
                InputColumn(
                    str(name),
                    _COLUMN_TYPES[kind],
                    minimum=float(present.min()),
                    maximum=float(present.max()),
                    typical=round(typical) if kind in "iu" else typical,
                )
            )
        elif kind == "b":
            modes = series.dropna().mode()
            typical = bool(modes.iloc[0]) if len(modes) else None
            columns.append(InputColumn(str(name), "boolean", typical=typical))
        elif kind in _COLUMN_TYPES:
            columns.append(InputColumn(str(name), _COLUMN_TYPES[kind]))
        else:
            counts = series.dropna().astype(str).value_counts()
            values = sorted(counts.index)
            choices = values if len(values) <= max_choices else None
            typical = str(counts.index[0]) if len(counts) else None
            columns.append(InputColumn(str(name), "string", choices, typical=typical))
    return columns


def save_sklearn_model(
    model: Any,
    directory: Path,
    inputs: list[InputColumn],
    input_example: dict[str, Any],
    output_type: str = "long",
    class_labels: dict[str, str] | None = None,
) -> Path:
    """`class_labels` names the classes for people, e.g. {"1": "delayed > 15 min"}."""
    import sklearn

    directory.mkdir(parents=True, exist_ok=True)
    with (directory / MODEL_FILE).open("wb") as handle:
        pickle.dump(model, handle, protocol=pickle.DEFAULT_PROTOCOL)
    python_version = platform.python_version()
    signature = {
        "inputs": json.dumps([{"type": c.type, "name": c.name, "required": True} for c in inputs]),
        "outputs": json.dumps(
            [
                {
                    "type": "tensor",
                    "tensor-spec": {
                        "dtype": "int64" if output_type == "long" else "float64",
                        "shape": [-1],
                    },
                }
            ]
        ),
        "params": None,
    }
    mlmodel = {
        "flavors": {
            "python_function": {
                "loader_module": "mlflow.sklearn",
                "model_path": MODEL_FILE,
                "predict_fn": "predict",
                "env": {"virtualenv": "python_env.yaml", "conda": "conda.yaml"},
                "python_version": python_version,
            },
            "sklearn": {
                "pickled_model": MODEL_FILE,
                "serialization_format": "pickle",
                "sklearn_version": sklearn.__version__,
                "code": None,
            },
        },
        "signature": signature,
        "saved_input_example_info": {
            "artifact_path": "input_example.json",
            "type": "dataframe",
            "pandas_orient": "split",
        },
        "metadata": {
            "seedbed_inputs": [c.to_dict() for c in inputs],
            "seedbed_class_labels": dict(class_labels or {}),
        },
        "mlflow_version": "2.14.0",  # the format version we follow; mlflow checks it loosely
    }
    (directory / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    columns = [c.name for c in inputs]
    example = {"columns": columns, "data": [[input_example.get(c) for c in columns]]}
    (directory / "input_example.json").write_text(json.dumps(example, default=str))
    # What unpickling needs: the distributions of the modules the fitted object uses.
    requirements = model_requirements.infer_requirements(model)
    (directory / model_requirements.REQUIREMENTS_FILE).write_text("\n".join(requirements) + "\n")
    (directory / "python_env.yaml").write_text(
        yaml.safe_dump(
            {
                "python": python_version,
                "build_dependencies": ["pip"],
                "dependencies": ["-r requirements.txt"],
            }
        )
    )
    (directory / "conda.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "seedbed-model",
                "channels": ["conda-forge"],
                "dependencies": [f"python={python_version}", "pip", {"pip": requirements}],
            }
        )
    )
    return directory


def read_mlmodel(directory: Path) -> dict[str, Any]:
    path = directory / "MLmodel"
    if not path.is_file():
        raise Invalid(f"{directory} is not an MLflow model folder: it has no MLmodel file.")
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def load_model(directory: Path, label: str = "") -> Any:
    """Load the scikit-learn estimator of an MLmodel folder; warns with a
    ModelEnvironmentWarning when its pinned versions differ from those installed here."""
    mlmodel = read_mlmodel(directory)
    flavours = mlmodel.get("flavors", {})
    python_version = (flavours.get("python_function") or {}).get("python_version")
    model_requirements.warn_on_differences(directory, python_version, label)
    sklearn_flavour = flavours.get("sklearn")
    if sklearn_flavour is None:
        raise Invalid(
            f"The model in {directory} has no sklearn flavour (it has: "
            f"{', '.join(flavours) or 'none'}); seedbed loads scikit-learn models only for now."
        )
    serialization = sklearn_flavour.get("serialization_format", "pickle")
    path = directory / sklearn_flavour["pickled_model"]
    if serialization == "skops":  # the MLflow 3 client's default (model.skops)
        return _load_skops(path, sklearn_flavour.get("skops_trusted_types"))
    if serialization not in ("pickle", "cloudpickle"):
        raise Invalid(
            f"Cannot load a scikit-learn model serialised as {serialization!r}: seedbed loads "
            "pickle, cloudpickle and skops."
        )
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)  # a cloudpickled estimator unpickles with pickle too
    except ImportError as exc:
        raise Conflict(missing_dependency_message(directory, exc, label)) from exc


def missing_dependency_message(directory: Path, exc: ImportError, label: str = "") -> str:
    """Which module loading needed and which pinned requirement provides it."""
    module = exc.name or str(exc)
    top = module.split(".")[0]
    pins = model_requirements.read_requirements(directory)
    pin = pins.get(top.lower().replace("_", "-"))
    what = label or "This model"
    if pin is not None:
        fix = f"install {pin[0]}=={pin[1]} (pinned in the model's requirements.txt)"
    elif pins:
        listed = ", ".join(f"{n}=={v}" for n, v in pins.values())
        fix = (
            f"install the package that provides {top!r}; the model's requirements.txt pins {listed}"
        )
    else:
        fix = f"install the package that provides {top!r}"
    return (
        f"{what} cannot be loaded: it needs the Python module {module!r}, which is missing "
        f"from this environment ({exc}). To fix it, {fix}, then try again."
    )


def _load_skops(path: Path, trusted: list[str] | None) -> Any:
    """A skops file, trusting the types its MLmodel lists, as mlflow.sklearn does.

    Like a pickle, that list comes from the model folder itself: seedbed loads only models
    that editors logged to this workspace, the same trust it gives pickled models.
    """
    try:
        import skops.io
    except ImportError as exc:
        raise Invalid(
            "This model was saved in the skops format; install skops to load it "
            "(pip install skops)."
        ) from exc
    return skops.io.load(path, trusted=trusted)


# MLflow column types under the names seedbed checks inputs by.
MLFLOW_TYPES = {"integer": "long", "float": "double", "binary": "string"}


def model_inputs(directory: Path) -> list[InputColumn]:
    """The model's input columns: seedbed's richer list, else the MLflow signature's."""
    mlmodel = read_mlmodel(directory)
    ours = (mlmodel.get("metadata") or {}).get("seedbed_inputs")
    if ours:
        return [InputColumn.from_dict(c) for c in ours]
    signature = mlmodel.get("signature") or {}
    spec = json.loads(signature.get("inputs") or "[]")
    return [
        InputColumn(c["name"], MLFLOW_TYPES.get(c.get("type", "string"), c.get("type", "string")))
        for c in spec
        if "name" in c
    ]


def read_input_example(directory: Path) -> dict[str, Any]:
    """The first row of the saved input example as a dict, or {} when there is none."""
    path = directory / "input_example.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "columns" in data and data.get("data"):
        return dict(zip(data["columns"], data["data"][0], strict=False))
    if isinstance(data, dict):
        return data
    return {}


def class_labels(directory: Path) -> dict[str, str]:
    """Readable names of the classes, when the model was saved with them."""
    metadata = read_mlmodel(directory).get("metadata") or {}
    return {str(k): str(v) for k, v in (metadata.get("seedbed_class_labels") or {}).items()}
