"""Request bodies over request_body_max_bytes are refused with 413, in the caller's language;
the routes that stream files to disk still take big bodies."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from conftest import make_settings
from seedbed.auth.tokens import ensure_admin_token
from seedbed.web.app import create_app
from seedbed.web.body_limit import BodyLimitMiddleware
from seedbed.web.server import bind
from seedbed.workspace import Workspace

LIMIT = 1000
JSON = {"content-type": "application/json"}


def padded(size: int, name: str = "padded") -> bytes:
    """A JSON body of exactly `size` bytes that creates experiment `name` (JSON allows spaces)."""
    head, tail = f'{{"name": "{name}"'.encode(), b"}"
    return head + b" " * (size - len(head) - len(tail)) + tail


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Workspace]:
    settings = make_settings(tmp_path / "ws").model_copy(update={"request_body_max_bytes": LIMIT})
    with Workspace.open(settings) as workspace:
        yield workspace


@pytest.fixture
def http(limited: Workspace) -> Iterator[TestClient]:
    token = ensure_admin_token(limited)
    with TestClient(
        create_app(limited),
        base_url="http://127.0.0.1",
        headers={"Authorization": f"Bearer {token}"},
        follow_redirects=False,
    ) as client:
        yield client


def _run(http: TestClient) -> str:
    made = http.post("/api/2.0/mlflow/experiments/create", json={"name": "big bodies"})
    assert made.status_code == 200, made.text
    run = http.post(
        "/api/2.0/mlflow/runs/create", json={"experiment_id": made.json()["experiment_id"]}
    )
    assert run.status_code == 200, run.text
    return str(run.json()["run"]["info"]["run_id"])


# -- declared length ---------------------------------------------------------------------------


def test_a_json_body_over_the_limit_is_a_413_that_says_what_to_do(http: TestClient) -> None:
    answer = http.post("/api/v1/experiments", content=padded(LIMIT + 1, "too big"), headers=JSON)
    assert answer.status_code == 413, answer.text
    error = answer.json()["error"]
    assert error["code"] == "too_large"
    assert "1,001 bytes" in error["message"] and "1,000 bytes" in error["message"]
    assert "request_body_max_bytes" in error["message"]
    assert "/api/v1/uploads" in error["message"]
    assert answer.headers["x-content-type-options"] == "nosniff"  # still inside auth's headers
    names = [e["name"] for e in http.get("/api/v1/experiments").json()]
    assert "too big" not in names


def test_a_body_at_the_limit_is_served(http: TestClient) -> None:
    answer = http.post("/api/v1/experiments", content=padded(LIMIT), headers=JSON)
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "padded"


@pytest.mark.parametrize("base", ["/api/2.0", "/ajax-api/2.0"])
def test_an_mlflow_body_over_the_limit_has_mlflows_shape(http: TestClient, base: str) -> None:
    answer = http.post(f"{base}/mlflow/experiments/create", content=padded(LIMIT + 1), headers=JSON)
    assert answer.status_code == 413, answer.text
    body = answer.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "1,000 bytes" in body["message"] and "mlflow.log_artifact" in body["message"]


def test_a_form_over_the_limit_is_a_readable_page(http: TestClient) -> None:
    form = b"name=" + b"x" * LIMIT
    answer = http.post(
        "/ui/tokens",
        content=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "Too large" in answer.text
    assert "request_body_max_bytes" in answer.text


def test_the_anonymous_are_refused_before_their_body_is_read(limited: Workspace) -> None:
    with TestClient(create_app(limited), base_url="http://127.0.0.1") as anonymous:
        answer = anonymous.post("/api/v1/experiments", content=padded(LIMIT + 1), headers=JSON)
    assert answer.status_code == 401


# -- undeclared length (chunked) ---------------------------------------------------------------


def chunks(body: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_body_over_the_limit_is_413(http: TestClient) -> None:
    answer = http.post(
        "/api/v1/experiments", content=chunks(padded(LIMIT + 1, "chunked")), headers=JSON
    )
    assert answer.status_code == 413, answer.text
    assert "over the limit of 1,000 bytes" in answer.json()["error"]["message"]
    assert "chunked" not in [e["name"] for e in http.get("/api/v1/experiments").json()]


def test_a_chunked_body_within_the_limit_reaches_the_route_whole(http: TestClient) -> None:
    answer = http.post("/api/v1/experiments", content=chunks(padded(LIMIT)), headers=JSON)
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "padded"


def call(headers: list[tuple[bytes, bytes]], receive: Receive) -> tuple[int, list[Message]]:
    """Run the middleware alone around an app that counts its calls; what was sent back."""
    reached = 0
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal reached
        reached += 1

    async def record(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/experiments", "headers": headers}
    middleware = BodyLimitMiddleware(app, max_bytes=LIMIT)
    # a thread of its own: the browser tests' Playwright keeps an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, middleware(scope, receive, record)).result()
    return reached, sent


def test_past_the_limit_nothing_more_is_read_and_one_answer_is_sent() -> None:
    reads = 0

    async def endless() -> Message:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 400, "more_body": True}

    reached, sent = call([(b"transfer-encoding", b"chunked")], endless)
    assert reached == 0  # the app never saw a truncated body
    assert reads == 3  # 400, 800, 1200: the third read crossed the limit; none after it
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 413


def test_a_length_beside_transfer_encoding_is_not_trusted() -> None:
    async def big() -> Message:
        return {"type": "http.request", "body": b"x" * (LIMIT + 1), "more_body": False}

    headers = [(b"content-length", b"10"), (b"transfer-encoding", b"chunked")]
    reached, sent = call(headers, big)
    assert reached == 0 and sent[0]["status"] == 413


# -- streamed routes are exempt ----------------------------------------------------------------


def test_streamed_routes_take_bodies_over_the_limit(http: TestClient) -> None:
    big = b"x" * (LIMIT * 5)
    csv = b"a,b\n" + b"1,2\n" * LIMIT
    staged = http.post("/api/v1/uploads?filename=big.csv", content=csv)
    assert staged.status_code == 201, staged.text
    assert staged.json()["size_bytes"] == len(csv)
    run = _run(http)
    stored = http.put(f"/api/v1/runs/{run}/artifacts/big.bin", content=big)
    assert stored.status_code == 201, stored.text
    for base in ("/api/2.0", "/ajax-api/2.0"):
        put = http.put(f"{base}/mlflow-artifacts/artifacts/loose/{base[1:4]}.bin", content=big)
        assert put.status_code == 200, (base, put.text)
    assert http.get(f"/api/v1/runs/{run}/artifacts/big.bin").content == big
    # Only the streaming verb is exempt: publishing a staged upload is JSON and capped.
    publish = http.post(
        f"/api/v1/uploads/{staged.json()['id']}/publish", content=padded(LIMIT + 1), headers=JSON
    )
    assert publish.status_code == 413


# -- a real server and a real client -----------------------------------------------------------


@pytest.fixture
def served(limited: Workspace) -> Iterator[httpx.Client]:
    """The app under uvicorn in a thread: real HTTP/1.1 framing, chunked bodies included."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(limited), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    token = ensure_admin_token(limited)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=20
    ) as client:
        yield client
    server.should_exit = True
    thread.join(20)
    sock.close()


def test_a_real_chunked_body_over_the_limit_is_413_and_the_server_goes_on(
    served: httpx.Client,
) -> None:
    def endless() -> Iterator[bytes]:
        for _ in range(10_000):  # 10 MB if anyone kept reading
            yield b" " * 1000

    answer = served.post("/api/v1/experiments", content=endless(), headers=JSON)
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "too_large"
    again = served.post("/api/v1/experiments", content=chunks(padded(LIMIT)), headers=JSON)
    assert again.status_code == 201, again.text
    declared = served.post("/api/v1/experiments", content=padded(LIMIT + 1), headers=JSON)
    assert declared.status_code == 413


def test_a_real_streamed_upload_over_the_limit_is_stored(served: httpx.Client) -> None:
    rows = b"1,2\n" * 50_000  # 200 kB, 200 times the limit

    answer = served.post(
        "/api/v1/uploads?filename=streamed.csv", content=chunks(b"a,b\n" + rows, 64 * 1024)
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["size_bytes"] == len(rows) + 4
