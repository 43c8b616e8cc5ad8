"""`seedbed privacy …`: the PII policy of the workspace or a dataset, and the token vault."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from seedbed.cli_output import console, emit, fail
from seedbed.client import connect
from seedbed.errors import SeedbedError

app = typer.Typer(help="PII policies and tokens.", no_args_is_help=True)
policy_app = typer.Typer(help="What ingest does with each PII type.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Dataset = Annotated[
    str | None, typer.Option("--dataset", "-d", help="A dataset's own policy (default: workspace).")
]


@policy_app.command("show")
def show(dataset: Dataset = None, as_json: Json = False) -> None:
    """Show the action for each PII type.

    Example: seedbed privacy policy show --dataset customers
    """
    try:
        with connect() as ws:
            rules = ws.datasets.policy(dataset)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(rules, indent=2))
        return
    title = f"PII policy of {dataset}" if dataset else "Workspace PII policy"
    emit([{"pii type": t, "action": a} for t, a in rules.items()], False, title)


@policy_app.command("set")
def set_rule(
    pii_type: Annotated[str, typer.Argument(help="A PII type, such as email or payment_card.")],
    action: Annotated[
        str,
        typer.Argument(
            help="block, drop, mask, hash, tokenize, restrict or allow; 'inherit' removes the rule."
        ),
    ],
    dataset: Dataset = None,
) -> None:
    """Choose what ingest does with one PII type (admins). Applies to new versions.

    Example: seedbed privacy policy set email hash --dataset customers
    """
    try:
        with connect() as ws:
            rules = ws.datasets.set_policy(
                {pii_type: None if action == "inherit" else action}, dataset
            )
    except SeedbedError as exc:
        raise fail(exc) from None
    where = dataset or "the workspace"
    console.print(f"{pii_type} in {where}: {rules[pii_type]} (for versions published from now on)")


@app.command("detokenize")
def detokenize(
    tokens: Annotated[
        list[str] | None, typer.Argument(help="Tokens (tok_…); '-' or none reads stdin.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Turn tokens back into their values (needs the pii permission; audited).

    Example: seedbed privacy detokenize tok_1a2b3c…
    """
    wanted = [t for t in (tokens or []) if t != "-"]
    if not wanted:
        wanted = [line.strip() for line in sys.stdin if line.strip()]
    try:
        with connect() as ws:
            found = ws.datasets.detokenize(wanted)
    except SeedbedError as exc:
        raise fail(exc) from None
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    emit(
        [{"token": t, "value": v if v is not None else "(unknown)"} for t, v in found.items()],
        False,
    )
