"""`seedbed feedback …`: reviewers' feedback on a model from the terminal."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from seedbed.cli_output import console, emit, fail
from seedbed.client import connect
from seedbed.client_feedback import FeedbackClient
from seedbed.errors import SeedbedError

app = typer.Typer(help="Reviewers' feedback on model predictions.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Model = Annotated[str, typer.Argument(help="Registered model name.")]


@app.command("list")
def list_feedback(
    name: Model,
    version: Annotated[int | None, typer.Option(help="Only this model version.")] = None,
    verdict: Annotated[str | None, typer.Option(help="right or wrong.")] = None,
    reviewer: Annotated[str | None, typer.Option(help="Only this reviewer.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many items.")] = 100,
    as_json: Json = False,
) -> None:
    """List feedback on a model, newest first.

    Example: seedbed feedback list flight-delay --verdict wrong
    """
    try:
        with connect() as ws:
            items = FeedbackClient(ws).list(
                name, limit=limit, version=version, verdict=verdict, reviewer=reviewer
            )
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        emit(items, True)
        return
    verdicts = {True: "right", False: "wrong", None: "—"}
    rows = [
        {
            "id": i["id"],
            "version": i["version"],
            "reviewer": i["reviewer"],
            "prediction": i["prediction"]["prediction"],
            "verdict": verdicts[i["correct"]],
            "label": i["label"] or "",
            "comment": i["comment"][:60],
        }
        for i in items
    ]
    emit(rows, False, f"Feedback on {name}")


@app.command("export")
def export(
    name: Model,
    dataset: Annotated[str, typer.Option("--name", "-n", help="Dataset to write.")],
    version: Annotated[int | None, typer.Option(help="Only feedback on this version.")] = None,
    as_json: Json = False,
) -> None:
    """Save a model's feedback as the next version of a dataset (identical content adds none).

    Example: seedbed feedback export flight-delay --name flight-delay-feedback
    """
    try:
        with connect() as ws:
            result = FeedbackClient(ws).export(name, dataset, version)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    saved = result["version"]
    if result["created"]:
        console.print(
            f"Saved {saved['rows']} feedback items as {saved['dataset']} v{saved['version']}."
        )
    else:
        console.print(
            f"The feedback is identical to {saved['dataset']} v{saved['version']}: no new version."
        )
