"""`seedbed models …`: registered models and predictions from the terminal."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from seedbed.cli_output import emit, fail
from seedbed.client import connect
from seedbed.errors import Invalid, SeedbedError

app = typer.Typer(help="Registered models.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("list")
def list_models(as_json: Json = False) -> None:
    """List registered models with their latest version and aliases.

    Example: seedbed models list
    """
    try:
        with connect() as ws:
            models = ws.models.list()
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        emit(models, True)
        return
    emit(
        [
            {
                "name": m["name"],
                "latest": m["latest_version"],
                "aliases": ", ".join(f"{a}→v{v}" for a, v in m["aliases"].items()),
            }
            for m in models
        ],
        False,
        "Models",
    )


@app.command("predict")
def predict(
    name: Annotated[str, typer.Argument(help="Model name.")],
    row: Annotated[str, typer.Argument(help='One input row as JSON, e.g. \'{"origin": "JFK"}\'.')],
    version: Annotated[str, typer.Option(help="Version number, 'latest' or alias.")] = "champion",
) -> None:
    """Score one row with a registered model; prints JSON.

    Numbers left out count as missing values.

    Example: seedbed models predict flight-delay '{"carrier": "UA", "origin": "EWR", "month": 12, "weekday": 5, "sched_hour": 18}'
    """  # noqa: E501
    try:
        values = json.loads(row)
        if not isinstance(values, dict):
            raise Invalid("The row must be a JSON object of field: value pairs.")
        with connect() as ws:
            result = ws.models.predict(name, [values], version=version)
    except json.JSONDecodeError as exc:
        raise fail(Invalid(f"The row is not valid JSON: {exc}.")) from None
    except SeedbedError as exc:
        raise fail(exc) from None
    typer.echo(json.dumps(result[0], indent=2))
