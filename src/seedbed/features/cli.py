"""`seedbed features …`: apply definitions, browse the catalog, build training sets."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from seedbed.cli_output import console, emit, fail
from seedbed.client import DEFAULT_WORKSPACE, connect
from seedbed.errors import SeedbedError

app = typer.Typer(
    help="Feature store: shared definitions, point-in-time training sets, online lookups.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def default_folder() -> Path:
    """./features, else the features/ folder of the local workspace."""
    here = Path("features")
    if here.exists():
        return here
    workspace = Path(os.environ.get("SEEDBED_WORKSPACE") or DEFAULT_WORKSPACE)
    return workspace / "features"


@app.command("apply")
def apply(
    path: Annotated[
        Path | None,
        typer.Argument(help="A definitions file or folder (default: ./features)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and show the changes only.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Validate the definitions in features/*.py, show what changes, register a new version.

    Example: seedbed features apply workspace/features --dry-run
    """
    try:
        with connect() as ws:
            result = ws.features.apply(path or default_folder(), dry_run=dry_run)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for change in result["changes"]:
        colour = {"+": "green", "-": "red"}.get(change[:1], "yellow")
        console.print(f"[{colour}]{change}[/{colour}]")
    if dry_run:
        console.print(f"Dry run: {len(result['changes'])} change(s), nothing registered.")
    elif result["version"] is None:
        console.print(f"No changes: version {result['current']} stays current.")
    else:
        console.print(f"Registered feature definitions version {result['version']}.")


@app.command("list")
def list_features(as_json: Json = False) -> None:
    """List every registered feature: view:name, kind, type, entities.

    Example: seedbed features list --json
    """
    try:
        with connect() as ws:
            frame = ws.features.list()
    except SeedbedError as exc:
        raise fail(exc) from None
    emit(frame.to_dict(orient="records"), as_json, "Features")


@app.command("show")
def show(
    view: Annotated[str, typer.Argument(help="A feature view's name.")], as_json: Json = False
) -> None:
    """Show one feature view: entities, source, ttl, features with their definitions.

    Example: seedbed features show weather
    """
    try:
        with connect() as ws:
            catalog = ws.features.catalog()
    except SeedbedError as exc:
        raise fail(exc) from None
    found = {v["name"]: v for v in catalog["views"]}
    if view not in found:
        known = ", ".join(found) or "none registered"
        raise fail(SeedbedError(f"No feature view {view!r} (views: {known}).")) from None
    data = found[view]
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    source = data["source"]
    for label, value in (
        ("view", data["name"]),
        ("entities", ", ".join(data["entities"]) + f" (keys {', '.join(data['join_keys'])})"),
        (
            "source",
            f"table {source['table']}" if source["table"] else f"dataset {source['dataset']}",
        ),
        ("event time", source["timestamp"] or "— (static)"),
        ("created", source["created"] or "—"),
        ("ttl", data["ttl"] or "—"),
        ("owner", data["owner"] or "—"),
    ):
        console.print(f"[bold]{label:>10}[/bold]  {value}")
    emit([_feature_row(f) for f in data["features"]], False, "Features")


def _feature_row(feature: dict[str, Any]) -> dict[str, Any]:
    if feature["kind"] == "aggregate":
        window = feature["window_s"]
        definition = f"{feature['function']}({feature['column'] or '*'}) over {window:g}s"
    elif feature["kind"] == "derived":
        definition = feature["expression"]
    else:
        definition = feature["column"]
    return {
        "name": feature["name"],
        "kind": feature["kind"],
        "type": feature.get("dtype", ""),
        "definition": definition,
    }


@app.command("training-set")
def training_set(
    entity_dataset: Annotated[
        str, typer.Argument(help="Dataset of entity rows: NAME or NAME@VERSION.")
    ],
    features: Annotated[
        list[str], typer.Option("--feature", "-f", help="view:feature or view; repeat it.")
    ],
    name: Annotated[str, typer.Option(help="Dataset to save it as.")] = "training-set",
    label: Annotated[str | None, typer.Option(help="The label column, put last.")] = None,
    timestamp: Annotated[str | None, typer.Option(help="The rows' time column.")] = None,
    as_json: Json = False,
) -> None:
    """Build a point-in-time training set from a dataset of entity rows and save it.

    Example: seedbed features training-set flights-sample -f weather -f carrier_delays
    """
    try:
        with connect() as ws:
            frame = ws.features.training_set(
                entity_dataset, features, label=label, timestamp=timestamp, name=name
            )
    except SeedbedError as exc:
        raise fail(exc) from None
    saved = frame.attrs.get("seedbed.dataset")
    if as_json:
        typer.echo(json.dumps({"dataset": saved, "rows": len(frame), "columns": list(frame)}))
    else:
        console.print(f"Saved {len(frame):,} rows, {frame.shape[1]} columns, as {saved}.")


Views = Annotated[
    list[str] | None,
    typer.Option("--view", help="A feature view's name; repeat it (default: all)."),
]


@app.command("materialize")
def materialize(
    views: Views = None,
    incremental: Annotated[
        bool,
        typer.Option("--incremental", help="Recompute only keys that changed since the last run."),
    ] = False,
    as_json: Json = False,
) -> None:
    """Write each entity's latest values and current window aggregates to the online store.

    Example: seedbed features materialize --incremental --view weather
    """
    try:
        with connect() as ws:
            done = ws.features.materialize(views, incremental=incremental)
    except SeedbedError as exc:
        raise fail(exc) from None
    emit(done, as_json, "Materialized")


@app.command("check")
def check(views: Views = None, as_json: Json = False) -> None:
    """Recompute offline what the online store serves and list every mismatch (exit 1 if any).

    Example: seedbed features check --view weather --json
    """
    try:
        with connect() as ws:
            report = ws.features.check(views)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        for warning in report["warnings"]:
            console.print(f"[yellow]{warning}[/yellow]")
        emit(report["views"], False, "Views checked")
        if report["mismatches"]:
            emit(report["mismatches"], False, "Mismatches")
        else:
            console.print("Online and offline values agree.")
    if report["mismatches"]:
        raise typer.Exit(code=1)
