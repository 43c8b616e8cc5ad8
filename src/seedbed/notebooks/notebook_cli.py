"""`seedbed notebook …`: JupyterLab through the server, and notebooks exported to code."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from seedbed.cli_output import console, fail
from seedbed.client import connect
from seedbed.errors import SeedbedError

app = typer.Typer(
    help="Notebooks: JupyterLab with the workspace's kernels; export to a script and a job.",
    invoke_without_command=True,
)


class Target(StrEnum):
    script = "script"


@app.callback()
def notebook(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option(help="Port for JupyterLab on 127.0.0.1 (default 0: a free one).")
    ] = 0,
) -> None:
    """Start JupyterLab through the server (or find it running) and print its URL.

    Example: seedbed notebook --port 8888
    """
    if ctx.invoked_subcommand is not None:
        return
    try:
        with connect() as ws, console.status("Starting JupyterLab…"):
            lab = ws.request("POST", "/api/v1/notebooks/server", json={"port": port}).json()
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print("JupyterLab is ready (its kernels are the workspace's environments):")
    typer.echo(lab["url"])


@app.command("export")
def export(
    nb: Annotated[Path, typer.Argument(help="The notebook (.ipynb) to export.")],
    to: Annotated[Target, typer.Option("--to", help="What to export to: script.")] = Target.script,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="The script (default: NB with .py).")
    ] = None,
    profile: Annotated[str, typer.Option(help="Resource profile for the job spec.")] = "small",
    env: Annotated[
        str | None,
        typer.Option("--env", help="Environment for the job spec (default: the kernel's)."),
    ] = None,
) -> None:
    """Write a clean script from a notebook, and a job spec (YAML) beside it.

    Example: seedbed notebook export notebooks/explore.ipynb --to script --profile small
    """
    try:
        # nbformat (and jsonschema under it) take a second to import: only when exporting
        from seedbed.notebooks.export import export_script

        done = export_script(nb, output, profile, env)
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print(f"Wrote {done.script} and its job spec {done.spec}.")
    if done.commented:
        console.print(f"{done.commented} IPython-only lines (magics, shell escapes) commented out.")
    console.print("Submit it as a job:")
    typer.echo(done.submit)
