"""Password login: argon2 verification behind a per-username and per-address throttle."""

from __future__ import annotations

import threading
import time
from collections import deque

from seedbed.auth import audit
from seedbed.auth.users import User, check_password
from seedbed.errors import TooManyRequests, Unauthorized
from seedbed.workspace import Workspace

WINDOW_S = 15 * 60.0
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20


class LoginThrottle:
    """Failed logins in the last WINDOW_S seconds, per username and per client address.

    In memory, per server process: enough to stop online guessing; a restart forgets.
    """

    def __init__(
        self,
        window_s: float = WINDOW_S,
        per_user: int = MAX_FAILURES_PER_USER,
        per_address: int = MAX_FAILURES_PER_ADDRESS,
    ) -> None:
        self.window_s = window_s
        self.limits = {"user": per_user, "address": per_address}
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, username: str, address: str) -> list[tuple[str, str]]:
        return [("user", username), ("address", address)]

    def wait_s(self, username: str, address: str) -> float:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in self._keys(username, address):
                failures = self._failures.get(key)
                if not failures:
                    continue
                while failures and now - failures[0] > self.window_s:
                    failures.popleft()
                if len(failures) >= self.limits[key[0]]:
                    wait = max(wait, self.window_s - (now - failures[0]))
        return wait

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in self._keys(username, address):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(("user", username), None)


def password_login(
    workspace: Workspace, throttle: LoginThrottle, username: str, password: str, address: str
) -> User:
    """The user whose password this is; Unauthorized otherwise, TooManyRequests when throttled.

    Every failure reads the same, whether the user is unknown, disabled or mistyped.
    """
    username = username.strip().lower()
    wait = throttle.wait_s(username, address)
    if wait > 0:
        audit.record(workspace, username, "user.login_failed", address=address, throttled=True)
        raise TooManyRequests(
            f"Too many failed logins; try again in {max(1, round(wait / 60))} minute(s)."
        )
    user = check_password(workspace, username, password) if username and password else None
    if user is None:
        throttle.failed(username, address)
        audit.record(workspace, username or None, "user.login_failed", address=address)
        raise Unauthorized("Wrong username or password.")
    throttle.succeeded(username)
    audit.record(workspace, user.username, "user.login", method="password", address=address)
    return user
