"""`seedbed package NAME@ALIAS -o DIR`: write a container build context for a model."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer

from seedbed.cli_output import console, fail
from seedbed.errors import SeedbedError, ServerNotFound


def package(
    reference: Annotated[
        str, typer.Argument(help="NAME@ALIAS, NAME@VERSION or NAME@latest.", show_default=False)
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The folder to write (new or empty).")
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace what the output folder holds.")
    ] = False,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Workspace folder (default: ./workspace)."),
    ] = None,
) -> None:
    """Write a container build context (Dockerfile, pinned requirements, the model folder and
    a small serving app) for a registered model version.

    Goes through the running server; with none running, reads the local workspace.

    Example: seedbed package flight-delay@champion -o ./flight-delay-image
    """
    from seedbed.apps import packaging

    try:
        packaging.check_destination(output.resolve(), force)
        name, ref = packaging.parse_reference(reference)
        try:
            files = _through_server(name, ref, output, force, workspace)
        except ServerNotFound:
            if os.environ.get("SEEDBED_URL") or not _local_root(workspace).is_dir():
                raise
            files = _from_workspace(reference, output, force, workspace)
    except (SeedbedError, OSError) as exc:
        raise fail(exc) from None
    console.print(f"Wrote {len(files)} files to {output}. Build the image with:")
    console.print(f"  docker build -t {name.lower()} {output}")
    console.print(f"  docker run --rm -p 8080:8080 {name.lower()}")


def _local_root(workspace: Path | None) -> Path:
    from seedbed.client import DEFAULT_WORKSPACE

    return Path(workspace or os.environ.get("SEEDBED_WORKSPACE") or DEFAULT_WORKSPACE)


def _through_server(
    name: str, reference: str, output: Path, force: bool, workspace: Path | None
) -> list[str]:
    from seedbed.apps import packaging
    from seedbed.client import connect

    url = f"/api/v1/models/{quote(name, safe='')}/versions/{quote(reference, safe='')}/package"
    with tempfile.TemporaryDirectory(prefix="seedbed-package-") as folder:
        archive = Path(folder) / "context.tar.gz"
        with (
            connect(workspace=workspace, timeout=600) as ws,
            ws.stream("GET", url) as response,
            archive.open("wb") as handle,
        ):
            for chunk in response.iter_bytes():
                handle.write(chunk)
        return packaging.unpack_archive(archive, output, force)


def _from_workspace(reference: str, output: Path, force: bool, workspace: Path | None) -> list[str]:
    """No server runs: open the workspace here, holding its lock as the server would."""
    from seedbed.apps import packaging
    from seedbed.runtime import ServerLock
    from seedbed.settings import load_settings
    from seedbed.workspace import Workspace

    settings = load_settings(workspace=_local_root(workspace))
    lock = ServerLock(settings.workspace.resolve())
    lock.acquire()
    try:
        with Workspace.open(settings) as ws:
            context = packaging.write_context(ws, reference, output, force)
    finally:
        lock.release()
    return context.files
