"""Browser fixtures: Debian's Chromium through Playwright, a real demo server, a watched page."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, sync_playwright

from server_process import SeedbedServer

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; never a downloaded browser."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's Chromium is missing: `apt-get install chromium` provides it.")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeedbedServer]:
    """One real `seedbed up --demo` on a random port, shared by the browser tests."""
    with SeedbedServer(tmp_path_factory.mktemp("browser") / "ws", demo=True) as server:
        yield server


@dataclass
class Watch:
    """What the page sent (`posts`) and what went wrong: console and page errors, failed
    requests, 4xx/5xx answers.

    `allow(status, path)` marks one deliberate error answer (e.g. a wrong login token) as fine.
    """

    server_url: str
    problems: list[str] = field(default_factory=list)
    allowed: set[tuple[int, str]] = field(default_factory=set)
    posts: list[str] = field(default_factory=list)

    def allow(self, status: int, path: str) -> None:
        self.allowed.add((status, path))

    def on_request(self, request: Request) -> None:
        if request.method == "POST":
            self.posts.append(urlsplit(request.url).path)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium also logs every error answer to the console; a deliberate one is not a fault.
        if any(f"status of {status} " in message.text for status, _ in self.allowed):
            return
        self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def on_page_error(self, error: Exception) -> None:
        self.problems.append(f"page error: {error}")

    def on_request_failed(self, request: Request) -> None:
        # ERR_ABORTED is Chromium cancelling a load because the test moved on to another
        # page (a script still downloading, under load); a server fault shows as a reset,
        # an empty response or an error status instead.
        if request.failure == "net::ERR_ABORTED":
            return
        if request.url.startswith(self.server_url):
            self.problems.append(
                f"request failed: {request.method} {request.url} ({request.failure})"
            )

    def on_response(self, response: Response) -> None:
        if response.status < 400 or not response.url.startswith(self.server_url):
            return
        if (response.status, urlsplit(response.url).path) in self.allowed:
            return
        self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def assert_clean(self) -> None:
        assert self.problems == [], "the browser saw problems:\n" + "\n".join(self.problems)


@dataclass
class Tab:
    page: Page
    watch: Watch

    def shot(self, name: str) -> None:
        """A full-page screenshot into test-artifacts/browser/NAME.png.

        Screenshots document the pages; they check nothing. Chromium sometimes cannot take a
        full-page one within the timeout on a loaded machine: then the visible part is taken,
        and when even that fails the test goes on without it (and says so)."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("window.scrollTo(0, 0)")  # keeps the sticky nav at the top
        path = str(ARTIFACTS / f"{name}.png")
        try:
            self.page.screenshot(path=path, full_page=True, timeout=15_000)
        except PlaywrightTimeout:
            try:
                self.page.screenshot(path=path, timeout=15_000)
            except PlaywrightTimeout:
                print(f"screenshot {name} skipped: Chromium did not take it in time")


@contextlib.contextmanager
def open_tab(chromium: Browser, server_url: str) -> Iterator[Tab]:
    """A fresh browser context (no cookies) whose page reports every problem to a Watch."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    watch = Watch(server_url=server_url)
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)
    page.on("request", watch.on_request)
    page.on("requestfailed", watch.on_request_failed)
    page.on("response", watch.on_response)
    try:
        yield Tab(page, watch)
    finally:
        context.close()


@pytest.fixture
def tab(chromium: Browser, demo_server: SeedbedServer) -> Iterator[Tab]:
    """A watched page on the demo server."""
    with open_tab(chromium, demo_server.url) as opened:
        yield opened


class SlowProxy:
    """A TCP proxy in front of the server that can slow down what the browser sends.

    Chromium's network emulation does not throttle request bodies, so an upload to a local
    server is over before its progress bar can move. Through this proxy, with
    `upload_bytes_per_s` set, the browser's writes block on a small socket buffer and the
    upload takes as long as a real one.
    """

    CHUNK = 4096

    def __init__(self, target_url: str) -> None:
        host, port = urlsplit(target_url).netloc.rsplit(":", 1)
        self.target = (host, int(port))
        self.upload_bytes_per_s: float | None = None
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Inherited by accepted sockets: the browser cannot park a whole upload in our buffer.
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.CHUNK * 4)
        self.listener.bind((host, 0))
        self.listener.listen(16)
        self.url = f"http://{host}:{self.listener.getsockname()[1]}"
        self.sockets: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, slow: bool) -> None:
        try:
            while data := source.recv(self.CHUNK):
                sink.sendall(data)
                rate = self.upload_bytes_per_s
                if slow and rate:
                    time.sleep(len(data) / rate)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        for end in self.sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


@pytest.fixture
def slow_proxy(demo_server: SeedbedServer) -> Iterator[SlowProxy]:
    """The demo server behind a SlowProxy; browse `slow_proxy.url` to go through it."""
    proxy = SlowProxy(demo_server.url)
    yield proxy
    proxy.close()
