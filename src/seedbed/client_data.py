"""`ws.datasets` and `ws.sources`: datasets uploaded, read back and reviewed; external
sources browsed and snapshotted. Split from seedbed.client, which holds the connection."""

from __future__ import annotations

import builtins
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedbed import errors

if TYPE_CHECKING:
    import pandas as pd

    from seedbed.client import Client


_VERSION_FILE = re.compile(r'-v(\d+)\.parquet"?$')  # the download's NAME-vN.parquet


class WithheldColumnsWarning(UserWarning):
    """Columns restricted as personal data were left out of what you read."""


class DatasetsClient:
    """`ws.datasets`: upload files or DataFrames as versioned datasets, and read them back."""

    def __init__(self, client: Client) -> None:
        self._client = client
        # the versions read through this client: an upload's default parents
        self._read: set[tuple[str, int]] = set()

    def upload(
        self,
        source: str | Path | pd.DataFrame,
        name: str,
        description: str = "",
        progress: Callable[[int, int], None] | None = None,
        parents: builtins.list[str] | None = None,
    ) -> dict[str, Any]:
        """Upload a file (CSV, TSV, Parquet, JSON Lines, Excel) or a DataFrame as the next
        version of `name`; identical content adds no version. Returns the published version
        with `created` telling whether it is new.

        `parents` ("name" or "name@version") are the datasets the data was derived from:
        when one is restricted as personal data, so is the new version, until someone with
        the pii permission reviews it. Left out, they are the versions read or downloaded
        through this client so far (pass `[]` for none). The workspace's PII policy applies
        before it lands.
        """
        import pandas as pd

        if parents is None:
            parents = [f"{read}@{version}" for read, version in sorted(self._read)]
        if isinstance(source, pd.DataFrame):
            with tempfile.TemporaryDirectory(prefix="seedbed-upload-") as folder:
                path = Path(folder) / f"{name}.parquet"
                source.to_parquet(path, index=False)
                return self.upload(path, name, description, progress, parents)
        path = Path(source)
        if not path.is_file():
            raise errors.Invalid(f"{path} is not a file.")
        size = path.stat().st_size
        staged = self._client.request(
            "POST",
            "/api/v1/uploads",
            params={"filename": path.name},
            content=chunks(path, size, progress),
            headers={"content-length": str(size), "content-type": "application/octet-stream"},
        ).json()
        published: dict[str, Any] = self._client.request(
            "POST",
            f"/api/v1/uploads/{staged['id']}/publish",
            json={"name": name, "description": description, "parents": parents or []},
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
            withheld = response.headers.get("x-seedbed-withheld")
            found = _VERSION_FILE.search(response.headers.get("content-disposition", ""))
        if found:
            self._read.add((name, int(found.group(1))))
        if withheld:
            warnings.warn(
                f"{name}: columns {withheld.replace(',', ', ')} were left out; they are "
                "restricted as personal data and reading them needs the pii permission.",
                WithheldColumnsWarning,
                stacklevel=2,
            )
        return path

    def review(self, name: str, version: int, note: str = "") -> dict[str, Any]:
        """Lift a version's restriction after checking it (needs the pii permission)."""
        reviewed: dict[str, Any] = self._client.request(
            "POST", f"/api/v1/datasets/{name}/versions/{version}/review", json={"note": note}
        ).json()
        return reviewed

    def policy(self, name: str | None = None) -> dict[str, str]:
        """The action for each PII type: the workspace's, or a dataset's (with its overrides)."""
        url = "/api/v1/privacy/policy" if name is None else f"/api/v1/datasets/{name}/policy"
        rules = self._client.request("GET", url).json()["rules"]
        return {rule["pii_type"]: rule["action"] for rule in rules}

    def set_policy(
        self, rules: Mapping[str, str | None], name: str | None = None
    ) -> dict[str, str]:
        """Set actions per PII type (admins): for the workspace, or for dataset `name`.
        None removes a rule. Applies to versions published from now on."""
        url = "/api/v1/privacy/policy" if name is None else f"/api/v1/datasets/{name}/policy"
        answer = self._client.request("PUT", url, json={"rules": dict(rules)}).json()
        return {rule["pii_type"]: rule["action"] for rule in answer["rules"]}

    def detokenize(self, tokens: builtins.list[str]) -> dict[str, str | None]:
        """The original values of tokens made by the tokenize action (needs pii; audited)."""
        found: dict[str, str | None] = self._client.request(
            "POST", "/api/v1/privacy/detokenize", json={"tokens": tokens}
        ).json()
        return found

    def read(self, name: str, version: int | None = None) -> pd.DataFrame:
        """A version's rows as pandas."""
        import pandas as pd

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


def chunks(
    path: Path, size: int, progress: Callable[[int, int], None] | None, chunk: int = 1 << 20
) -> Iterator[bytes]:
    """A file read in blocks for a streamed request body, reporting progress."""
    sent = 0
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            sent += len(block)
            if progress is not None:
                progress(sent, size)
            yield block
