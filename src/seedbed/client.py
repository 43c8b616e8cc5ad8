"""The SDK: `sb.connect()` talks to a running seedbed server over HTTP.

Notebooks, jobs, scripts and the CLI all use it; none of them opens the workspace's
databases directly, since the server is their only writer.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

import httpx
import pandas as pd
import pyarrow as pa

from seedbed import errors
from seedbed.runtime import read_runtime

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
        self.datasets = DatasetsClient(self)
        self.sources = SourcesClient(self)

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

    def health(self) -> bool:
        return self._http.get("/health").text == "OK"

    def tables(self) -> pd.DataFrame:
        """Warehouse tables: name, rows and number of columns."""
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
        self, experiment: str, name: str = "", tags: Mapping[str, str] | None = None
    ) -> ActiveRun:
        """Open a run; use it as `with ws.start_run(experiment="...") as run:`."""
        data = self.request(
            "POST",
            "/api/v1/runs",
            json={"experiment": experiment, "name": name, "tags": dict(tags or {})},
        ).json()
        return ActiveRun(self, data["id"], data["name"])


class ActiveRun:
    """A run being logged; on leaving the `with` block it ends FINISHED, or FAILED on error."""

    def __init__(self, client: Client, run_id: str, name: str) -> None:
        self.client = client
        self.id = run_id
        self.name = name

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.end("FAILED" if exc_type else "FINISHED")

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.client.request(
            "POST",
            f"/api/v1/runs/{self.id}/params",
            json={"params": {k: str(v) for k, v in params.items()}},
        )

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        self.log_metrics({key: value}, step=step)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        self.client.request(
            "POST", f"/api/v1/runs/{self.id}/metrics", json={"metrics": dict(metrics), "step": step}
        )

    def set_tags(self, tags: Mapping[str, str]) -> None:
        self.client.request("POST", f"/api/v1/runs/{self.id}/tags", json={"tags": dict(tags)})

    def end(self, status: str = "FINISHED") -> None:
        self.client.request("POST", f"/api/v1/runs/{self.id}/end", json={"status": status})

    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = self.client.request("GET", f"/api/v1/runs/{self.id}").json()
        return data


class ModelsClient:
    """`ws.models`: registered models and predictions."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> builtins.list[dict[str, Any]]:
        models: builtins.list[dict[str, Any]] = self._client.request("GET", "/api/v1/models").json()
        return models

    def predict(
        self,
        name: str,
        rows: builtins.list[Mapping[str, Any]] | pd.DataFrame,
        version: str = "champion",
    ) -> builtins.list[dict[str, Any]]:
        """Score rows with a model version (a number, 'latest' or an alias)."""
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


