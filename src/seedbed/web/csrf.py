"""CSRF protection: a random token kept in the signed session, echoed by every unsafe request."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from seedbed.errors import Forbidden

SESSION_KEY = "csrf"
HEADER = "x-csrf-token"
FIELD = "csrf_token"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    session = request.scope.get("session")
    if session is None:
        return ""
    if SESSION_KEY not in session:
        session[SESSION_KEY] = secrets.token_urlsafe(32)
    token: str = session[SESSION_KEY]
    return token


def token_matches(request: Request, given: str | None) -> bool:
    expected = request.scope.get("session", {}).get(SESSION_KEY)
    return bool(expected and given and hmac.compare_digest(expected, given))


async def verify_csrf_form(request: Request) -> None:
    """Dependency for UI form posts: the form field or the header must carry the token."""
    given = request.headers.get(HEADER)
    if given is None:
        form = await request.form()
        field = form.get(FIELD)
        given = field if isinstance(field, str) else None
    if not token_matches(request, given):
        raise Forbidden(
            "This form has expired or did not come from seedbed (CSRF check failed). "
            "Reload the page and submit it again."
        )
