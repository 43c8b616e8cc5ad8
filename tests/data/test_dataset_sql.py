"""Datasets in SQL: `datasets.NAME` and `datasets."NAME@V"`, with restricted columns left
out for readers without the pii permission, and query snapshots that record their parents."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tests.auth_sessions import token_for
from tests.conftest import api_client

from seedbed.data import datasets
from seedbed.privacy import restrictions
from seedbed.workspace import Workspace


def publish(
    workspace: Workspace, tmp_path: Path, name: str, columns: dict[str, list[object]]
) -> None:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.table(columns), path)
    datasets.publish_parquet(
        workspace, name, path, hashlib.sha256(path.read_bytes()).hexdigest(), "upload"
    )


def test_datasets_are_tables_in_sql(local_workspace: Workspace, tmp_path: Path) -> None:
    emails = [f"u{i}@example.org" for i in range(20)]
    publish(local_workspace, tmp_path, "people", {"id": list(range(20)), "email": emails})
    publish(
        local_workspace, tmp_path, "people", {"id": list(range(25)), "email": emails + emails[:5]}
    )
    viewer = {"Authorization": f"Bearer {token_for(local_workspace, 'vic', 'viewer')}"}
    with api_client(local_workspace) as http:

        def sql(query: str, **headers: str) -> dict:  # type: ignore[type-arg]
            answer = http.post(
                "/api/v1/sql", json={"query": query, "format": "json"}, headers=headers
            )
            return {"status": answer.status_code, **answer.json()}

        latest = sql("select count(*) as n from datasets.people")
        assert latest["rows"] == [[25]]
        first = sql('select count(*) from datasets."people@1"')
        assert first["rows"] == [[20]]
        joined = sql('select count(*) from datasets.people a join datasets."people@1" b using (id)')
        assert joined["rows"] == [[20]]
        assert sql('select * from datasets."people@1" limit 1')["columns"] == ["id", "email"]
        assert sql('select * from datasets."people@1" limit 1', **viewer)["columns"] == ["id"]
        hidden = sql("select email from datasets.people", **viewer)
        assert hidden["status"] == 400 and "email" in str(hidden)
        bad = sql('select * from datasets."people@one"')
        assert bad["status"] == 400 and "names no version" in str(bad)
        for reference in ("people@²", "people@"):  # "²".isdigit(), but int("²") fails
            odd = sql(f'select * from datasets."{reference}"')
            assert odd["status"] == 400 and "names no version" in str(odd)
        superscript = http.get("/api/v1/datasets/people/versions/²/data")
        assert superscript.status_code == 400 and "must be a number" in superscript.text
        missing = sql("select * from datasets.nobody")
        assert missing["status"] == 404
        # a query snapshot over datasets records them as its parents
        made = http.post(
            "/api/v1/datasets/ids/from-query", json={"query": "select id from datasets.people"}
        )
        assert made.status_code == 201, made.text
        ids = datasets.get_dataset(local_workspace, "ids")
        assert restrictions.parents_of(local_workspace, ids.id, 1) == [
            {"dataset": "people", "version": 2}
        ]
        # the admin could read the e-mails, so the snapshot is restricted until reviewed
        held = restrictions.get(local_workspace, ids.id, 1)
        assert held is not None and held.active
        # a source may not take the catalog's name
        refused = http.post(
            "/api/v1/sources",
            json={"name": "datasets", "kind": "sqlite", "config": {"path": str(tmp_path / "x.db")}},
        )
        assert refused.status_code == 400 and "datasets" in refused.text
