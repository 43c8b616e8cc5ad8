"""Container build contexts for registered model versions (`seedbed package NAME@ALIAS`).

A context holds the model folder exactly as registered (`model/`), `requirements.txt`
pinned from the captured environment (seedbed.apps.package_lock), the standalone serving
app (`serving_app.py`, copied from seedbed.apps.serving), `metadata.json`, a `Dockerfile`
and a `README.md`. It is built in a hidden folder beside the destination and renamed into
place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seedbed import __version__
from seedbed.apps import package_lock
from seedbed.auth import audit
from seedbed.errors import Conflict, Invalid
from seedbed.registry import model_format
from seedbed.registry import models as model_service
from seedbed.registry.models import ModelVersion
from seedbed.workspace import Workspace

SERVING_APP = Path(__file__).parent / "serving" / "serving_app.py"
PORT = 8080
USER_ID = 10001  # numeric, so `runAsNonRoot` checks (Kubernetes) can see it is not root
HOW = "use NAME@ALIAS, NAME@VERSION or NAME@latest, e.g. flight-delay@champion"


@dataclass(frozen=True)
class PackageContext:
    folder: Path
    version: ModelVersion
    reference: str
    python: str  # major.minor of the base image
    lock: package_lock.Lock
    files: list[str]


def parse_reference(text: str) -> tuple[str, str]:
    """("flight-delay", "champion") from "flight-delay@champion"."""
    name, at, reference = text.rpartition("@")
    if not at or not name or not reference:
        raise Invalid(f"{text!r} does not name a model version: {HOW}.")
    return name, reference


def check_destination(destination: Path, force: bool = False) -> None:
    """Refuse a file, or a folder with something in it unless `force` replaces it."""
    if destination.exists() and not destination.is_dir():
        raise Invalid(f"{destination} is a file; give a folder to write the build context to.")
    if destination.is_dir() and any(destination.iterdir()) and not force:
        raise Conflict(
            f"{destination} is not empty; choose an empty or new folder, or pass --force "
            "to replace what is there."
        )


def write_context(
    workspace: Workspace,
    reference: str,
    destination: Path,
    force: bool = False,
    user: str = "",
) -> PackageContext:
    """Write the build context for NAME@REFERENCE into `destination` (atomically)."""
    destination = destination.resolve()
    check_destination(destination, force)
    name, ref = parse_reference(reference)
    version = model_service.resolve(workspace, name, ref)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        context = build(workspace, version, ref, staging)
        publish(staging, destination, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    audit.record(workspace, user or None, "model.package", f"{name}/{version.version}")
    return PackageContext(destination, version, ref, context.python, context.lock, context.files)


def write_archive(workspace: Workspace, reference: str, user: str = "") -> Path:
    """The build context for NAME@REFERENCE as `context.tar.gz` in a new temporary folder
    (the caller removes the folder)."""
    folder = Path(tempfile.mkdtemp(prefix="seedbed-package-"))
    try:
        context = write_context(workspace, reference, folder / "context", user=user)
        archive = folder / "context.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for relative in context.files:
                tar.add(context.folder / relative, arcname=relative, recursive=False)
        shutil.rmtree(context.folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return archive


def unpack_archive(archive: Path, destination: Path, force: bool = False) -> list[str]:
    """Unpack a context archive (from the server) into `destination`, atomically."""
    destination = destination.resolve()
    check_destination(destination, force)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            names = [m.name for m in tar.getmembers() if m.isfile()]
            tar.extractall(staging, filter="data")  # no paths outside, no links, no devices
        publish(staging, destination, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(names)


def publish(staging: Path, destination: Path, force: bool) -> None:
    """Rename the finished `staging` folder to `destination` (replacing it with `force`)."""
    staging.chmod(0o755)  # mkdtemp makes it private; a build context is shared like any folder
    if not destination.exists():
        os.replace(staging, destination)
        return
    check_destination(destination, force)
    old = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old.", dir=destination.parent))
    os.replace(destination, old / "previous")
    try:
        os.replace(staging, destination)
    except BaseException:
        os.replace(old / "previous", destination)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def build(
    workspace: Workspace, version: ModelVersion, reference: str, folder: Path
) -> PackageContext:
    """Fill an empty `folder` with the build context of one model version."""
    model_dir = workspace.artifacts.download_dir(version.source, folder / "model")
    mlmodel = model_format.read_mlmodel(model_dir)
    flavours = mlmodel.get("flavors") or {}
    sklearn = flavours.get("sklearn")
    if sklearn is None:
        raise Invalid(
            f"Model {version.name} version {version.version} has no sklearn flavour (it has: "
            f"{', '.join(flavours) or 'none'}); seedbed packages scikit-learn models only."
        )
    serialization = str(sklearn.get("serialization_format", "pickle"))
    saved_with = (flavours.get("python_function") or {}).get("python_version")
    python = _minor(str(saved_with or platform.python_version()))
    lock = package_lock.lock(workspace, version, model_dir, serialization)
    metadata = _metadata(version, reference, mlmodel, lock, python)
    shutil.copyfile(SERVING_APP, folder / "serving_app.py")
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    (folder / "requirements.txt").write_text(_requirements_text(version, lock))
    (folder / "Dockerfile").write_text(dockerfile(python))
    (folder / ".dockerignore").write_text("**/__pycache__\n**/*.pyc\n")
    example = model_format.read_input_example(model_dir)
    (folder / "README.md").write_text(_readme(version, reference, lock, python, example))
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    return PackageContext(folder, version, reference, python, lock, files)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def _metadata(
    version: ModelVersion,
    reference: str,
    mlmodel: dict[str, Any],
    lock: package_lock.Lock,
    python: str,
) -> dict[str, Any]:
    signature = dict(mlmodel.get("signature") or {})
    for part in ("inputs", "outputs"):
        if isinstance(signature.get(part), str):
            signature[part] = json.loads(signature[part])
    inputs = (mlmodel.get("metadata") or {}).get("seedbed_inputs")
    return {
        "name": version.name,
        "version": version.version,
        "alias": None if reference.isdigit() else reference,
        "aliases": version.aliases,
        "run_id": version.run_id,
        "signature": signature,
        "inputs": inputs,
        "created_at": _iso(version.created_at),
        "created_by": version.created_by,
        "packaged_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "seedbed_version": __version__,
        "python_version": python,
        "requirements": [p.line for p in lock.pins],
        "requirements_source": {
            "source": lock.source,
            "run_id": lock.run_id,
            "description": lock.describe(),
        },
    }


def _requirements_text(version: ModelVersion, lock: package_lock.Lock) -> str:
    lines = [
        f"# {version.name} version {version.version}: the model's and the serving app's",
        "# requirements with everything they depend on, pinned from",
        f"# {lock.describe()}.",
        "# After each pin: where its version came from (model, run, server).",
    ]
    width = max((len(p.line) for p in lock.pins), default=0)
    lines += [f"{p.line.ljust(width)}  # {p.source}" for p in lock.pins]
    return "\n".join(lines) + "\n"


def dockerfile(python: str) -> str:
    """A Dockerfile for the context: slim Python base, non-root user, health check."""
    check = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{PORT}/health', timeout=4)"
    )
    return f"""\
