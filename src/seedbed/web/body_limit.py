"""A cap on request bodies: a JSON or form body past `request_body_max_bytes` is answered 413.

A declared Content-Length over the limit is refused before any of the body is read. A body
whose size is not declared (chunked) is read here, counted, and handed to the app only once it
is complete and within the limit, so the app never sees a truncated body and only one answer
is ever sent. Routes that stream files to disk are exempt: they take big bodies on purpose and
enforce `upload_max_bytes` themselves.
"""

from __future__ import annotations

import re
from collections import deque

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seedbed.web.errors import error_response
from seedbed.web.security import is_mlflow

# Every route that reads `request.stream()`: (method, full path). Keep this list in step with
# them; a streamed route missing here is capped at request_body_max_bytes.
STREAMED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("POST", re.compile(r"/api/v1/uploads")),  # data/dataset_routes.py: api_upload
    ("POST", re.compile(r"/api/v1/features/training-set")),  # features/routes.py
    ("PUT", re.compile(r"/api/v1/runs/[^/]+/artifacts/.+")),  # tracking/routes.py
    # tracking/mlflow_artifacts.py: upload_artifact, under both MLflow mounts
    ("PUT", re.compile(r"/(api|ajax-api)/2\.0/mlflow-artifacts/artifacts/.+")),
)
SETTING = "request_body_max_bytes"
DIGITS = re.compile(r"[0-9]+")


def is_streamed(method: str, path: str) -> bool:
    return any(method == verb and pattern.fullmatch(path) for verb, pattern in STREAMED)


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413, except on the STREAMED routes."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_streamed(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = _declared_length(headers)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send, declared)
            return
        # With Transfer-Encoding the Content-Length does not frame the body, so count it too.
        if declared is not None and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        received: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away; there is no one to answer
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, None)
                return
            received.append(message)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(received, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: int | None) -> None:
        request = Request(scope)
        message = too_large_message(scope["path"], self.max_bytes, size)
        response = error_response(request, 413, "too_large", message)
        await response(scope, receive, send)


def too_large_message(path: str, limit: int, size: int | None) -> str:
    """What was too big, the limit, and what to do instead."""
    if size is None:
        told = f"The request body is over the limit of {_bytes(limit)}"
    else:
        told = f"The request body is {_bytes(size)}; the limit is {_bytes(limit)}"
    if is_mlflow(path):
        instead = "Log large content as an artifact (mlflow.log_artifact streams files)"
    else:
        instead = (
            "Send files through the uploads API (POST /api/v1/uploads, as the SDK and the "
            "Upload page do) or as run artifacts"
        )
    return (
        f"{told}. {instead}, or raise the server's {SETTING} setting "
        f"(SEEDBED_{SETTING.upper()}, see docs/settings.md)."
    )


def _bytes(count: int) -> str:
    if count >= 1024**2:
        return f"{count / 1024**2:.1f} MiB ({count:,} bytes)"
    return f"{count:,} bytes"


def _declared_length(headers: Headers) -> int | None:
    """The Content-Length, or None when there is none or it is not a byte count."""
    value = headers.get("content-length", "").strip()
    return int(value) if DIGITS.fullmatch(value) else None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives back the body read so far, then whatever the client sends next
    (a disconnect, which streaming responses listen for)."""
    pending = deque(messages)

    async def replayed() -> Message:
        if pending:
            return pending.popleft()
        return await receive()

    return replayed
