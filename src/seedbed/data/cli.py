"""`seedbed data …`: look at the warehouse from the terminal."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from seedbed.cli_output import console, emit, fail
from seedbed.client import connect
from seedbed.client_data import WithheldColumnsWarning
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


@app.command("upload")
def upload(
    file: Annotated[Path, typer.Argument(help="CSV, TSV, Parquet, JSON Lines or Excel file.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Dataset name.")],
    description: Annotated[str, typer.Option(help="What the data is.")] = "",
    parent: Annotated[
        list[str] | None,
        typer.Option(
            "--parent",
            help="A dataset this data was derived from, NAME or NAME@VERSION (repeatable): "
            "derived from restricted data, it is restricted until reviewed.",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Upload a file as the next version of a dataset (identical content adds none).
    The workspace's PII policy applies before it lands.

    Example: seedbed data upload features.csv --name features --parent customers@3
    """
    try:
        with connect() as ws:
            if as_json:
                result = ws.datasets.upload(file, name, description, parents=parent)
            else:
                with Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    console=console,
                ) as bar:
                    task = bar.add_task(
                        f"Uploading {file.name}",
                        total=file.stat().st_size if file.is_file() else None,
                    )
                    result = ws.datasets.upload(
                        file,
                        name,
                        description,
                        progress=lambda sent, total: bar.update(task, completed=sent),
                        parents=parent,
                    )
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    version = result["version"]
    if result["created"]:
        console.print(
            f"Published {name} v{version['version']}: {version['rows']:,} rows, "
            f"{len(version['columns'])} columns."
        )
    else:
        console.print(f"{name} v{version['version']} already holds this content; no new version.")


@app.command("list")
def list_datasets(as_json: Json = False) -> None:
    """List datasets with their latest version.

    Example: seedbed data list --json
    """
    try:
        with connect() as ws:
            found = ws.datasets.list()
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        emit(found, True)
        return
    emit(
        [
            {
                "name": d["name"],
                "versions": len(d["versions"]),
                "latest": d["versions"][0]["version"] if d["versions"] else "—",
                "rows": d["versions"][0]["rows"] if d["versions"] else "—",
                "updated": d["updated_at"],
            }
            for d in found
        ],
        False,
        "Datasets",
    )


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    version: Annotated[int | None, typer.Option(help="Version (default: latest).")] = None,
    as_json: Json = False,
) -> None:
    """Show a dataset: its versions, and the columns of one version with their statistics.

    Example: seedbed data show sales --version 2 --json
    """
    try:
        with connect() as ws:
            details = ws.datasets.show(name, version)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(details, indent=2, default=str))
        return
    emit(
        [
            {
                "version": v["version"],
                "rows": v["rows"],
                "source": v["source"],
                "quality": v["quality"],
                "author": v["author"],
            }
            for v in details["versions"]
        ],
        False,
        f"Versions of {name}",
    )
    emit(
        [
            {
                "column": c["name"],
                "type": c["type"],
                **{k: c[k] for k in ("null_share", "distinct_count", "min", "max") if k in c},
                "pii": f"{c['pii']['type']} ({c['pii']['action']})" if c.get("pii") else "",
            }
            for c in details["columns"]
        ],
        False,
        f"Columns of {name} v{details['version']}",
    )


@app.command("download")
def download(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Target file.")] = None,
    version: Annotated[int | None, typer.Option(help="Version (default: latest).")] = None,
) -> None:
    """Download a dataset version as a Parquet file.

    Example: seedbed data download sales -o sales.parquet
    """
    target = output or Path(f"{name}.parquet")
    try:
        with connect() as ws, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", WithheldColumnsWarning)
            ws.datasets.download(name, target, version)
    except SeedbedError as exc:
        raise fail(exc) from None
    for warning in caught:
        console.print(f"[yellow]{warning.message}[/yellow]")
    console.print(f"Saved {target}")


@app.command("review")
def review(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    version: Annotated[int, typer.Option(help="The restricted version.")],
    note: Annotated[str, typer.Option(help="What you checked (kept in the audit log).")] = "",
) -> None:
    """Lift the restriction of a version derived from restricted data (or whose PII scan
    failed) after checking it; needs the pii permission.

    Example: seedbed data review features --version 2 --note "ids and counts only"
    """
    try:
        with connect() as ws:
            reviewed = ws.datasets.review(name, version, note)
    except SeedbedError as exc:
        raise fail(exc) from None
    console.print(f"{name} v{version} reviewed by {reviewed['reviewed_by']}: no longer restricted.")
