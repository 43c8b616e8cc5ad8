"""How CLI commands print: a Rich table for people, JSON with --json for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from seedbed.errors import SeedbedError

console = Console()
errors = Console(stderr=True)


def emit(rows: Sequence[dict[str, Any]], as_json: bool, title: str = "") -> None:
    if as_json:
        typer.echo(json.dumps(list(rows), indent=2, default=str))
        return
    if not rows:
        console.print(f"[dim]No {title.lower() or 'results'}.[/dim]")
        return
    table = Table(title=title or None)
    for column in rows[0]:
        table.add_column(str(column))
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


def fail(error: SeedbedError | OSError) -> typer.Exit:
    """Print an error the way users should see it and return the exit to raise."""
    errors.print(f"[bold red]Error:[/bold red] {error}")
    return typer.Exit(code=1)
