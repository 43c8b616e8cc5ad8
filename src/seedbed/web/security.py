"""Who is calling: bearer tokens for clients, the session cookie for browsers; safe headers."""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seedbed.auth import tokens, users
from seedbed.web.csrf import HEADER, SESSION_KEY
from seedbed.workspace import Workspace

# /version is public as on an MLflow server: clients probe it before they authenticate.
PUBLIC_PATHS = ("/health", "/version", "/login", "/favicon.ico")
# /share/ pages check their own signed link (seedbed.apps.share_routes), not a login.
PUBLIC_PREFIXES = ("/static/", "/vendor/", "/share/")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SESSION_USER = "user_id"
SESSION_STAMP = "stamp"  # users.session_stamp: ends the session when the user changes
SESSION_TOKEN = "token_id"  # a session started with a token ends when the token does

HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    ),
]


# Hosted apps (seedbed.apps.hosted) run their own front end: Streamlit's page has an inline
# script and its components live in same-origin iframes, so under /apps/ the app's own headers
# hold and ours only add what breaks nothing (see docs/hosted-apps.md for the trade-off).
APP_PREFIX = "/apps/"
APP_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy", b"frame-ancestors 'self'; form-action 'self'"),
]


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


# Paths that speak MLflow's wire protocol, errors included ("/ajax-api" is what MLflow's UI uses).
MLFLOW_PREFIXES = ("/api/2.0/mlflow", "/api/3.0/mlflow", "/ajax-api/")
# How seedbed's error kinds read in MLflow's words: HTTP status -> MLflow error_code.
MLFLOW_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "RESOURCE_ALREADY_EXISTS",
    413: "INVALID_PARAMETER_VALUE",
    422: "INVALID_PARAMETER_VALUE",
}
# MLflow answers these codes with a status of its own: a name clash is a 400, not a 409.
MLFLOW_STATUS = {"RESOURCE_ALREADY_EXISTS": 400, "INVALID_PARAMETER_VALUE": 400, "BAD_REQUEST": 400}


def is_api(path: str) -> bool:
    return path.startswith(("/api/", "/ajax-api/"))


def is_mlflow(path: str) -> bool:
    return path.startswith(MLFLOW_PREFIXES)


def error_body(
    path: str, status: int, code: str, message: str, mlflow_code: str | None = None
) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of an API error: MLflow's shape on MLflow paths, else seedbed's."""
    if not is_mlflow(path):
        return status, {"error": {"code": code, "message": message}}
    if mlflow_code is None:
        mlflow_code = MLFLOW_CODES.get(status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST")
    if status != 413:  # too large stays 413 so that no client retries the upload
        status = MLFLOW_STATUS.get(mlflow_code, status)
    return status, {"error_code": mlflow_code, "message": message}


class AuthMiddleware:
    """Puts the caller on `request.state.user`; refuses everything but public paths without one.

    Runs inside SessionMiddleware. API calls get a 401 JSON answer, pages a redirect to /login.
    Cookie-authenticated unsafe API calls must also carry the CSRF header.
    """

    def __init__(self, app: ASGIApp, workspace: Workspace) -> None:
        self.app = app
        self.workspace = workspace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await self._websocket(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        user, via_cookie = self._authenticate(scope, headers)
        scope.setdefault("state", {})["user"] = user
        if user is None and not is_public(path):
            if is_api(path):
                await _json(
                    send,
                    path,
                    401,
                    "unauthorized",
                    "Log in first: send 'Authorization: Bearer TOKEN' (the token "
                    "`seedbed up` printed, or one from Admin → Tokens).",
                )
            else:
                target = path + (
                    f"?{scope['query_string'].decode()}" if scope.get("query_string") else ""
                )
                await _redirect(send, f"/login?next={quote(target, safe='')}")
            return
        if (
            via_cookie
            and is_api(path)
            and scope["method"] not in SAFE_METHODS
            and not _csrf_matches(scope["session"].get(SESSION_KEY), headers.get(HEADER))
        ):
            await _json(
                send,
                path,
                403,
                "forbidden",
                f"Browser API calls must send the {HEADER} header (CSRF protection).",
            )
            return
        await self.app(scope, receive, _with_headers(send, path.startswith(APP_PREFIX)))

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A websocket needs a user, and when the browser's cookie brings that user, an Origin
        of this server: another site's page must not open one in its visitor's name."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        user, via_cookie = self._authenticate(scope, headers)
        scope.setdefault("state", {})["user"] = user
        if user is None:
            await _refuse_websocket(receive, send, "Log in first.")
        elif via_cookie and not self._same_origin(headers):
            await _refuse_websocket(receive, send, "Cross-site websocket refused.")
        else:
            await self.app(scope, receive, send)

    def _same_origin(self, headers: dict[str, str]) -> bool:
        origin = headers.get("origin")
        if origin is None:  # browsers always send one; other clients hijack nobody
            return True
        netloc = urlsplit(origin).netloc
        public = self.workspace.settings.public_url
        return netloc == headers.get("host") or bool(public and netloc == urlsplit(public).netloc)

    def _authenticate(self, scope: Scope, headers: dict[str, str]) -> tuple[object, bool]:
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            return tokens.authenticate(self.workspace, authorization[7:].strip()), False
        session = scope.get("session", {})
        user_id, stamp = session.get(SESSION_USER), session.get(SESSION_STAMP)
        if isinstance(user_id, int):
            user = users.session_user(self.workspace, user_id, str(stamp or ""))
            started_by = session.get(SESSION_TOKEN)
            if started_by is not None and not (
                isinstance(started_by, int) and tokens.token_active(self.workspace, started_by)
            ):
                user = None
            if user is not None:
                return user, True
            for key in (SESSION_USER, SESSION_STAMP, SESSION_TOKEN):
                session.pop(key, None)
        return None, False


def _csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected and given and hmac.compare_digest(expected, given))


def _with_headers(send: Send, hosted_app: bool = False) -> Send:
    added = APP_HEADERS if hosted_app else HEADERS

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            existing = {k.lower() for k, _ in message.get("headers", [])}
            message.setdefault("headers", [])
            message["headers"] = list(message["headers"]) + [
                (k, v) for k, v in added if k not in existing
            ]
        await send(message)

    return wrapped


async def _refuse_websocket(receive: Receive, send: Send, reason: str) -> None:
    """Accept, then close with 1008 (policy violation): the client learns why, and nothing else."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": 1008, "reason": reason})


async def _json(send: Send, path: str, status: int, code: str, message: str) -> None:
    status, content = error_body(path, status, code, message)
    body = json.dumps(content).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode("latin-1")),
                (b"content-length", b"0"),
                *HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
