"""The reverse proxy in front of hosted apps: HTTP with httpx (streamed both ways) and
WebSockets with the `websockets` library, to an app listening on 127.0.0.1.

The app serves under the same path it is reached by (`--server.baseUrlPath apps/NAME`), so
paths pass unchanged. What the browser sent to authenticate with seedbed (its session cookie,
an Authorization header) stays here: the app's own code never sees a viewer's credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Iterable

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

HOST = "127.0.0.1"
SESSION_COOKIE = "seedbed_session"
# Hop-by-hop headers (RFC 9110 7.6.1) and those the proxy sets itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
DROPPED_REQUEST = HOP_BY_HOP | {"authorization", "cookie", "x-csrf-token"}
# Streamlit's own websocket handshake headers are made afresh by the websockets client.
WS_DROPPED = DROPPED_REQUEST | {
    "origin",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "content-length",
}
TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=60.0, pool=10.0)

# One connection pool per event loop: an httpx.AsyncClient belongs to the loop it first ran on.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def _client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = httpx.AsyncClient(timeout=TIMEOUT, trust_env=False, follow_redirects=False)
        _clients[loop] = client
    return client


def sets_session_cookie(name: str, value: str) -> bool:
    """Whether a response header would set seedbed's own session cookie: an app may not log
    its viewers out, or into another account."""
    return name.lower() == "set-cookie" and value.strip().startswith(f"{SESSION_COOKIE}=")


def without_session_cookie(cookie: str) -> str:
    """The Cookie header minus seedbed's session cookie (the app's own cookies stay)."""
    kept = [
        part.strip()
        for part in cookie.split(";")
        if part.strip() and not part.strip().startswith(f"{SESSION_COOKIE}=")
    ]
    return "; ".join(kept)


def _forwarded_headers(
    items: Iterable[tuple[str, str]], dropped: frozenset[str]
) -> list[tuple[str, str]]:
    headers = []
    for key, value in items:
        lower = key.lower()
        if lower == "cookie":
            value = without_session_cookie(value)
            if value:
                headers.append((key, value))
        elif lower not in dropped:
            headers.append((key, value))
    return headers


async def forward_http(request: Request, port: int) -> Response:
    """Send the request on to the app on `port` and stream its answer back."""
    url = httpx.URL(
        scheme="http",
        host=HOST,
        port=port,
        path=request.url.path,
        query=request.url.query.encode("latin-1"),
    )
    headers = _forwarded_headers(request.headers.items(), DROPPED_REQUEST)
    body = request.stream() if request.method not in ("GET", "HEAD") else None
    client = _client()
    upstream_request = client.build_request(request.method, url, headers=headers, content=body)
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.TransportError as exc:
        return Response(
            f"The app does not answer ({exc.__class__.__name__}); see `seedbed apps logs`.",
            status_code=502,
            media_type="text/plain",
        )
    response_headers = [
        (k, v)
        for k, v in upstream.headers.multi_items()
        if k.lower() not in HOP_BY_HOP and not sets_session_cookie(k, v)
    ]
    response = StreamingResponse(
        upstream.aiter_raw(),  # still encoded as the app sent it: content-encoding holds
        status_code=upstream.status_code,
        background=BackgroundTask(upstream.aclose),
    )
    response.raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response_headers]
    return response


async def forward_websocket(websocket: WebSocket, port: int) -> None:
    """Connect to the app's websocket at the same path, then relay messages both ways."""
    path = websocket.url.path
    query = websocket.url.query
    url = f"ws://{HOST}:{port}{path}" + (f"?{query}" if query else "")
    offered = [Subprotocol(p) for p in websocket.scope.get("subprotocols", [])]
    headers = _forwarded_headers(websocket.headers.items(), frozenset(WS_DROPPED))
    try:
        upstream = await connect(
            url,
            subprotocols=offered or None,
            additional_headers=headers,
            proxy=None,
            max_size=None,
            open_timeout=10,
            ping_interval=None,  # the browser's side keeps the connection alive
            user_agent_header=None,
        )
    except (OSError, InvalidHandshake, TimeoutError):
        await websocket.close(code=1011, reason="The app does not answer.")
        return
    async with upstream:
        await websocket.accept(subprotocol=upstream.subprotocol)
        to_app = asyncio.create_task(_browser_to_app(websocket, upstream))
        to_browser = asyncio.create_task(_app_to_browser(upstream, websocket))
        _done, pending = await asyncio.wait(
            {to_app, to_browser}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _browser_to_app(websocket: WebSocket, upstream: ClientConnection) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                await upstream.close(code=message.get("code", 1000))
                return
            if message.get("bytes") is not None:
                await upstream.send(message["bytes"])
            elif message.get("text") is not None:
                await upstream.send(message["text"])
    except (WebSocketDisconnect, ConnectionClosed):
        await upstream.close()


async def _app_to_browser(upstream: ClientConnection, websocket: WebSocket) -> None:
    try:
        async for message in upstream:
            if isinstance(message, bytes):
                await websocket.send_bytes(message)
            else:
                await websocket.send_text(message)
        code = upstream.close_code or 1000
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd is not None else 1011
    if code in (1005, 1006, 1015):  # reserved: these say what happened, never get sent
        code = 1000 if code == 1005 else 1011
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=code)
