"""`seedbed runs …`: experiments and runs from the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from seedbed.cli_output import emit, fail
from seedbed.client import connect
from seedbed.errors import SeedbedError

app = typer.Typer(help="Experiments and runs.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("experiments")
def experiments(as_json: Json = False) -> None:
    """List experiments.

    Example: seedbed runs experiments
    """
    try:
        with connect() as ws:
            rows = ws.experiments().to_dict(orient="records")
    except SeedbedError as exc:
        raise fail(exc) from None
    emit(
        [{k: r[k] for k in ("id", "name", "run_count")} for r in rows] if not as_json else rows,
        as_json,
        "Experiments",
    )


@app.command("list")
def list_runs(
    experiment: Annotated[str, typer.Argument(help="Experiment name.")], as_json: Json = False
) -> None:
    """List the runs of an experiment with their latest metrics.

    Example: seedbed runs list flight-delays --json
    """
    try:
        with connect() as ws:
            runs = ws.runs(experiment)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        emit(runs, True)
        return
    emit(
        [
            {
                "id": r["id"][:8],
                "name": r["name"],
                "status": r["status"],
                **{k: f"{v:.4g}" for k, v in sorted(r["metrics"].items())},
            }
            for r in runs
        ],
        False,
        f"Runs of {experiment}",
    )
