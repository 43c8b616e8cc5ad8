"""The prediction API: NAME@ALIAS, JSON and Arrow bodies, 422s, warnings, missing modules."""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from conftest import api_client
from seedbed.registry import model_format
from seedbed.registry import models as service
from seedbed.registry.model_requirements import ModelEnvironmentWarning
from seedbed.tracking.experiments import create_experiment
from seedbed.tracking.runs import start_run
from seedbed.workspace import Workspace

ARROW = "application/vnd.apache.arrow.stream"
URL = "/api/v1/models/flight-delay@champion/predict"


def example(client: TestClient) -> dict[str, Any]:
    version = client.get("/api/v1/models/flight-delay/versions/champion").json()
    return {c["name"]: value_of(c) for c in version["signature"]["inputs"]}


def value_of(column: dict[str, Any]) -> Any:
    if column.get("choices"):
        return column["choices"][0]
    return column.get("typical", 1)


def test_json_records_bare_lists_and_references(demo_client: TestClient) -> None:
    row = example(demo_client)
    wrapped = demo_client.post(URL, json={"inputs": [row, row]})
    assert wrapped.status_code == 200, wrapped.text
    answer = wrapped.json()
    champion = demo_client.get("/api/v1/models/flight-delay").json()["aliases"]["champion"]
    assert answer["model"] == "flight-delay" and answer["version"] == champion
    [first, second] = answer["predictions"]
    assert first == second and sum(first["probabilities"].values()) == pytest.approx(1.0)
    assert first["warnings"] == []
    bare = demo_client.post(URL, json=[row]).json()
    assert bare["predictions"] == [first]
    by_number = demo_client.post(f"/api/v1/models/flight-delay@{champion}/predict", json=[row])
    assert by_number.json()["predictions"] == [first]
    old = demo_client.post(
        "/api/v1/models/flight-delay/versions/champion/predict", json={"inputs": [row]}
    )
    assert old.json()["predictions"] == [first]


def test_arrow_in_arrow_out(demo_client: TestClient) -> None:
    row = example(demo_client)
    frame = pd.DataFrame([{**row, "sched_hour": h % 24} for h in range(500)])
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    answer = demo_client.post(
        URL, content=sink.getvalue().to_pybytes(), headers={"Content-Type": ARROW}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == ARROW
    scored = pa.ipc.open_stream(answer.content).read_all().to_pandas()
    assert list(scored.columns) == ["prediction", "probability_0", "probability_1"]
    assert len(scored) == 500
    json_rows = demo_client.post(URL, json=frame.head(24).to_dict(orient="records")).json()
    assert scored["probability_1"].head(24).tolist() == pytest.approx(
        [p["probabilities"]["1"] for p in json_rows["predictions"]]
    )

    bad = frame.drop(columns="distance")
    table = pa.Table.from_pandas(bad, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    refused = demo_client.post(
        URL, content=sink.getvalue().to_pybytes(), headers={"Content-Type": ARROW}
    )
    assert refused.status_code == 422 and "distance" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"distance": None, "_drop": "distance"}, "row 2: missing fields distance"),
        ({"seats": 3}, "row 2: unknown fields seats"),
        ({"sched_hour": "late"}, "row 2, field 'sched_hour': 'late' is not a whole number"),
        ({"carrier": "ZZ"}, "row 2, field 'carrier': 'ZZ' is not one of the values"),
    ],
)
def test_bad_fields_are_422_naming_field_and_row(
    demo_client: TestClient, change: dict[str, Any], message: str
) -> None:
    row = example(demo_client)
    bad = {**row, **change}
    drop = bad.pop("_drop", None)
    if drop:
        bad.pop(drop)
    answer = demo_client.post(URL, json=[row, bad])
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["error"]["message"]


def test_out_of_range_values_warn_and_bad_requests(demo_client: TestClient) -> None:
    row = {**example(demo_client), "distance": 90_000}
    [scored] = demo_client.post(URL, json=[row]).json()["predictions"]
    assert len(scored["warnings"]) == 1
    assert scored["warnings"][0].startswith("distance 90000 is above the largest value seen")
    assert demo_client.post(URL, content=b"{nope").status_code == 422
    assert demo_client.post("/api/v1/models/flight-delay/predict", json=[row]).status_code == 400
    unknown = demo_client.post("/api/v1/models/flight-delay@gold/predict", json=[row])
    assert unknown.status_code == 404 and "champion" in unknown.json()["error"]["message"]


def test_missing_dependency_names_module_and_pinned_requirement(
    local_workspace: Workspace, tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    (tmp_path / "seedbed_tinydep.py").write_text("def double(x):\n    return x * 2\n")
    sys.path.insert(0, str(tmp_path))
    try:
        tinydep = importlib.import_module("seedbed_tinydep")
        frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
        model = Pipeline(
            [("double", FunctionTransformer(tinydep.double)), ("fit", LogisticRegression())]
        ).fit(frame, [0, 0, 1, 1])
        run = start_run(local_workspace, create_experiment(local_workspace, "dep").id)
        with tempfile.TemporaryDirectory() as folder:
            directory = Path(folder)
            inputs = model_format.infer_inputs(frame)
            model_format.save_sklearn_model(model, directory, inputs, {"x": 1.0})
            with (directory / "requirements.txt").open("a") as pins:
                pins.write("seedbed-tinydep==1.2.3\n")
            local_workspace.artifacts.put_dir(directory, f"{run.artifact_key}/model")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("seedbed_tinydep", None)
    service.register_version(local_workspace, "doubler", run.id)
    with (
        api_client(local_workspace) as http,
        pytest.warns(ModelEnvironmentWarning, match="seedbed-tinydep"),
    ):
        answer = http.post("/api/v1/models/doubler@latest/predict", json=[{"x": 1.0}])
    assert answer.status_code == 409, answer.text
    message = answer.json()["error"]["message"]
    assert "'seedbed_tinydep'" in message and "seedbed-tinydep==1.2.3" in message
