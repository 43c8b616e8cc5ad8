"""`seedbed share …`: create, list and revoke share links through the running server."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from seedbed.cli_output import emit, fail
from seedbed.errors import Invalid, SeedbedError

app = typer.Typer(
    help="Share links: a model's demo page for reviewers without an account.",
    no_args_is_help=True,
)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _call(method: str, path: str, **kwargs: Any) -> Any:
    from seedbed.client import connect

    try:
        with connect() as client:
            return client.request(method, path, **kwargs).json()
    except SeedbedError as exc:
        raise fail(exc) from None


def _row(link: dict[str, Any]) -> dict[str, Any]:
    from seedbed.web.templating import format_ms

    return {
        "id": link["id"],
        "opens": f"{link['model']}@{link['reference']}",
        "status": link["status"],
        "expires": format_ms(link["expires_at"]),
        "by": link["created_by"],
        "note": link["note"],
        "url": link["url"] if link["status"] == "active" else "",
    }


@app.command("create")
def create(
    target: Annotated[
        str, typer.Argument(help="MODEL@ALIAS or MODEL@VERSION (MODEL alone: @champion).")
    ],
    expires: Annotated[
        str, typer.Option("--expires", help="30m, 12h, 7d or 2w (at most 90 days).")
    ] = "7d",
    note: Annotated[str, typer.Option("--note", help="Who or what the link is for.")] = "",
    as_json: Json = False,
) -> None:
    """Create a signed, expiring link to a model's demo page (reviewer rights only); prints its URL.

    Example: seedbed share create flight-delay@champion --expires 7d --note "ops team"
    """
    name, _, reference = target.partition("@")
    if not name:
        raise fail(
            Invalid(f"{target!r} names no model: give MODEL@ALIAS, e.g. flight-delay@champion.")
        )
    body = {"reference": reference or "champion", "expires": expires, "note": note}
    link = _call("POST", f"/api/v1/models/{name}/share-links", json=body)
    if as_json:
        emit([link], True)
        return
    typer.echo(link["url"])
    typer.echo(
        f"Opens {name}@{link['reference']} until {_row(link)['expires']}; id {link['id']}.",
        err=True,
    )


@app.command("list")
def list_links(
    name: Annotated[str, typer.Argument(help="The model.")],
    as_json: Json = False,
) -> None:
    """List a model's share links, newest first, with their status.

    Example: seedbed share list flight-delay --json
    """
    links = _call("GET", f"/api/v1/models/{name}/share-links")["links"]
    emit(links if as_json else [_row(link) for link in links], as_json, "Share links")


@app.command("revoke")
def revoke(
    link_id: Annotated[str, typer.Argument(help="The link's id (see `seedbed share list`).")],
    as_json: Json = False,
) -> None:
    """Revoke a share link: its next visit gets a "link revoked" page.

    Example: seedbed share revoke 3f2a9c0d4b1e4f6a8c7d5e3b2a1f0e9d
    """
    link = _call("DELETE", f"/api/v1/share-links/{link_id}")
    if as_json:
        emit([link], True)
        return
    typer.echo(f"Revoked share link {link['id']} ({link['model']}@{link['reference']}).")
