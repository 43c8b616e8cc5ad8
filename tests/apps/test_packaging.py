"""`seedbed package`: a container build context whose serving app, installed from the
context's own requirements into a fresh virtual environment, predicts what the workspace does.

There is no Docker engine on the test machines: the Dockerfile is checked as text, and the
image's contents (requirements, serving app, model) are run in a fresh uv virtualenv instead.
"""

from __future__ import annotations

import ast
import gzip
import io
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from conftest import api_client, make_settings
from registry_models import log_small_model
from seedbed import run_context
from seedbed.apps import package_routes, packaging
from seedbed.apps.predictions import predict
from seedbed.cli import app as cli
from seedbed.errors import Conflict, Invalid, NotFound
from seedbed.notebooks import uv
from seedbed.registry import models
from seedbed.registry.loading import ModelLoader
from seedbed.workspace import Workspace

ROWS: list[dict[str, Any]] = [
    {"x": 0.5, "n": 1},
    {"x": 2.5, "n": 3},
    {"x": 4.0, "n": 6},
    {"x": 9.0, "n": 12},  # outside the training range: warnings
]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path]]:
    """A registered model whose run recorded its environment, packaged once."""
    root = tmp_path_factory.mktemp("packaging")
    with Workspace.open(make_settings(root / "ws")) as workspace:
        run = log_small_model(workspace)
        workspace.artifacts.put_bytes(
            f"{run.artifact_key}/{run_context.REQUIREMENTS_ARTIFACT}",
            run_context.installed_requirements().encode(),
        )
        version = models.register_version(workspace, "small", run.id)
        models.set_alias(workspace, "small", "champion", version.version)
        packaging.write_context(workspace, "small@champion", root / "context")
        yield workspace, root / "context"


def test_the_context_holds_a_dockerfile_pinned_requirements_and_the_model(
    packaged: tuple[Workspace, Path],
) -> None:
    workspace, context = packaged
    version = models.resolve(workspace, "small", "champion")
    registered = sorted(workspace.artifacts.list(version.source))
    assert (
        sorted(p.relative_to(context / "model").as_posix() for p in (context / "model").rglob("*"))
        == registered
    )
    for name in registered:  # the model folder exactly as registered
        stored = workspace.artifacts.get_bytes(f"{version.source}/{name}")
        assert (context / "model" / name).read_bytes() == stored

    saved_with = yaml.safe_load((context / "model" / "MLmodel").read_text())["flavors"][
        "python_function"
    ]["python_version"]
    dockerfile = (context / "Dockerfile").read_text()
    lines = dockerfile.splitlines()
    base = ".".join(saved_with.split(".")[:2])
    assert f"FROM python:{base}-slim" in lines
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    assert lines.index(f"USER {users[-1]}") > lines.index(
        "RUN pip install --no-cache-dir -r requirements.txt"
    )
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert "urllib.request.urlopen('http://127.0.0.1:8080/health'" in dockerfile
    assert not any("curl " in line for line in lines if not line.startswith("#"))
    assert "EXPOSE 8080" in lines
    assert any(line.startswith('CMD ["uvicorn"') for line in lines)

    pins = packaging.package_lock.parse_pins((context / "requirements.txt").read_text())
    assert all(version for _, version in pins.values()), "every requirement is pinned"
    assert {"fastapi", "uvicorn", "pandas", "numpy", "scikit-learn", "pyyaml", "scipy"} <= set(pins)
    model_pins = packaging.package_lock.parse_pins(
        (context / "model" / "requirements.txt").read_text()
    )
    assert pins["scikit-learn"] == model_pins["scikit-learn"]
    recorded = packaging.package_lock.parse_pins(run_context.installed_requirements())
    assert pins["fastapi"] == recorded["fastapi"]
    assert "pinned from\n# the environment run" in (context / "requirements.txt").read_text()

    readme = (context / "README.md").read_text()
    assert (
        "docker build -t small:1 ." in readme and "docker run --rm -p 8080:8080 small:1" in readme
    )
    assert f"the environment run {version.run_id} recorded" in readme

    imports = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse((context / "serving_app.py").read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not any(name.split(".")[0] == "seedbed" for name in imports)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The serving app exited ({process.returncode}): {log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"The serving app did not answer /health within 60 s: {log.read_text()}")


@pytest.mark.timeout(600)
def test_the_serving_app_in_a_fresh_venv_predicts_what_the_workspace_does(
    packaged: tuple[Workspace, Path], tmp_path: Path
) -> None:
    """Runs once: a fresh virtualenv from the context's requirements.txt (uv, with this
    machine's package-index settings; no index reachable fails the test), then uvicorn."""
    workspace, context = packaged
    venv = tmp_path / "venv"
    made = uv.run(["venv", "--python", sys.executable, str(venv)], timeout_s=120)
    assert made.returncode == 0, f"uv venv failed: {made.stderr}"
    python = venv / "bin" / "python"
    installed = uv.run(
        ["pip", "install", "--python", str(python), "-r", str(context / "requirements.txt")],
        timeout_s=480,
    )
    assert installed.returncode == 0, (
        "Installing the context's requirements failed (is the package index reachable?): "
        f"{installed.stderr}"
    )
    alone = subprocess.run([python, "-c", "import seedbed"], capture_output=True, check=False)
    assert alone.returncode != 0, "the fresh environment must not have seedbed"

    port = _free_port()
    log = tmp_path / "serving.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [python, "-m", "uvicorn", "--factory", "serving_app:create_app", "--port", str(port)],
            cwd=context,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, process, log)
        with httpx.Client(base_url=url, timeout=10) as http:
            meta = http.get("/metadata").json()
            version = models.resolve(workspace, "small", "champion")
            assert (meta["name"], meta["version"], meta["alias"]) == ("small", 1, "champion")
            assert meta["run_id"] == version.run_id
            assert [c["name"] for c in meta["signature"]["inputs"]] == ["x", "n"]
            assert meta["seedbed_version"] and meta["created_at"]
            assert meta["requirements_source"]["source"] == "run"
            assert meta["requirements"] == [
                line.split("#")[0].strip()
                for line in (context / "requirements.txt").read_text().splitlines()
                if line.strip() and not line.startswith("#")
            ]

            spec = http.get("/openapi.json").json()
            assert "/predict" in spec["paths"] and "/metadata" in spec["paths"]
            assert http.get("/docs").status_code == 404  # no Swagger UI assets from a CDN

            served = http.post("/predict", json={"inputs": ROWS})
            assert served.status_code == 200, served.text + log.read_text()
            expected = [asdict(p) for p in predict(ModelLoader(workspace).load(version), ROWS)]
            assert served.json()["predictions"] == expected
            assert set(expected[0]["probabilities"]) == {"0", "1"}
            assert expected[-1]["warnings"], "an out-of-range row warns"
            assert http.post("/predict", json=ROWS[:2]).json()["predictions"] == expected[:2]

            missing = http.post("/predict", json={"inputs": [{"x": 1.0}]})
            assert missing.status_code == 422
            assert missing.json()["detail"][0]["loc"][-1] == "n"
            assert "'n'" in missing.json()["detail"][0]["msg"]
            # LogisticRegression takes no missing numbers: a 422 saying so, not a 500
            unscorable = http.post("/predict", json=[{"x": None, "n": 2}])
            assert unscorable.status_code == 422 and "NaN" in unscorable.text
            extra = http.post("/predict", json=[{"x": 1.0, "n": 2, "colour": "red"}])
            assert extra.status_code == 422 and "colour" in extra.text
            mistyped = http.post("/predict", json=[{"x": 1.0, "n": "many"}])
            assert mistyped.status_code == 422 and "'many' is not a whole number" in mistyped.text
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_api_streams_the_context_as_a_tar_gz(
    packaged: tuple[Workspace, Path], tmp_path: Path
) -> None:
    workspace, context = packaged
    with api_client(workspace) as http:
        if not any(
            getattr(r, "path", "") == "/api/v1/models/{name}/versions/{reference}/package"
            for r in http.app.routes  # type: ignore[attr-defined]
        ):
            http.app.include_router(package_routes.router)  # type: ignore[attr-defined]
        answer = http.get("/api/v1/models/small/versions/champion/package")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/gzip"
        with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as tar:
            names = sorted(m.name for m in tar.getmembers() if m.isfile())
        assert names == sorted(
            p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()
        )
        archive = tmp_path / "context.tar.gz"
        archive.write_bytes(answer.content)
        assert packaging.unpack_archive(archive, tmp_path / "unpacked") == names
        assert (tmp_path / "unpacked" / "Dockerfile").read_text() == (
            context / "Dockerfile"
        ).read_text()

        unknown = http.get("/api/v1/models/small/versions/staging/package")
        assert unknown.status_code == 404
        assert "no version or alias 'staging'" in unknown.json()["error"]["message"]
    assert gzip.decompress(answer.content)  # a real gzip stream


