"""The SDK's runs: `with ws.start_run(experiment="...") as run:` and what a run logs.

Params and tags are sent at once (a write-once conflict raises where it happened); metric
points are batched in the background (see `metric_batcher`) and flushed when the block ends,
even when it raises.
"""

from __future__ import annotations

import atexit
import json
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from seedbed import errors, run_context
from seedbed.metric_batcher import MetricBatcher, Point

if TYPE_CHECKING:
    from seedbed.client import Client

RUN_NAME_TAG = "mlflow.runName"
# A dataset input: "name" (latest), "name@3", ("name", 3), a dict from ws.datasets, or a
# training-set DataFrame from ws.features (its attrs name the version).
DatasetInput = str | tuple[str, int | None] | Mapping[str, Any] | Any


def dataset_refs(inputs: Iterable[DatasetInput]) -> list[dict[str, Any]]:
    """Inputs as the server takes them: [{"name": ..., "version": n or None}]."""
    refs = []
    for item in inputs:
        attrs = getattr(item, "attrs", None)  # a training set frame from ws.features
        if isinstance(attrs, Mapping) and isinstance(attrs.get("seedbed.dataset"), str):
            item = attrs["seedbed.dataset"]
        if isinstance(item, str):
            name, at, version = item.partition("@")
            if at and not version.isdigit():
                raise errors.Invalid(f"Dataset input {item!r}: write 'name' or 'name@<version>'.")
            refs.append({"name": name, "version": int(version) if at else None})
        elif isinstance(item, tuple) and len(item) == 2:
            refs.append({"name": str(item[0]), "version": item[1]})
        elif isinstance(item, Mapping):
            refs.append(_ref_of_dict(item))
        else:
            raise errors.Invalid(
                f"Dataset input {item!r}: give a name, 'name@3', ('name', 3) or a dataset "
                "dict from ws.datasets.upload/get."
            )
    return refs