# Built by seedbed package: docker build -t NAME . && docker run -p {PORT}:{PORT} NAME
FROM python:{python}-slim

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    MODEL_DIR=/app/model

RUN useradd --create-home --uid {USER_ID} --shell /usr/sbin/nologin model
WORKDIR /app

COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY model/ ./model/
COPY serving_app.py metadata.json ./

USER {USER_ID}
EXPOSE {PORT}
# slim images have no curl: the check uses Python's urllib
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \\
    CMD ["python", "-c", "{check}"]
CMD ["uvicorn", "--factory", "serving_app:create_app", "--host", "0.0.0.0", "--port", "{PORT}"]
"""


def _readme(
    version: ModelVersion,
    reference: str,
    lock: package_lock.Lock,
    python: str,
    example: dict[str, Any],
) -> str:
    tag = version.name.lower()
    body = json.dumps({"inputs": [example]}, default=str)
    return f"""\
# {version.name} version {version.version} ({reference})

A container build context written by `seedbed package {version.name}@{reference}`
(seedbed {__version__}): the model folder as registered (`model/`), the pinned
`requirements.txt`, a small FastAPI serving app (`serving_app.py`, no seedbed needed),
`metadata.json` and a `Dockerfile` (python:{python}-slim, non-root user, health check).

## Build and run

```bash
docker build -t {tag}:{version.version} .
docker run --rm -p {PORT}:{PORT} {tag}:{version.version}
```

## Call it

```bash
curl http://127.0.0.1:{PORT}/health
curl http://127.0.0.1:{PORT}/metadata
curl -X POST http://127.0.0.1:{PORT}/predict -H 'Content-Type: application/json' \\
  -d '{body}'
```

`POST /predict` takes JSON records, `{{"inputs": [{{...}}, ...]}}` or a plain list, and
answers `{{"predictions": [{{"prediction": ..., "probabilities": {{...}}, "warnings": []}}]}}`
(probabilities for classifiers). A missing, extra or mistyped field gets a 422 naming the
row and the field. The OpenAPI description is at `/openapi.json`.

## Requirements

`requirements.txt` pins the model's requirements, the serving app's (FastAPI, uvicorn,
pandas, numpy, scikit-learn, PyYAML) and everything they depend on. Versions come from
{lock.describe()}; each line says where its version came from.

Without Docker: `python -m venv .venv && .venv/bin/pip install -r requirements.txt &&
.venv/bin/uvicorn --factory serving_app:create_app --port {PORT}`.
"""
