"""The demo workspace's notebooks run headless, top to bottom, against a real demo server:
the kernel finds it through SEEDBED_URL and SEEDBED_TOKEN, as in JupyterLab."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import nbformat
import pytest
from nbclient import NotebookClient

import seedbed as sb
from seedbed import demo_notebooks
from server_process import SeedbedServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    with SeedbedServer(tmp_path_factory.mktemp("demo-notebooks") / "ws", demo=True) as server:
        yield server


@pytest.fixture(scope="module")
def executed(demo_server: SeedbedServer) -> dict[str, nbformat.NotebookNode]:
    """Each demo notebook after a headless run, in the order a user runs them."""
    folder = demo_server.workspace / "notebooks"
    saved = dict(os.environ)
    os.environ.update({"SEEDBED_URL": demo_server.url, "SEEDBED_TOKEN": demo_server.token})
    try:
        done = {}
        for name in ("explore_flights.ipynb", "train_model.ipynb", "compare_with_baseline.ipynb"):
            notebook = nbformat.read(folder / name, as_version=4)
            client = NotebookClient(
                notebook,
                timeout=120,
                kernel_name="python3",
                resources={"metadata": {"path": folder}},
            )
            client.execute()  # raises CellExecutionError, with the traceback, on any error
            done[name] = notebook
        return done
    finally:
        os.environ.clear()
        os.environ.update(saved)


def outputs(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(
        json.dumps(output) for cell in notebook.cells for output in cell.get("outputs", [])
    )


def test_the_demo_holds_the_three_notebooks(demo_server: SeedbedServer) -> None:
    names = {p.name for p in (demo_server.workspace / "notebooks").glob("*.ipynb")}
    assert names == {"explore_flights.ipynb", "train_model.ipynb", "compare_with_baseline.ipynb"}


def test_explore_profiles_and_plots_the_flights(
    executed: dict[str, nbformat.NotebookNode],
) -> None:
    text = outputs(executed["explore_flights.ipynb"])
    assert "328,521 rows" in text  # the departed flights, profiled by the server
    assert "application/vnd.plotly.v1+json" in text
    assert '"ename"' not in text


def test_train_logs_a_run_with_metrics_and_a_model(
    executed: dict[str, nbformat.NotebookNode], demo_server: SeedbedServer
) -> None:
    with sb.connect(url=demo_server.url, token=demo_server.token) as ws:
        [run] = ws.runs(demo_notebooks.EXPERIMENT)
        assert run["name"] == demo_notebooks.MODEL_RUN and run["status"] == "FINISHED"
        assert set(run["metrics"]) >= {"roc_auc", "accuracy", "precision", "recall", "f1"}
        files = {a["path"] for a in ws.list_artifacts(run["id"], "model")}
        assert {"model/MLmodel", "model/requirements.txt"} <= files
        assert ws.get_run(run["id"])["tags"]["seedbed.environment_lock"].startswith("sha256:")


def test_compare_scores_the_model_against_the_business_rule(
    executed: dict[str, nbformat.NotebookNode],
) -> None:
    notebook = executed["compare_with_baseline.ipynb"]
    [table] = [
        output["data"]["text/plain"]
        for output in notebook.cells[2]["outputs"]
        if output.get("output_type") == "execute_result"
    ]
    rows = {
        line.split()[0]: [float(v) for v in line.split()[1:]] for line in table.splitlines()[1:]
    }
    rule, model, _gain = rows["roc_auc"]
    assert 0.5 < rule < model < 1.0
    assert "application/vnd.plotly.v1+json" in outputs(notebook)


def test_the_registered_champion_loads_here_without_a_warning(
    demo_server: SeedbedServer,
) -> None:
    with sb.connect(url=demo_server.url, token=demo_server.token) as ws:
        model = ws.models.load("flight-delay", "champion")  # warnings are errors in tests
        assert type(model).__name__ == "Pipeline"
        assert list(model.feature_names_in_)[:2] == ["carrier", "origin"]
