"""`seedbed env …`: the workspace's Python environments, managed with uv."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from seedbed.cli_output import console, emit, fail
from seedbed.client import connect
from seedbed.errors import SeedbedError

app = typer.Typer(help="Python environments (uv): packages, lock files.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Env = Annotated[str, typer.Option("--env", "-e", help="The environment (default: default).")]


def _call(method: str, path: str, **body: Any) -> dict[str, Any]:
    try:
        with connect() as ws:
            answer: dict[str, Any] = ws.request(method, path, **body).json()
    except SeedbedError as exc:
        raise fail(exc) from None
    return answer


@app.command("list")
def list_environments(
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Show one environment's packages.")
    ] = None,
    as_json: Json = False,
) -> None:
    """List the environments, or one environment's packages.

    Example: seedbed env list --env default --json
    """
    if env is None:
        try:
            with connect() as ws:
                found = ws.request("GET", "/api/v1/environments").json()
        except SeedbedError as exc:
            raise fail(exc) from None
        rows = [
            {
                "name": e["name"],
                "added": ", ".join(e["requirements"]) or "—",
                "lock": (e["lock_hash"] or "")[:12],
            }
            for e in found
        ]
        emit(found if as_json else rows, as_json, "Environments")
        return
    shown = _call("GET", f"/api/v1/environments/{env}")
    rows = [
        {"package": p["name"], "version": p["version"], "from": "env" if p["own"] else "server"}
        for p in shown["packages"]
    ]
    emit(shown["packages"] if as_json else rows, as_json, f"Packages of {env}")


@app.command("create")
def create(name: Annotated[str, typer.Argument(help="Environment name.")]) -> None:
    """Make an environment over the server's Python.

    Example: seedbed env create gpu-work
    """
    made = _call("POST", "/api/v1/environments", json={"name": name})
    console.print(f"Environment {made['name']}: {made['python']}")


@app.command("add")
def add(
    package: Annotated[str, typer.Argument(help="NAME or NAME==VERSION.")],
    env: Env = "default",
) -> None:
    """Install a package into an environment and record it (requirements.in, lock).

    Example: seedbed env add lightgbm==4.5.0 --env default
    """
    with console.status(f"Installing {package} into {env}…"):
        made = _call("POST", f"/api/v1/environments/{env}/packages", json={"spec": package})
    console.print(f"{env}: added {package} (lock {(made['lock_hash'] or '')[:12]}).")


@app.command("remove")
def remove(
    package: Annotated[str, typer.Argument(help="A package the environment added.")],
    env: Env = "default",
) -> None:
    """Uninstall a package an environment added.

    Example: seedbed env remove lightgbm
    """
    made = _call("DELETE", f"/api/v1/environments/{env}/packages/{package}")
    console.print(f"{env}: removed {package} (lock {(made['lock_hash'] or '')[:12]}).")


@app.command("lock")
def lock(env: Env = "default") -> None:
    """Write the environment's lock file: every distribution it has, name==version.

    Example: seedbed env lock --env default
    """
    made = _call("POST", f"/api/v1/environments/{env}/lock")
    console.print(f"{env}: lock {made['lock_hash']}")


@app.command("sync")
def sync(env: Env = "default", as_json: Json = False) -> None:
    """Make an environment match its lock file.

    Example: seedbed env sync --env default
    """
    made = _call("POST", f"/api/v1/environments/{env}/sync")
    if as_json:
        typer.echo(json.dumps(made, indent=2))
        return
    console.print(f"{env}: " + ("; ".join(made["changed"]) or "already matches its lock file."))