def test_bad_references_full_folders_and_other_flavours_are_refused(
    packaged: tuple[Workspace, Path], tmp_path: Path
) -> None:
    workspace, _ = packaged
    with pytest.raises(Invalid, match="NAME@ALIAS"):
        packaging.write_context(workspace, "small", tmp_path / "a")
    with pytest.raises(NotFound, match="No registered model named 'nope'"):
        packaging.write_context(workspace, "nope@champion", tmp_path / "a")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(Conflict, match="--force"):
        packaging.write_context(workspace, "small@1", full)
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    packaging.write_context(workspace, "small@latest", full, force=True)
    assert (full / "Dockerfile").is_file() and not (full / "keep.txt").exists()

    # An MLmodel folder without the sklearn flavour (say, a pyfunc model from mlflow).
    source = "models/other/1"
    mlmodel = {
        "flavors": {"python_function": {"loader_module": "custom", "python_version": "3.11.7"}}
    }
    workspace.artifacts.put_bytes(f"{source}/MLmodel", yaml.safe_dump(mlmodel).encode())
    models.add_version(workspace, "other", source, None)
    with pytest.raises(Invalid, match="no sklearn flavour"):
        packaging.write_context(workspace, "other@1", tmp_path / "other")
    assert not (tmp_path / "other").exists()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["full"], f"nothing half-written beside the destination: {left}"


def test_the_cli_writes_the_context_and_fails_clearly(tmp_path: Path) -> None:
    """No server runs here: the command reads the local workspace (the server path is the
    route above)."""
    root = tmp_path / "ws"
    with Workspace.open(make_settings(root)) as workspace:
        run = log_small_model(workspace)
        models.register_version(workspace, "small", run.id)
        models.set_alias(workspace, "small", "champion", 1)
    runner = CliRunner()
    out = tmp_path / "image"
    done = runner.invoke(cli, ["package", "small@champion", "-o", str(out), "-w", str(root)])
    assert done.exit_code == 0, done.output
    assert (out / "Dockerfile").is_file() and (out / "model" / "MLmodel").is_file()
    assert "docker build -t small" in done.output

    again = runner.invoke(cli, ["package", "small@champion", "-o", str(out), "-w", str(root)])
    assert again.exit_code == 1 and "not empty" in again.output
    unknown = runner.invoke(
        cli, ["package", "small@staging", "-o", str(tmp_path / "x"), "-w", str(root)]
    )
    assert unknown.exit_code == 1 and "no version or alias 'staging'" in unknown.output
    assert not (tmp_path / "x").exists()
