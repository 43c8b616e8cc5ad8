"""Share links: a signed, expiring, revocable link to one model's demo page, reviewer rights only.

A link's URL carries its id signed with the workspace's secret (itsdangerous), so a link cannot
be forged or pointed at another id; the row in `share_links` says which model and reference it
opens, until when, and whether it was revoked. Every visit is checked again (`verify`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer
from sqlalchemy import RowMapping, select

from seedbed.apps.tables import share_links
from seedbed.auth import audit
from seedbed.auth.signing import session_secret
from seedbed.db import now_ms
from seedbed.errors import Forbidden, Invalid, NotFound
from seedbed.registry.models import ModelVersion, get_model, resolve
from seedbed.workspace import Workspace

SALT = "seedbed.share-link"
EXPIRY = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
MAX_EXPIRY_MS = 90 * 86_400_000
NOTE_MAX = 200


@dataclass(frozen=True)
class ShareLink:
    id: str
    model_name: str
    reference: str  # a version number or an alias, resolved on every visit
    note: str
    created_by: str
    created_at: int
    expires_at: int
    revoked_at: int | None

    def status(self, at: int | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if (at or now_ms()) >= self.expires_at else "active"


class LinkRefused(Forbidden):
    """A share link that is forged, expired, revoked, or whose model is gone."""


def parse_expiry(text: str) -> int:
    """ "30m", "12h", "7d" or "2w" as milliseconds; at most 90 days."""
    match = EXPIRY.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise Invalid(
            f"Expiry {text!r} is not a duration: give a number and a unit, e.g. 30m, 12h, 7d or 2w."
        )
    duration = int(match.group(1)) * UNIT_MS[match.group(2)]
    if duration > MAX_EXPIRY_MS:
        raise Invalid(f"Expiry {text!r} is too long: a share link lasts at most 90 days.")
    return duration


def signer(workspace: Workspace) -> Signer:
    # The session cookie's key: rotating it (deleting the key file) also ends every link.
    return Signer(session_secret(workspace), salt=SALT)


def token_for(workspace: Workspace, link_id: str) -> str:
    """The secret part of the link's URL: /share/{token}."""
    return signer(workspace).sign(link_id).decode()


def create(
    workspace: Workspace, model_name: str, reference: str, expires: str, note: str, user: str
) -> tuple[ShareLink, str]:
    """A new link to `model_name`@`reference` (which must exist now); returns it and its token."""
    duration = parse_expiry(expires)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise Invalid(f"The note is {len(note)} characters; keep it to {NOTE_MAX}.")
    reference = str(reference).strip() or "champion"
    version = resolve(workspace, model_name, reference)
    created = now_ms()
    link = ShareLink(
        id=secrets.token_hex(16),
        model_name=model_name,
        reference=reference,
        note=note,
        created_by=user,
        created_at=created,
        expires_at=created + duration,
        revoked_at=None,
    )
    with workspace.engine.begin() as connection:
        connection.execute(share_links.insert().values(**link.__dict__))
        audit.append(
            connection,
            user,
            "share_link.create",
            f"{model_name}@{reference}",
            link=link.id,
            version=version.version,
            expires_at=link.expires_at,
            note=note,
        )
    return link, token_for(workspace, link.id)


def list_links(workspace: Workspace, model_name: str) -> list[ShareLink]:
    """A model's links, newest first, revoked and expired ones included."""
    get_model(workspace, model_name)  # NotFound for a model that does not exist
    query = (
        select(share_links)
        .where(share_links.c.model_name == model_name)
        .order_by(share_links.c.created_at.desc())
    )
    with workspace.engine.connect() as connection:
        return [_link(row) for row in connection.execute(query).mappings()]


def get_link(workspace: Workspace, link_id: str) -> ShareLink:
    with workspace.engine.connect() as connection:
        row = (
            connection.execute(select(share_links).where(share_links.c.id == link_id))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"No share link {link_id!r}; `seedbed share list MODEL` shows them.")
    return _link(row)


def revoke(workspace: Workspace, link_id: str, user: str) -> ShareLink:
    """End a link now; revoking a revoked link changes nothing."""
    link = get_link(workspace, link_id)
    if link.revoked_at is not None:
        return link
    revoked = now_ms()
    with workspace.engine.begin() as connection:
        connection.execute(
            share_links.update()
            .where(share_links.c.id == link_id, share_links.c.revoked_at.is_(None))
            .values(revoked_at=revoked)
        )
        audit.append(
            connection,
            user,
            "share_link.revoke",
            f"{link.model_name}@{link.reference}",
            link=link.id,
        )
    return get_link(workspace, link_id)


def verify(workspace: Workspace, token: str) -> tuple[ShareLink, ModelVersion]:
    """The link and the model version a visitor may use; LinkRefused (403) otherwise."""
    try:
        link_id = signer(workspace).unsign(token).decode()
    except (BadSignature, UnicodeDecodeError):
        raise LinkRefused("This share link is not valid: check that it was copied whole.") from None
    try:
        link = get_link(workspace, link_id)
    except NotFound:
        raise LinkRefused("This share link no longer exists.") from None
    status = link.status()
    if status != "active":
        raise LinkRefused(
            f"This share link was {status}. Ask the person who shared it for a new one."
        )
    try:
        version = resolve(workspace, link.model_name, link.reference)
    except NotFound:
        raise LinkRefused(
            f"The model this link shared ({link.model_name}@{link.reference}) is no longer "
            "there. Ask the person who shared it for a new link."
        ) from None
    return link, version


def _link(row: RowMapping) -> ShareLink:
    return ShareLink(
        id=row["id"],
        model_name=row["model_name"],
        reference=row["reference"],
        note=row["note"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )
