"""Who may build training sets: any role may compute one, only editors may save it."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from conftest import api_client
from seedbed.auth import tokens, users
from seedbed.client_features import _arrow_payload
from seedbed.features import Entity, FeatureView, Source, registry
from seedbed.features.definitions import build_spec
from seedbed.workspace import Workspace


def test_a_viewer_computes_but_cannot_save(local_workspace: Workspace) -> None:
    local_workspace.warehouse.load_dataframe(
        "sales",
        pd.DataFrame({"store": ["a"], "at": pd.to_datetime(["2024-01-01"]), "amount": [3.0]}),
    )
    view = FeatureView(
        "sales", [Entity("store")], Source(table="sales", timestamp="at"), ["amount"]
    )
    registry.apply(local_workspace, build_spec([view]), "ana")
    viewer = users.create_user(local_workspace, "vera", role="viewer")
    token = tokens.create_token(local_workspace, viewer, "test")
    rows = pa.table({"store": ["a"], "ts": pa.array(pd.to_datetime(["2024-01-02"]))})
    with api_client(local_workspace, authenticated=False) as http:
        http.headers["Authorization"] = f"Bearer {token}"
        url = "/api/v1/features/training-set?features=sales"
        saved = http.post(url, content=_arrow_payload(rows))
        assert saved.status_code == 403 and "editor" in saved.json()["error"]["message"]
        computed = http.post(url + "&save=false", content=_arrow_payload(rows))
        assert computed.status_code == 200, computed.text
        table = pa.ipc.open_stream(computed.content).read_all()
        assert table.column("amount").to_pylist() == [3.0]
        assert "x-seedbed-dataset" not in computed.headers
