"""The Notebooks page lists notebooks and shows one read-only, never running its HTML;
`seedbed notebook export` turns a notebook with magics into a script that Python compiles
and a job spec in the kernel's environment."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
import yaml
from fastapi.testclient import TestClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from tests.conftest import api_client
from typer.testing import CliRunner

from seedbed.cli import app
from seedbed.notebooks.export import export_script
from seedbed.workspace import Workspace

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def write_notebook(path: Path, kernel: str = "default") -> Path:
    notebook = new_notebook(
        cells=[
            new_markdown_cell("# Flights\nDelays <script>alert('md')</script> **by hour**"),
            new_code_cell(
                "%matplotlib inline\nimport math\nfiles = !ls\nfor f in [1]:\n    !echo hi\n"
                "math.sqrt?\nprint(math.sqrt(16))",
                execution_count=1,
                outputs=[
                    new_output("stream", name="stdout", text="4.0\n"),
                    new_output(
                        "display_data",
                        data={"text/html": "<script>alert('out')</script>", "text/plain": "<HTML>"},
                    ),
                    new_output("display_data", data={"image/png": PNG}),
                ],
            ),
            new_code_cell("%%bash\necho from bash"),
            new_code_cell("%%time\ntotal = sum(range(10))\nprint(total)"),
        ],
        metadata={"kernelspec": {"name": kernel, "display_name": f"seedbed ({kernel})"}},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def http(local_workspace: Workspace) -> Iterator[TestClient]:
    with api_client(local_workspace) as client:
        yield client


def test_the_page_shows_a_notebook_without_running_its_html(
    http: TestClient, local_workspace: Workspace
) -> None:
    write_notebook(local_workspace.notebooks_dir / "explore" / "flights.ipynb")
    listed = http.get("/ui/notebooks")
    assert listed.status_code == 200 and 'href="/ui/notebooks/view/explore/flights.ipynb"' in (
        listed.text
    )
    assert "Start JupyterLab" in listed.text
    assert http.get("/api/v1/notebooks").json()[0]["path"] == "explore/flights.ipynb"

    page = http.get("/ui/notebooks/view/explore/flights.ipynb")
    assert page.status_code == 200, page.text
    assert "<script>alert" not in page.text  # neither the markdown's nor the output's
    assert "&lt;script&gt;alert('md')&lt;/script&gt;" in page.text
    assert "<h1>Flights</h1>" in page.text and "<strong>by hour</strong>" in page.text
    assert "print(math.sqrt(16))" in page.text and "4.0" in page.text
    assert f'src="data:image/png;base64,{PNG}"' in page.text
    assert "Open in JupyterLab" in page.text

    assert http.get("/ui/notebooks/view/missing.ipynb").status_code == 404
    assert http.get("/ui/notebooks/view/..%2F..%2Fmetadata.db").status_code in (400, 404)


def test_export_writes_a_clean_script_and_a_job_spec(tmp_path: Path) -> None:
    source = write_notebook(tmp_path / "flights.ipynb", kernel="gpu")
    done = export_script(source)
    script = done.script.read_text()
    compile(script, str(done.script), "exec")  # plain Python, magics and all
    assert "# %matplotlib inline  # seedbed export" in script
    assert "# files = !ls" in script and "    pass  # !echo hi" in script
    assert "# math.sqrt?" in script and "print(math.sqrt(16))" in script
    assert "# %%bash" in script and "# echo from bash" in script
    assert "total = sum(range(10))" in script  # a %%time cell keeps its Python body
    assert "# # Flights" in script  # markdown becomes comments
    assert done.commented == 7
    spec = yaml.safe_load(done.spec.read_text())
    assert spec == {"script": "flights.py", "profile": "small", "environment": "gpu", "args": []}
    assert done.submit == f"seedbed jobs submit {done.script} --profile small --env gpu"


def test_the_export_command_says_how_to_submit(tmp_path: Path) -> None:
    source = write_notebook(tmp_path / "flights.ipynb")
    out = tmp_path / "jobs" / "train.py"
    result = CliRunner().invoke(
        app, ["notebook", "export", str(source), "--to", "script", "-o", str(out), "--env", "x"]
    )
    assert result.exit_code == 0, result.output
    assert out.is_file() and (tmp_path / "jobs" / "train.job.yaml").is_file()
    assert f"seedbed jobs submit {out} --profile small --env x" in result.output
    refused = CliRunner().invoke(app, ["notebook", "export", str(tmp_path / "nope.txt")])
    assert refused.exit_code != 0 and "not a notebook" in refused.output


def write_hand_written(path: Path) -> None:
    """A notebook nbformat reads (it only logs the invalid kernelspec) but would not write."""
    cell = {
        "cell_type": "code",
        "source": "1",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
    }
    odd = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": "hand-written"}}
    path.write_text(json.dumps({**odd, "cells": [cell]}), encoding="utf-8")


def test_odd_notebook_paths_and_metadata_answer_4xx_not_500(
    http: TestClient, local_workspace: Workspace
) -> None:
    folder = local_workspace.notebooks_dir
    folder.mkdir(parents=True, exist_ok=True)
    write_hand_written(folder / "odd.ipynb")
    assert http.get("/ui/notebooks/view/odd.ipynb").status_code == 200
    assert http.get("/ui/notebooks/view/a%00.ipynb").status_code == 400
    assert http.get("/ui/notebooks/view/" + "a" * 300 + ".ipynb").status_code == 400


def test_export_refuses_what_it_cannot_write_with_a_message(tmp_path: Path) -> None:
    source = write_notebook(tmp_path / "my flights.ipynb")
    write_hand_written(tmp_path / "odd.ipynb")
    assert yaml.safe_load(export_script(tmp_path / "odd.ipynb").spec.read_text())[
        "environment"
    ] == ("default")
    done = export_script(source)
    assert done.submit == f"seedbed jobs submit '{done.script}' --profile small --env default"
    (tmp_path / "taken.py").mkdir()
    for extra, said in [
        (["-o", str(tmp_path / "taken.py")], "Could not write"),
        (["--env", "Not An Env"], "is not allowed"),
    ]:
        refused = CliRunner().invoke(app, ["notebook", "export", str(source), *extra])
        assert refused.exit_code != 0 and said in refused.output, refused.output
        assert refused.exception is None or isinstance(refused.exception, SystemExit)
    assert not list(tmp_path.glob(".*.partial"))
