"""Metric points sent in the background, many per request, so logging never waits on HTTP.

Points are queued with the time they were logged; a thread sends them as one batch when
`max_points` are waiting or `interval_s` after the oldest arrived. An error from a send is
kept and raised by the next `flush()` (or `close()`), never swallowed.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

Point = dict[str, Any]  # {"key", "value", "step", "timestamp"}
MAX_POINTS = 1000
INTERVAL_S = 0.5
QUEUE_ITEMS = 10_000  # a logging loop far faster than the server waits here (back-pressure)


class _Stop:
    """Sent down the queue to end the thread once everything before it is sent."""


class MetricBatcher:
    """Queue metric points and send them with `send(points)` from a background thread."""

    def __init__(
        self,
        send: Callable[[list[Point]], None],
        max_points: int = MAX_POINTS,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self._send = send
        self.max_points = max_points
        self.interval_s = interval_s
        self._queue: queue.Queue[list[Point] | threading.Event | _Stop] = queue.Queue(QUEUE_ITEMS)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def add(self, points: list[Point]) -> None:
        """Queue points for sending (blocks only while the queue is full)."""
        if not points:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="seedbed-metrics", daemon=True
                )
                self._thread.start()
        self._queue.put(points)

    def flush(self) -> None:
        """Send everything queued so far and wait; raise the first error since the last flush."""
        if self._thread is not None and self._thread.is_alive():
            done = threading.Event()
            self._queue.put(done)
            done.wait()
        self._raise_error()

    def close(self) -> None:
        """Flush, then stop the thread; raises like `flush`."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_Stop())
            self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _run(self) -> None:
        pending: list[Point] = []
        deadline: float | None = None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None  # the oldest waiting point is due
            if isinstance(item, list):
                pending.extend(item)
                if deadline is None:
                    deadline = time.monotonic() + self.interval_s
                if len(pending) < self.max_points:
                    continue
            self._send_all(pending)
            pending, deadline = [], None
            if isinstance(item, threading.Event):
                item.set()
            elif isinstance(item, _Stop):
                return

    def _send_all(self, points: list[Point]) -> None:
        for start in range(0, len(points), self.max_points):
            try:
                self._send(points[start : start + self.max_points])
            except Exception as exc:  # kept for the user's next flush
                if self._error is None:
                    self._error = exc