class DatasetsClient:
    """`ws.datasets`: upload files or DataFrames as versioned datasets, and read them back."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def upload(
        self,
        source: str | Path | pd.DataFrame,
        name: str,
        description: str = "",
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, Any]:
        """Upload a file (CSV, TSV, Parquet, JSON Lines, Excel) or a DataFrame as the next
        version of `name`; identical content adds no version. Returns the published version
        with `created` telling whether it is new."""
        if isinstance(source, pd.DataFrame):
            with tempfile.TemporaryDirectory(prefix="seedbed-upload-") as folder:
                path = Path(folder) / f"{name}.parquet"
                source.to_parquet(path, index=False)
                return self.upload(path, name, description, progress)
        path = Path(source)
        if not path.is_file():
            raise errors.Invalid(f"{path} is not a file.")
        size = path.stat().st_size
        staged = self._client.request(
            "POST",
            "/api/v1/uploads",
            params={"filename": path.name},
            content=_chunks(path, size, progress),
            headers={"content-length": str(size), "content-type": "application/octet-stream"},
        ).json()
        published: dict[str, Any] = self._client.request(
            "POST",
            f"/api/v1/uploads/{staged['id']}/publish",
            json={"name": name, "description": description},
        ).json()
        return published

    def list(self) -> builtins.list[dict[str, Any]]:
        """Datasets with their versions, most recently updated first."""
        found: builtins.list[dict[str, Any]] = self._client.request(
            "GET", "/api/v1/datasets"
        ).json()
        return found

    def get(self, name: str) -> dict[str, Any]:
        """A dataset with its versions."""
        found: dict[str, Any] = self._client.request("GET", f"/api/v1/datasets/{name}").json()
        return found

    def from_query(self, name: str, query: str) -> dict[str, Any]:
        """Publish the result of a warehouse query as the next version of `name`."""
        made: dict[str, Any] = self._client.request(
            "POST", f"/api/v1/datasets/{name}/from-query", json={"query": query}
        ).json()
        return made

    def set_checks(self, name: str, checks: builtins.list[dict[str, Any]] | str) -> dict[str, Any]:
        """Replace a dataset's quality checks (a list of dicts, or YAML) and run them."""
        body = {"yaml": checks} if isinstance(checks, str) else {"checks": checks}
        answer: dict[str, Any] = self._client.request(
            "PUT", f"/api/v1/datasets/{name}/checks", json=body
        ).json()
        return answer

    def check_results(self, name: str, version: int | None = None) -> builtins.list[dict[str, Any]]:
        reference = "latest" if version is None else str(version)
        found: builtins.list[dict[str, Any]] = self._client.request(
            "GET", f"/api/v1/datasets/{name}/versions/{reference}/checks"
        ).json()
        return found

    def show(self, name: str, version: int | None = None) -> dict[str, Any]:
        """A dataset's versions, and one version's columns with their types and statistics."""
        dataset = self.get(name)
        reference = "latest" if version is None else str(version)
        summary: dict[str, Any] = self._client.request(
            "GET", f"/api/v1/datasets/{name}/versions/{reference}/columns"
        ).json()
        return {
            "name": dataset["name"],
            "description": dataset["description"],
            "versions": dataset["versions"],
            **summary,
        }

    def download(self, name: str, target: str | Path, version: int | None = None) -> Path:
        """Save a version's rows as a Parquet file."""
        reference = "latest" if version is None else str(version)
        path = Path(target)
        url = f"/api/v1/datasets/{name}/versions/{reference}/data"
        with self._client.stream("GET", url) as response, path.open("wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
        return path

    def read(self, name: str, version: int | None = None) -> pd.DataFrame:
        """A version's rows as pandas."""
        with tempfile.TemporaryDirectory(prefix="seedbed-dataset-") as folder:
            path = self.download(name, Path(folder) / "data.parquet", version)
            return pd.read_parquet(path)


class SourcesClient:
    """`ws.sources`: external databases and folders, browsed and snapshotted into datasets."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def register(
        self, name: str, kind: str, config: Mapping[str, Any], secret: str | None = None
    ) -> dict[str, Any]:
        """Register a source (admins); it is checked first. Query it as `name.schema.table`."""
        made: dict[str, Any] = self._client.request(
            "POST",
            "/api/v1/sources",
            json={"name": name, "kind": kind, "config": dict(config), "secret": secret},
        ).json()
        return made

    def list(self) -> builtins.list[dict[str, Any]]:
        found: builtins.list[dict[str, Any]] = self._client.request("GET", "/api/v1/sources").json()
        return found

    def tables(self, name: str) -> builtins.list[str]:
        """`schema.table` names of a source."""
        found = self._client.request("GET", f"/api/v1/sources/{name}/tables").json()
        return [f"{t['schema_name']}.{t['name']}" for t in found]

    def snapshot(
        self, name: str, dataset: str, table: str | None = None, query: str | None = None
    ) -> dict[str, Any]:
        """Copy a table (or one SELECT) of the source into the next version of `dataset`."""
        made: dict[str, Any] = self._client.request(
            "POST",
            f"/api/v1/sources/{name}/snapshot",
            json={"dataset": dataset, "table": table, "query": query},
        ).json()
        return made


def _chunks(
    path: Path, size: int, progress: Callable[[int, int], None] | None, chunk: int = 1 << 20
) -> Iterator[bytes]:
    sent = 0
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            sent += len(block)
            if progress is not None:
                progress(sent, size)
            yield block


def _read_arrow(payload: bytes) -> pa.Table:
    return pa.ipc.open_stream(payload).read_all()
