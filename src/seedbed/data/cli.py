"""`seedbed data …`: look at the warehouse from the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from seedbed.cli_output import emit, fail
from seedbed.client import connect
from seedbed.errors import SeedbedError

app = typer.Typer(help="Warehouse tables and datasets.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("tables")
def tables(as_json: Json = False) -> None:
    """List warehouse tables.

    Example: seedbed data tables --json
    """
    try:
        with connect() as ws:
            rows = ws.tables().to_dict(orient="records")
    except SeedbedError as exc:
        raise fail(exc) from None
    emit(rows, as_json, "Tables")


@app.command("head")
def head(
    name: Annotated[str, typer.Argument(help="Table name.")],
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 10,
    as_json: Json = False,
) -> None:
    """Show the first rows of a table.

    Example: seedbed data head flights --limit 5
    """
    try:
        with connect() as ws:
            rows = ws.table(name, limit).to_dict(orient="records")
    except SeedbedError as exc:
        raise fail(exc) from None
    emit(rows, as_json, name)
