"""MLflow's wire shapes: request bodies in, JSON out, as `mlflow/protos/service.proto` defines.

Ids, enums and int64s follow protobuf's JSON mapping as the MLflow client writes it: experiment
ids are strings, times are numbers (or numeric strings), enums are names (or their numbers), and
a non-finite double is the string "NaN", "Infinity" or "-Infinity".
"""

from __future__ import annotations

import math
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from seedbed.errors import SeedbedError
from seedbed.tracking.experiments import Experiment
from seedbed.tracking.inputs import DatasetInput
from seedbed.tracking.metric_points import INT64_MAX, INT64_MIN, MetricPoint
from seedbed.tracking.runs import RUN_NAME_TAG, Run

RUN_STATUSES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
VIEW_TYPES = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
USER_TAG = "mlflow.user"
# MLflow's log-batch limits (mlflow/utils/validation.py).
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS_OR_TAGS = 100
MAX_BATCH_ENTITIES = 1000
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]  # times are BIGINT columns


class MlflowError(SeedbedError):
    """An error with an explicit MLflow error_code; web.errors answers it in MLflow's shape."""

    def __init__(
        self, message: str, mlflow_code: str = "INVALID_PARAMETER_VALUE", status: int = 400
    ) -> None:
        super().__init__(message)
        self.mlflow_code = mlflow_code
        self.status_code = status
        self.code = "invalid" if status == 400 else "error"


def enum_name(value: str | int | None, names: dict[int, str], field: str) -> str | None:
    """An enum given by name or by number, as its name."""
    if value is None:
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        if int(value) in names:
            return names[int(value)]
    elif value in names.values():
        return value
    raise MlflowError(f"{field} must be one of {', '.join(names.values())}, not {value!r}.")


def parse_experiment_id(value: str | int | None) -> int:
    """MLflow's string experiment id as seedbed's integer id."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise MlflowError(f"experiment_id must be a number written as a string, not {value!r}.")
    return int(text)


def float_json(value: float) -> float | str:
    """A double as protobuf's JSON writes it: NaN and infinities become strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


# --- requests ----------------------------------------------------------------------------------


class Body(BaseModel):
    """Unknown fields are ignored, as protobuf's ParseDict(ignore_unknown_fields=True) does."""

    model_config = ConfigDict(extra="ignore")


class RunRef(Body):
    """Old clients send run_uuid, new ones run_id (the MLflow client sends both)."""

    run_id: str | None = None
    run_uuid: str | None = None

    @property
    def id(self) -> str:
        run_id = self.run_id or self.run_uuid
        if not run_id:
            raise MlflowError("Missing value for required parameter 'run_id'.")
        return run_id


class KeyValue(Body):
    key: str
    value: str | int | float | bool | None = ""

    @property
    def text(self) -> str:
        return "" if self.value is None else str(self.value)


class CreateExperiment(Body):
    name: str
    artifact_location: str | None = None
    tags: list[KeyValue] = []


class ExperimentRef(Body):
    experiment_id: str | int


class UpdateExperiment(ExperimentRef):
    new_name: str


class SetExperimentTag(ExperimentRef, KeyValue):
    pass


class DeleteExperimentTag(ExperimentRef):
    key: str


class SearchExperiments(Body):
    max_results: int = 1000
    page_token: str | None = None
    filter: str | None = ""
    order_by: list[str] = []
    view_type: str | int = "ACTIVE_ONLY"


class CreateRun(Body):
    experiment_id: str | int | None = None
    user_id: str | None = ""
    run_name: str | None = ""
    start_time: Int64 | None = None
    tags: list[KeyValue] = []


class UpdateRun(RunRef):
    status: str | int | None = None
    end_time: Int64 | None = None
    run_name: str | None = None


class LogParam(RunRef, KeyValue):
    pass


class SetTag(RunRef, KeyValue):
    pass


