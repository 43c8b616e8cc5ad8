"""The error types every service raises; the web layer maps them to HTTP status codes."""

from __future__ import annotations


class SeedbedError(Exception):
    """Base of all errors seedbed raises on purpose. The message tells the user what to do."""

    status_code = 500
    code = "error"


class Invalid(SeedbedError):
    """The caller gave bad input."""

    status_code = 400
    code = "invalid"


class Unauthorized(SeedbedError):
    """No valid credentials were given."""

    status_code = 401
    code = "unauthorized"


class Forbidden(SeedbedError):
    """Valid credentials, but not allowed to do this."""

    status_code = 403
    code = "forbidden"


class NotFound(SeedbedError):
    """The named thing does not exist."""

    status_code = 404
    code = "not_found"


class Conflict(SeedbedError):
    """The request clashes with the current state (a name taken, a server already running)."""

    status_code = 409
    code = "conflict"


class ServerNotFound(SeedbedError):
    """The SDK or CLI could not reach a seedbed server."""

    code = "server_not_found"


class TooLarge(Invalid):
    """An upload is bigger than the configured limit."""

    status_code = 413
    code = "too_large"


class TooManyRequests(SeedbedError):
    """The caller tried too often (failed logins); it may try again later."""

    status_code = 429
    code = "too_many_requests"
