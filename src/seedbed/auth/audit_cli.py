"""`seedbed audit …`: read and export the audit log through the running server (admins only)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from seedbed.cli_output import emit, fail
from seedbed.errors import SeedbedError

app = typer.Typer(help="The audit log: who did what, when (admins).", no_args_is_help=True)
User = Annotated[str | None, typer.Option("--user", help="Only this user's events.")]
Action = Annotated[
    str | None, typer.Option("--action", help="Only actions starting with this, e.g. user.")
]
Since = Annotated[
    str | None, typer.Option("--since", help="From this ISO date or time (UTC), inclusive.")
]
Until = Annotated[
    str | None, typer.Option("--until", help="Up to this ISO date (inclusive) or time.")
]


def _filters(user: str | None, action: str | None, since: str | None, until: str | None) -> Any:
    given = {"user": user, "action": action, "since": since, "until": until}
    return {key: value for key, value in given.items() if value is not None}


@app.command("list")
def list_events(
    user: User = None,
    action: Action = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, typer.Option(help="At most this many events (1 to 1000).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List audit events, newest first.

    Example: seedbed audit list --action user. --since 2026-11-01 --json
    """
    from seedbed.client import connect
    from seedbed.web.templating import format_ms

    params = _filters(user, action, since, until) | {"limit": limit}
    try:
        with connect() as client:
            events = client.request("GET", "/api/v1/audit", params=params).json()["events"]
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        emit(events, True)
        return
    rows = [
        {
            "time": format_ms(e["at"]),
            "user": e["username"] or "—",
            "action": e["action"],
            "target": e["target"],
            "detail": ", ".join(f"{k}={v}" for k, v in e["detail"].items()),
        }
        for e in events
    ]
    emit(rows, False, "Events")


@app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    user: User = None,
    action: Action = None,
    since: Since = None,
    until: Until = None,
) -> None:
    """Export matching audit events as CSV or JSON Lines, streamed, newest first.

    Example: seedbed audit export --format csv -o audit.csv
    """
    from seedbed.client import connect

    params = _filters(user, action, since, until) | {"format": fmt}
    try:
        with connect() as client, client.stream("GET", "/api/v1/audit/export", params=params) as r:
            # The file opens only once the server has accepted the filters.
            if output is None:
                _copy(r.iter_text(), sys.stdout)
            else:
                with output.open("w", encoding="utf-8", newline="") as out:
                    _copy(r.iter_text(), out)
    except (SeedbedError, OSError) as exc:
        raise fail(exc) from None


def _copy(chunks: Iterator[str], out: TextIO) -> None:
    for chunk in chunks:
        out.write(chunk)
