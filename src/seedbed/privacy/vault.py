"""The token vault: turn tokens made by the `tokenize` action back into their values, for
users with the `pii` permission only, each lookup written to the audit log."""

from __future__ import annotations

from sqlalchemy import select

from seedbed.auth import audit
from seedbed.auth.permissions import require
from seedbed.auth.users import User
from seedbed.data.secrets import secret_box
from seedbed.errors import Invalid
from seedbed.privacy.tables import pii_tokens
from seedbed.workspace import Workspace

MAX_TOKENS = 10_000


def detokenize(workspace: Workspace, user: User, tokens: list[str]) -> dict[str, str | None]:
    """Each token's original value; None for a token the vault does not hold."""
    require(user, "read_pii")
    if len(tokens) > MAX_TOKENS:
        raise Invalid(f"Give at most {MAX_TOKENS:,} tokens at a time ({len(tokens):,} given).")
    wanted = sorted(set(tokens))
    found: dict[str, str] = {}
    with workspace.engine.connect() as connection:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = connection.execute(
                select(pii_tokens.c.token, pii_tokens.c.ciphertext).where(
                    pii_tokens.c.token.in_(chunk)
                )
            ).all()
            found.update({token: ciphertext for token, ciphertext in rows})
    box = secret_box(workspace)
    audit.record(workspace, user.username, "privacy.detokenize", "", tokens=len(wanted))
    return {token: box.decrypt(found[token]) if token in found else None for token in tokens}
