"""`ws.features`: apply feature definitions and build point-in-time training sets."""

from __future__ import annotations

import builtins
import json
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedbed import errors

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from seedbed.client import Client

DATASET_ATTR = "seedbed.dataset"


class FeatureWarning(UserWarning):
    """Something about a training set worth knowing, such as mixed time zones."""


def _arrow_payload(table: pa.Table) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


class FeaturesClient:
    """The feature store of one server."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def apply(
        self, definitions: str | Path | Iterable[Any] = "features", dry_run: bool = False
    ) -> dict[str, Any]:
        """Register definitions: Entity and FeatureView objects, or a folder or file of them.

        Returns {"version": new version or None, "current": newest, "changes": [...]}.
        """
        from seedbed.features.definitions import build_spec
        from seedbed.features.loader import load_definitions

        if isinstance(definitions, str | Path):
            definitions = load_definitions(definitions)
        spec = build_spec(definitions)
        body = {"spec": spec, "dry_run": dry_run}
        response = self._client.request("POST", "/api/v1/features/apply", json=body)
        result: dict[str, Any] = response.json()
        return result

    def catalog(self) -> dict[str, Any]:
        """The registered definitions: entities, and views with their features."""
        result: dict[str, Any] = self._client.request("GET", "/api/v1/features").json()
        return result

    def list(self) -> pd.DataFrame:
        """One row per feature: view, name, kind, type, entities, description."""
        import pandas as pd

        rows = [
            {
                "feature": f"{view['name']}:{feature['name']}",
                "kind": feature["kind"],
                "type": feature.get("dtype", ""),
                "entities": ", ".join(view["entities"]),
                "description": feature.get("description", ""),
            }
            for view in self.catalog()["views"]
            for feature in view["features"]
        ]
        return pd.DataFrame(rows, columns=["feature", "kind", "type", "entities", "description"])

    def training_set(
        self,
        entity_rows: pd.DataFrame | pa.Table | str,
        features: Sequence[str],
        label: str | None = None,
        timestamp: str | None = None,
        name: str = "training-set",
        save: bool = True,
        full_names: bool = False,
        version: int | None = None,
    ) -> pd.DataFrame:
        """Entity rows (a DataFrame, Arrow table, or dataset "NAME[@VERSION]") with the
        features as of each row's time, in the same order; the label column last.

        Saved as the next version of dataset `name` unless save=False:
        `frame.attrs["seedbed.dataset"]` names that version, and the frame itself can be
        given to `ws.start_run(inputs=[frame])`.
        """
        table, dataset = self._fetch(
            entity_rows, features, label, timestamp, name, save, full_names, version
        )
        frame = table.to_pandas()
        if dataset:
            frame.attrs[DATASET_ATTR] = dataset
        return frame

    def training_set_arrow(
        self,
        entity_rows: pd.DataFrame | pa.Table | str,
        features: Sequence[str],
        label: str | None = None,
        timestamp: str | None = None,
        name: str = "training-set",
        save: bool = True,
        full_names: bool = False,
        version: int | None = None,
    ) -> pa.Table:
        """Like `training_set`, as Arrow; the schema metadata names the dataset version."""
        table, dataset = self._fetch(
            entity_rows, features, label, timestamp, name, save, full_names, version
        )
        if dataset:
            table = table.replace_schema_metadata({DATASET_ATTR: dataset})
        return table

    def _fetch(
        self,
        entity_rows: pd.DataFrame | pa.Table | str,
        features: Sequence[str],
        label: str | None,
        timestamp: str | None,
        name: str,
        save: bool,
        full_names: bool,
        version: int | None,
    ) -> tuple[pa.Table, str | None]:
        import pandas as pd
        import pyarrow as pa

        if isinstance(features, str):
            features = [features]
        params: dict[str, Any] = {
            "features": list(features),
            "name": name,
            "save": save,
            "full_names": full_names,
        }
        for key, value in (("label", label), ("timestamp", timestamp), ("version", version)):
            if value is not None:
                params[key] = value
        content = b""
        if isinstance(entity_rows, str):
            params["entity_dataset"] = entity_rows
        else:
            table = entity_rows
            if isinstance(table, pd.DataFrame):
                table = pa.Table.from_pandas(table, preserve_index=False)
            if not isinstance(table, pa.Table):
                raise errors.Invalid(
                    "entity_rows must be a pandas DataFrame, an Arrow table or a dataset name."
                )
            content = _arrow_payload(table)
        response = self._client.request(
            "POST", "/api/v1/features/training-set", params=params, content=content
        )
        for message in json.loads(response.headers.get("x-seedbed-warnings", "[]")):
            warnings.warn(message, FeatureWarning, stacklevel=3)
        result = pa.ipc.open_stream(response.content).read_all()
        return result, response.headers.get("x-seedbed-dataset")

    def materialize(
        self,
        views: Sequence[str] | str | None = None,
        incremental: bool = False,
        as_of: Any = None,
    ) -> builtins.list[dict[str, Any]]:
        """Write every entity's latest values and current window aggregates to the online
        store; `incremental=True` recomputes only keys that changed since the last run.

        Returns one dict per view: view, mode, entities, as_of_us, watermark_us.
        """
        import pandas as pd

        body: dict[str, Any] = {"views": _names(views), "incremental": incremental}
        if as_of is not None:
            body["as_of"] = pd.Timestamp(as_of).isoformat()
        response = self._client.request("POST", "/api/v1/features/materialize", json=body)
        result: builtins.list[dict[str, Any]] = response.json()["views"]
        return result

    def online(
        self,
        entities: pd.DataFrame | Sequence[dict[str, Any]] | dict[str, Any],
        features: Sequence[str] | str,
        full_names: bool = False,
    ) -> pd.DataFrame:
        """Online features of entities (dicts or a DataFrame of join keys): one row each,
        the keys then the features; null past the ttl or for unknown keys."""
        import pandas as pd

        if isinstance(entities, pd.DataFrame):
            rows = json.loads(entities.to_json(orient="records", date_format="iso"))
        elif isinstance(entities, dict):
            rows = [entities]
        else:
            rows = list(entities)
        body = {"features": _names(features), "entities": rows, "full_names": full_names}
        result = self._client.request("POST", "/api/v1/features/online", json=body).json()
        columns = list(dict.fromkeys([*(k for row in rows for k in row), *result["features"]]))
        return pd.DataFrame(result["results"], columns=columns)

    def check(self, views: Sequence[str] | str | None = None) -> dict[str, Any]:
        """Recompute offline what the online store serves: {"ok", "mismatches", "views",
        "warnings"}, each mismatch with view, keys, feature, online and offline values."""
        body = {"views": _names(views)}
        result: dict[str, Any] = self._client.request(
            "POST", "/api/v1/features/check", json=body
        ).json()
        return result


def _names(names: Sequence[str] | str | None) -> list[str] | None:
    if names is None:
        return None
    return [names] if isinstance(names, str) else list(names)
