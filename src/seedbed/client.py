"""The SDK: `sb.connect()` talks to a running seedbed server over HTTP.

Notebooks, jobs, scripts and the CLI all use it; none of them opens the workspace's
databases directly, since the server is their only writer.
"""

from __future__ import annotations

import builtins
import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import httpx

from seedbed import errors
from seedbed.client_apps import AppsClient
from seedbed.client_data import DatasetsClient, SourcesClient, chunks
from seedbed.client_evaluation import Evaluation, evaluate
from seedbed.client_features import FeaturesClient
from seedbed.client_feedback import FeedbackClient
from seedbed.client_jobs import JobsClient
from seedbed.client_runs import ActiveRun, DatasetInput, start_run
from seedbed.runtime import read_runtime

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

DEFAULT_WORKSPACE = "workspace"
HOW_TO_START = (
    "Start one with `seedbed up` (or `make up`) in the folder holding the workspace, "
    "or set SEEDBED_URL and SEEDBED_TOKEN to reach a remote server."
)
_ERRORS: dict[int, type[errors.SeedbedError]] = {
    400: errors.Invalid,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    413: errors.TooLarge,
    409: errors.Conflict,
    422: errors.Invalid,
}


def _locate(url: str | None, token: str | None, workspace: str | Path | None) -> tuple[str, str]:
    url = url or os.environ.get("SEEDBED_URL")
    token = token or os.environ.get("SEEDBED_TOKEN")
    if url and token:
        return url, token
    root = Path(workspace or os.environ.get("SEEDBED_WORKSPACE") or DEFAULT_WORKSPACE)
    runtime = read_runtime(root.resolve())
    if runtime is None:
        raise errors.ServerNotFound(
            f"No seedbed server is running for {root.resolve()}. " + HOW_TO_START
        )
    if not token:
        try:
            token = Path(runtime["token_path"]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise errors.ServerNotFound(
                f"Cannot read the server's token file ({exc}); set SEEDBED_TOKEN."
            ) from exc
    return url or runtime["url"], token


def connect(
    url: str | None = None,
    token: str | None = None,
    workspace: str | Path | None = None,
    timeout: float = 60.0,
) -> Client:
    """Connect to a seedbed server: arguments, then SEEDBED_URL/SEEDBED_TOKEN, then the
    runtime file of the local workspace (./workspace or SEEDBED_WORKSPACE)."""
    base, secret = _locate(url, token, workspace)
    client = Client(base, secret, timeout=timeout)
    try:
        client.health()
    except httpx.TransportError as exc:
        client.close()
        raise errors.ServerNotFound(
            f"No seedbed server answers at {base} ({exc.__class__.__name__}). " + HOW_TO_START
        ) from exc
    return client


class Client:
    """A connection to one seedbed server. Results come back as pandas by default."""

    def __init__(self, url: str, token: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )
        self.models = ModelsClient(self)
        self.apps = AppsClient(self)
        self.feedback = FeedbackClient(self)
        self.datasets = DatasetsClient(self)
        self.sources = SourcesClient(self)
        self.jobs = JobsClient(self)
        self.features = FeaturesClient(self)
        self._active: builtins.list[ActiveRun] = []

    def __repr__(self) -> str:
        return f"seedbed.Client({self.url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; server errors come back as seedbed's error types."""
        response = self._http.request(method, path, **kwargs)
        if response.is_success:
            return response
        self._raise(response)

    def _raise(self, response: httpx.Response) -> NoReturn:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text or response.reason_phrase
        raise _ERRORS.get(response.status_code, errors.SeedbedError)(message)

    @contextlib.contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """Like `request`, for large answers read piece by piece."""
        with self._http.stream(method, path, **kwargs) as response:
            if not response.is_success:
                response.read()
                self._raise(response)
            yield response

    def evaluate(self, spec: Any, profile: str | None = None, wait: bool = True) -> Evaluation:
        """Run an evaluation spec (YAML path, dict); see seedbed.client_evaluation."""
        return evaluate(self, spec, profile, wait)

    def health(self) -> bool:
        return self._http.get("/health").text == "OK"

    def tables(self) -> pd.DataFrame:
        """Warehouse tables: name, rows and number of columns."""
        import pandas as pd

        found = self.request("GET", "/api/v1/tables").json()
        return pd.DataFrame(
            [{"name": t["name"], "rows": t["rows"], "columns": len(t["columns"])} for t in found]
        )

    def table(self, name: str, limit: int = 50) -> pd.DataFrame:
        """The first `limit` rows of a warehouse table."""
        response = self.request("GET", f"/api/v1/tables/{name}/rows", params={"limit": limit})
        return _read_arrow(response.content).to_pandas()

    def sql_arrow(self, query: str, limit: int | None = None) -> pa.Table:
        """Run SQL on the warehouse and keep the result as Arrow."""
        response = self.request("POST", "/api/v1/sql", json={"query": query, "limit": limit})
        return _read_arrow(response.content)

    def sql(self, query: str, limit: int | None = None) -> pd.DataFrame:
        """Run SQL on the warehouse; the result travels as Arrow and arrives as pandas."""
        # The Arrow table is dropped right after, so pandas may take over its memory.
        return self.sql_arrow(query, limit).to_pandas(split_blocks=True, self_destruct=True)

    def query(self, query: str, limit: int | None = None) -> QueryResult:
        """Run SQL and choose the form later: `.pandas()`, `.arrow()` or `.polars()`."""
        return QueryResult(self.sql_arrow(query, limit))

    def experiments(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.request("GET", "/api/v1/experiments").json())

    def runs(self, experiment: str) -> list[dict[str, Any]]:
        """Runs of an experiment (by name), newest first."""
        found = [
            e for e in self.request("GET", "/api/v1/experiments").json() if e["name"] == experiment
        ]
        if not found:
            raise errors.NotFound(f"No experiment named {experiment!r}.")
        runs: list[dict[str, Any]] = self.request(
            "GET", f"/api/v1/experiments/{found[0]['id']}/runs"
        ).json()
        return runs

    def start_run(
        self,
        experiment: str,
        name: str = "",
        tags: Mapping[str, Any] | None = None,
        inputs: Iterable[DatasetInput] = (),
        log_environment: bool = True,
    ) -> ActiveRun:
        """Open a run; use it as `with ws.start_run(experiment="...") as run:`.

        `inputs` names the dataset versions it reads: "flights" (latest), "flights@3",
        ("flights", 3) or a dict from `ws.datasets`; an unknown one is NotFound and no run is
        made. The run records its code version, Python, resource profile and (with
        `log_environment`) the installed packages as `environment/requirements.txt`.
        """
        run = start_run(self, experiment, name, tags, inputs, log_environment)
        self._active.append(run)
        return run

    def active_run(self) -> ActiveRun | None:
        """The innermost run started through this client and not yet ended."""
        return self._active[-1] if self._active else None

    def _forget_run(self, run: ActiveRun) -> None:
        if run in self._active:
            self._active.remove(run)

    def get_run(self, run_id: str) -> dict[str, Any]:
        """A run's status, params, latest metrics and tags."""
        found: dict[str, Any] = self.request("GET", f"/api/v1/runs/{run_id}").json()
        return found

    def move_run(self, run_id: str, experiment: str) -> dict[str, Any]:
        """Move a run into another existing experiment (by name); returns the moved run."""
        moved: dict[str, Any] = self.request(
            "POST", f"/api/v1/runs/{run_id}/move", json={"experiment": experiment}
        ).json()
        return moved

    def run_inputs(self, run_id: str) -> builtins.list[dict[str, Any]]:
        """The dataset versions a run read: [{"name", "version"}]."""
        found: builtins.list[dict[str, Any]] = self.request(
            "GET", f"/api/v1/runs/{run_id}/inputs"
        ).json()
        return found

    def list_artifacts(self, run_id: str, path: str = "") -> builtins.list[dict[str, Any]]:
        """Every file a run logged (under `path`): [{"path", "size"}], sorted."""
        found: builtins.list[dict[str, Any]] = self.request(
            "GET", f"/api/v1/runs/{run_id}/artifacts", params={"path": path}
        ).json()
        return found

    def upload_artifact(self, run_id: str, source: Path | bytes, path: str) -> None:
        """Store a local file (streamed) or bytes as the run's artifact at `path`."""
        url = f"/api/v1/runs/{run_id}/artifacts/{_artifact_url(path)}"
        headers = {"content-type": "application/octet-stream"}
        if isinstance(source, bytes):
            self.request("PUT", url, content=source, headers=headers)
            return
        size = source.stat().st_size
        headers["content-length"] = str(size)
        self.request("PUT", url, content=chunks(source, size, None), headers=headers)

    def download_artifact(self, run_id: str, path: str, destination: str | Path) -> Path:
        """Save a run's artifact file to `destination` (a file path, or an existing folder)."""
        target = Path(destination)
        if target.is_dir():
            target = target / path.rstrip("/").rsplit("/", 1)[-1]
        url = f"/api/v1/runs/{run_id}/artifacts/{_artifact_url(path)}"
        with self.stream("GET", url) as response, target.open("wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
        return target

    def load_model(self, uri: str, label: str = "") -> Any:
        """The fitted estimator a run logged, from `runs:/RUN_ID/PATH`, loaded here; warns
        (sb.ModelEnvironmentWarning) naming each package whose version here differs."""
        import tempfile

        from seedbed.registry import model_format

        if not uri.startswith("runs:/") or uri.count("/") < 2:
            raise errors.Invalid(f"{uri!r} is not a model URI; give runs:/RUN_ID/PATH.")
        run_id, path = uri[len("runs:/") :].strip("/").split("/", 1)
        with tempfile.TemporaryDirectory(prefix="seedbed-model-") as folder:
            local = Path(folder) / "model"
            for artifact in self.list_artifacts(run_id, path):
                target = local / artifact["path"][len(path) :].lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                self.download_artifact(run_id, artifact["path"], target)
            return model_format.load_model(local, label or uri)

    def autolog(
        self, experiment: str = "autolog", disable: bool = False, log_models: bool = True
    ) -> None:
        """Log scikit-learn `fit` calls: params, training metrics and the fitted model, into the
        active run or a new run in `experiment`. `disable=True` restores plain `fit`."""
        from seedbed import autolog

        if disable:
            autolog.disable()
        else:
            autolog.enable(self, experiment, log_models=log_models)


class ModelsClient:
    """`ws.models`: registered models and predictions."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> builtins.list[dict[str, Any]]:
        models: builtins.list[dict[str, Any]] = self._client.request("GET", "/api/v1/models").json()
        return models

    def register(self, name: str, run_id: str, path: str = "model") -> dict[str, Any]:
        """Register the model a run logged at `path` as the next version of `name`."""
        made: dict[str, Any] = self._client.request(
            "POST",
            f"/api/v1/models/{name}/versions",
            json={"run_id": run_id, "artifact_path": path},
        ).json()
        return made

    def versions(self, name: str) -> builtins.list[dict[str, Any]]:
        """A registered model's versions, newest first."""
        found: builtins.list[dict[str, Any]] = self._client.request(
            "GET", f"/api/v1/models/{name}/versions"
        ).json()
        return found

    def load(self, name: str, version: str | int = "champion") -> Any:
        """The fitted estimator of a model version (a number, 'latest' or an alias), loaded
        here; warns (sb.ModelEnvironmentWarning) when this environment's versions differ."""
        found = self._client.request("GET", f"/api/v1/models/{name}/versions/{version}").json()
        prefix = f"runs/{found['run_id']}/artifacts/"
        if not found.get("run_id") or not str(found["source"]).startswith(prefix):
            raise errors.Invalid(f"Model {name} version {found['version']} has no run to load.")
        return self._client.load_model(
            f"runs:/{found['run_id']}/{found['source'][len(prefix) :]}",
            label=f"{name} version {found['version']}",
        )

    def set_tag(self, name: str, key: str, value: str, version: int | None = None) -> None:
        """Tag a registered model, or one of its versions when `version` is given."""
        path = f"/api/v1/models/{name}"
        if version is not None:
            path += f"/versions/{version}"
        self._client.request("PUT", f"{path}/tags/{key}", json={"value": value})

    def delete_tag(self, name: str, key: str, version: int | None = None) -> None:
        """Remove a tag of a registered model (or of one version)."""
        path = f"/api/v1/models/{name}"
        if version is not None:
            path += f"/versions/{version}"
        self._client.request("DELETE", f"{path}/tags/{key}")

    def set_description(self, name: str, description: str, version: int | None = None) -> None:
        """Replace the Markdown description of a model (or of one version)."""
        path = f"/api/v1/models/{name}"
        if version is not None:
            path += f"/versions/{version}"
        self._client.request("PATCH", path, json={"description": description})

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point an alias (such as champion) at a version; the move enters the history."""
        self._client.request(
            "PUT", f"/api/v1/models/{name}/aliases/{alias}", json={"version": version}
        )

    def alias_history(self, name: str) -> builtins.list[dict[str, Any]]:
        """Every alias move of a model, newest first (alias, from/to version, who, when)."""
        found: builtins.list[dict[str, Any]] = self._client.request(
            "GET", f"/api/v1/models/{name}/aliases/history"
        ).json()
        return found

    def predict(
        self,
        name: str,
        rows: builtins.list[Mapping[str, Any]] | pd.DataFrame,
        version: str = "champion",
    ) -> builtins.list[dict[str, Any]]:
        """Score rows with a model version (a number, 'latest' or an alias)."""
        import pandas as pd

        if isinstance(rows, pd.DataFrame):
            rows = rows.to_dict(orient="records")
        response = self._client.request(
            "POST",
            f"/api/v1/models/{name}/versions/{version}/predict",
            json={"inputs": [dict(r) for r in rows]},
        )
        predictions: builtins.list[dict[str, Any]] = response.json()["predictions"]
        return predictions


class QueryResult:
    """A query result held as Arrow, converted on request."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def arrow(self) -> pa.Table:
        return self.table

    def pandas(self) -> pd.DataFrame:
        return self.table.to_pandas()

    def polars(self) -> Any:
        """A polars DataFrame (needs `pip install seedbed[polars]`)."""
        try:
            import polars
        except ImportError as exc:
            raise errors.Invalid("polars is not installed: pip install 'seedbed[polars]'.") from exc
        return polars.from_arrow(self.table)


def _artifact_url(path: str) -> str:
    parts = path.strip("/").split("/")
    if path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise errors.Invalid(
            f"Artifact path {path!r} must be relative, with no empty, '.' or '..' parts."
        )
    return "/".join(quote(part, safe="") for part in parts)


def _read_arrow(payload: bytes) -> pa.Table:
    import pyarrow as pa

    return pa.ipc.open_stream(payload).read_all()
