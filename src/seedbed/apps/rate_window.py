"""An in-memory sliding-window rate limit per key (share links: predictions per link)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class SlidingWindow:
    """At most `limit` events per `window_s` seconds for each key.

    Kept in the server process (on app.state): a restart forgets the counts, which is fine
    for keeping one shared link from being used as a free scoring service."""

    def __init__(self, limit: int = 60, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> int:
        """Count one event; returns 0 if allowed, else the seconds until one is."""
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return max(1, math.ceil(events[0] + self.window_s - now))
            events.append(now)
            return 0
