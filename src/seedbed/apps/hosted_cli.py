"""`seedbed apps …`: serve a Streamlit script as a hosted app, list, stop, restart, logs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from seedbed.cli_output import console, emit, fail
from seedbed.client import connect
from seedbed.client_apps import AppsClient
from seedbed.errors import Invalid, SeedbedError

app = typer.Typer(
    help="Hosted apps: Streamlit scripts served at /apps/NAME/ behind seedbed's login.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Name = Annotated[str, typer.Argument(help="The app's name, as `seedbed apps list` shows it.")]


def _row(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": a["name"],
        "status": a["status"],
        "started by": a["started_by"],
        "url": a["url"] if a["status"] == "running" else "",
    }


def _default_name(script: Path) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", script.stem.lower()).strip("-")


@app.command("serve")
def serve(
    script: Annotated[Path, typer.Argument(help="The Streamlit script (e.g. app.py).")],
    name: Annotated[
        str, typer.Option("--name", help="The app's name: /apps/NAME/ (default: the file's).")
    ] = "",
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a running app of that name.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Send a Streamlit script to the server and run it; waits until it answers.

    Example: seedbed apps serve app.py --name delays
    """
    try:
        if not script.is_file():
            raise Invalid(f"{script} is not a file: give the path of a Streamlit script.")
        with connect() as ws:
            served = AppsClient(ws).serve(script, name or _default_name(script), replace)
    except (SeedbedError, OSError) as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(served, indent=2))
    else:
        console.print(f"App {served['name']} is running: {served['url']}")


@app.command("list")
def list_apps(as_json: Json = False) -> None:
    """The hosted apps, their status and where they answer.

    Example: seedbed apps list
    """
    try:
        with connect() as ws:
            apps = AppsClient(ws).list()
    except SeedbedError as exc:
        raise fail(exc) from None
    emit(apps if as_json else [_row(a) for a in apps], as_json, "Apps")


@app.command("stop")
def stop(name: Name, as_json: Json = False) -> None:
    """Stop an app (its token is revoked); `seedbed apps restart` starts it again.

    Example: seedbed apps stop delays
    """
    try:
        with connect() as ws:
            stopped = AppsClient(ws).stop(name)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(stopped, indent=2))
    else:
        console.print(f"App {name} stopped.")


@app.command("restart")
def restart(name: Name) -> None:
    """Start an app again from the script it was served with.

    Example: seedbed apps restart delays
    """
    try:
        with connect() as ws:
            started = AppsClient(ws).restart(name)
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print(f"App {name} is running: {started['url']}")


@app.command("delete")
def delete(name: Name) -> None:
    """Stop an app and forget it (its script too).

    Example: seedbed apps delete delays
    """
    try:
        with connect() as ws:
            AppsClient(ws).delete(name)
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print(f"App {name} deleted.")


@app.command("logs")
def logs(
    name: Name,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines.")] = 200,
) -> None:
    """The app's last output lines: streamlit's, and the script's tracebacks.

    Example: seedbed apps logs delays
    """
    try:
        with connect() as ws:
            text = AppsClient(ws).logs(name, lines)
    except SeedbedError as exc:
        raise fail(exc) from None
    typer.echo(text, nl=False)