class DeleteTag(RunRef):
    key: str


class MetricIn(Body):
    key: str
    value: float  # pydantic reads protobuf's "NaN", "Infinity" and "-Infinity" too
    timestamp: int | None = None
    step: int = 0
    model_id: str | None = None  # set when log_model links the run's metrics to a logged model


class LogMetric(RunRef, MetricIn):
    pass


@with_config(ConfigDict(extra="ignore"))
class MetricItem(TypedDict):
    """A log-batch metric: MetricIn's fields, read into a dict, which pydantic makes in
    half the time of a model (a batch holds up to a thousand)."""

    key: str
    value: float
    timestamp: NotRequired[int | None]
    step: NotRequired[int]
    model_id: NotRequired[str | None]


class LogBatch(RunRef):
    metrics: list[MetricItem] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class SearchRuns(Body):
    experiment_ids: list[str | int] = []
    filter: str | None = ""
    run_view_type: str | int = "ACTIVE_ONLY"
    max_results: int = 1000
    order_by: list[str] = []
    page_token: str | None = None


class DatasetIn(Body):
    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    # "schema" would shadow a BaseModel attribute, hence the alias.
    schema_: str = Field("", alias="schema")
    profile: str = ""


class DatasetInputIn(Body):
    tags: list[KeyValue] = []
    dataset: DatasetIn


class LogInputs(RunRef):
    datasets: list[DatasetInputIn] = []
    # Logged-model inputs ("models") are accepted and ignored until seedbed has logged models.


# --- responses ---------------------------------------------------------------------------------


def artifact_root(experiment_id: int) -> str:
    """Where an MLflow client sees an experiment's artifacts (served by mlflow_artifacts)."""
    return f"mlflow-artifacts:/{experiment_id}"


def experiment_json(experiment: Experiment, tags: dict[str, str]) -> dict[str, Any]:
    return {
        "experiment_id": str(experiment.id),
        "name": experiment.name,
        "artifact_location": artifact_root(experiment.id),
        "lifecycle_stage": experiment.lifecycle_stage,
        "last_update_time": experiment.updated_at,
        "creation_time": experiment.created_at,
        "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
    }


def run_info_json(run: Run) -> dict[str, Any]:
    info: dict[str, Any] = {
        "run_id": run.id,
        "run_uuid": run.id,
        "run_name": run.name,
        "experiment_id": str(run.experiment_id),
        "user_id": run.user,
        "status": run.status,
        "start_time": run.start_time,
        "artifact_uri": f"{artifact_root(run.experiment_id)}/{run.id}/artifacts",
        "lifecycle_stage": run.lifecycle_stage,
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return info


def metric_json(key: str, point: MetricPoint) -> dict[str, Any]:
    return {
        "key": key,
        "value": float_json(point.value),
        "timestamp": point.timestamp,
        "step": point.step,
    }


def run_json(
    run: Run, latest: dict[str, MetricPoint], datasets: list[DatasetInput]
) -> dict[str, Any]:
    """A run as MLflow's Run message: info, data (latest metrics, params, tags) and inputs."""
    tags = {RUN_NAME_TAG: run.name, **run.tags}  # seedbed's own runs have no mlflow.runName tag
    inputs: dict[str, Any] = {}
    if datasets:
        inputs["dataset_inputs"] = [
            {
                "tags": [{"key": k, "value": v} for k, v in item.tags.items()],
                "dataset": {
                    "name": item.name,
                    "digest": item.digest,
                    "source_type": item.source_type,
                    "source": item.source,
                    "schema": item.schema,
                    "profile": item.profile,
                },
            }
            for item in datasets
        ]
    return {
        "info": run_info_json(run),
        "data": {
            "metrics": [metric_json(k, p) for k, p in sorted(latest.items())],
            "params": [{"key": k, "value": v} for k, v in sorted(run.params.items())],
            "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
        },
        "inputs": inputs,
    }