def _ref_of_dict(item: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(item.get("version"), Mapping):  # ws.datasets.upload: {"created", "version"}
        return _ref_of_dict(item["version"])
    if "dataset" in item and "version" in item:  # one version
        return {"name": item["dataset"], "version": int(item["version"])}
    if "name" in item and item.get("versions"):  # ws.datasets.get: the newest version it saw
        return {"name": item["name"], "version": int(item["versions"][0]["version"])}
    raise errors.Invalid(
        f"Cannot tell which dataset version {dict(item)!r} is: pass the dict that "
        "ws.datasets.upload or ws.datasets.get returned."
    )


class ActiveRun:
    """A run being logged; on leaving the `with` block it ends FINISHED, or FAILED on error."""

    def __init__(self, client: Client, run_id: str, name: str, experiment_id: int = 0) -> None:
        self.client = client
        self.id = run_id
        self.name = name
        self.experiment_id = experiment_id
        self._metrics = MetricBatcher(self._send_points)
        self._ended = False
        # Like MLflow: a run left open when the script ends is flushed and ended then.
        atexit.register(self._end_at_exit)

    def __repr__(self) -> str:
        return f"seedbed.ActiveRun(id={self.id!r}, name={self.name!r})"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end("FINISHED")
            return
        try:
            self.end("KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED")
        except Exception as ending:  # the block's own exception is the one to see
            if exc is not None:
                exc.add_note(f"seedbed: ending run {self.id} also failed: {ending}")

    # --- params, tags, metrics --------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record params now; a param is write-once, so a different value raises Conflict."""
        self._batch(params=_pairs(params))

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set (or overwrite) tags now."""
        self._batch(tags=_pairs(tags))

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        self.log_metrics({key: value}, step=step)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Queue one point per metric at `step`, stamped now; sent in the background."""
        if self._ended:
            raise errors.Invalid(f"Run {self.id} has ended; start a new run to log more.")
        stamp = int(time.time() * 1000)
        points: list[Point] = []
        for key, value in metrics.items():
            try:
                number = float(value)
            except (TypeError, ValueError) as exc:
                raise errors.Invalid(f"Metric {key!r} must be a number, got {value!r}.") from exc
            points.append({"key": key, "value": number, "step": int(step), "timestamp": stamp})
        self._metrics.add(points)

    def flush(self) -> None:
        """Send the queued metric points now; raises an error a background send met."""
        self._metrics.flush()

    def _send_points(self, points: list[Point]) -> None:
        self._batch(metrics=points)

    def _batch(
        self,
        metrics: Sequence[Point] = (),
        params: list[dict[str, str]] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> None:
        body = {"metrics": list(metrics), "params": params or [], "tags": tags or []}
        self.client.request(
            "POST",
            f"/api/v1/runs/{self.id}/batch",
            content=_json_bytes(body),
            headers={"content-type": "application/json"},
        )

    # --- inputs and artifacts -----------------------------------------------------------------

    def log_inputs(self, inputs: Iterable[DatasetInput]) -> list[dict[str, Any]]:
        """Record dataset versions the run read; returns all the run's inputs."""
        found: list[dict[str, Any]] = self.client.request(
            "POST", f"/api/v1/runs/{self.id}/inputs", json={"inputs": dataset_refs(inputs)}
        ).json()
        return found

    def inputs(self) -> list[dict[str, Any]]:
        """The dataset versions the run read: [{"name", "version"}]."""
        found: list[dict[str, Any]] = self.client.request(
            "GET", f"/api/v1/runs/{self.id}/inputs"
        ).json()
        return found

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> str:
        """Upload a file into the folder `artifact_path` (default: the root); returns its path."""
        path = Path(local_path)
        if not path.is_file():
            raise errors.Invalid(f"{path} is not a file; use log_artifacts for a folder.")
        target = _join(artifact_path, path.name)
        self.client.upload_artifact(self.id, path, target)
        return target

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None) -> list[str]:
        """Upload a folder's files, keeping their layout, under `artifact_path`."""
        folder = Path(local_dir)
        if not folder.is_dir():
            raise errors.Invalid(f"{folder} is not a folder.")
        written = []
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            target = _join(artifact_path, file.relative_to(folder).as_posix())
            self.client.upload_artifact(self.id, file, target)
            written.append(target)
        return written

    def log_text(self, text: str, artifact_file: str) -> None:
        """Save `text` (UTF-8) as the artifact `artifact_file`, e.g. "notes/summary.txt"."""
        self.client.upload_artifact(self.id, text.encode("utf-8"), artifact_file)

    def log_dict(self, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        """Save a dict as JSON, or as YAML when `artifact_file` ends in .yaml/.yml."""
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(dict(dictionary), sort_keys=False)
        else:
            text = json.dumps(dictionary, indent=2, default=str)
        self.log_text(text, artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib figure (.png, .svg, .pdf, …) or a plotly figure (.html, .json)."""
        from seedbed.run_figures import figure_bytes

        self.client.upload_artifact(self.id, figure_bytes(figure, artifact_file), artifact_file)

    def artifacts(self, path: str = "") -> list[dict[str, Any]]:
        """Every file the run logged (under `path`): [{"path", "size"}]."""
        return self.client.list_artifacts(self.id, path)

    def download_artifact(self, path: str, destination: str | Path) -> Path:
        """Save one artifact file to `destination` (a file path or an existing folder)."""
        return self.client.download_artifact(self.id, path, destination)

    def log_model(
        self,
        model: Any,
        name: str = "model",
        input_example: Any = None,
        register_as: str | None = None,
    ) -> dict[str, Any]:
        """Save a scikit-learn model (or Pipeline) in the MLflow format as the run's `name`
        artifacts and a logged model; `register_as` makes it the next version of that model.
        Give `input_example` (rows of training data) for an input schema and a demo form."""
        from seedbed.run_models import save_model

        if not name or "/" in name or name != name.strip():
            raise errors.Invalid(f"Model name {name!r}: one folder name, without '/'.")
        with tempfile.TemporaryDirectory(prefix="seedbed-model-") as folder:
            directory = save_model(model, Path(folder) / name, input_example)
            self.log_artifacts(directory, name)
        logged: dict[str, Any] = self.client.request(
            "POST",
            f"/api/v1/runs/{self.id}/models",
            json={"path": name, "model_type": type(model).__name__},
        ).json()
        logged["uri"] = f"runs:/{self.id}/{name}"
        if register_as:
            logged["registered_version"] = self.client.models.register(register_as, self.id, name)
        return logged

    # --- ending -------------------------------------------------------------------------------

    def end(self, status: str = "FINISHED") -> None:
        """Send the queued metrics, then close the run with `status`. If a background send
        failed, the run ends FAILED and that error is raised."""
        if self._ended:
            return
        self._ended = True
        atexit.unregister(self._end_at_exit)
        self.client._forget_run(self)
        try:
            self._metrics.close()
        except BaseException:
            self._end_on_server("FAILED")
            raise
        self._end_on_server(status)

    def _end_at_exit(self) -> None:
        try:
            self.end("FINISHED")
        except Exception as exc:  # the interpreter is going; say what was lost, do not raise
            print(f"seedbed: could not end run {self.id} at exit: {exc}", file=sys.stderr)

    def _end_on_server(self, status: str) -> None:
        self.client.request("POST", f"/api/v1/runs/{self.id}/end", json={"status": status})

    def info(self) -> dict[str, Any]:
        """The run as the server has it: status, params, latest metrics, tags."""
        data: dict[str, Any] = self.client.request("GET", f"/api/v1/runs/{self.id}").json()
        return data


def start_run(
    client: Client,
    experiment: str,
    name: str = "",
    tags: Mapping[str, Any] | None = None,
    inputs: Iterable[DatasetInput] = (),
    log_environment: bool = True,
) -> ActiveRun:
    """Open a run with its context tags and (with `log_environment`) the installed packages."""
    context = run_context.context_tags()
    requirements = run_context.installed_requirements() if log_environment else ""
    if log_environment:
        context.update(run_context.environment_tags(requirements))
    context.update(run_context.lib_tags())
    if name:  # MLflow keeps the name as a tag too; runs read alike whichever client made them
        context[RUN_NAME_TAG] = name
    body = {
        "experiment": experiment,
        "name": name,
        "tags": {**context, **{k: str(v) for k, v in (tags or {}).items()}},
        "inputs": dataset_refs(inputs),
    }
    data = client.request("POST", "/api/v1/runs", json=body).json()
    run = ActiveRun(client, data["id"], data["name"], data["experiment_id"])
    try:
        if requirements:
            run.log_text(requirements, run_context.REQUIREMENTS_ARTIFACT)
    except BaseException:
        run.end("FAILED")
        raise
    return run


def _pairs(values: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"key": str(k), "value": str(v)} for k, v in values.items()]


def _join(folder: str | None, name: str) -> str:
    return f"{folder.strip('/')}/{name}" if folder and folder.strip("/") else name


def _json_bytes(body: Mapping[str, Any]) -> bytes:
    # NaN and ±inf are valid metric values (MLflow accepts them); httpx's json= refuses them.
    return json.dumps(body, allow_nan=True).encode()
