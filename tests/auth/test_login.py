from __future__ import annotations

import pytest

from seedbed.auth import audit, users
from seedbed.auth.login import LoginThrottle, password_login
from seedbed.errors import TooManyRequests, Unauthorized
from seedbed.workspace import Workspace


def test_password_login_audits_success_and_failure(workspace: Workspace) -> None:
    ada = users.create_user(workspace, "ada", password="pass word 1")
    throttle = LoginThrottle()
    assert password_login(workspace, throttle, " Ada ", "pass word 1", "10.0.0.1") == ada
    with pytest.raises(Unauthorized, match="Wrong username or password"):
        password_login(workspace, throttle, "ada", "nope", "10.0.0.1")
    with pytest.raises(Unauthorized, match="Wrong username or password"):
        password_login(workspace, throttle, "ghost", "pass word 1", "10.0.0.1")
    events = [(e.username, e.action) for e in audit.recent(workspace, 3)]
    assert events == [
        ("ghost", "user.login_failed"),
        ("ada", "user.login_failed"),
        ("ada", "user.login"),
    ]


def test_failed_logins_are_throttled_per_user_and_per_address(workspace: Workspace) -> None:
    users.create_user(workspace, "ada", password="pass word 1")
    throttle = LoginThrottle(per_user=3, per_address=5)
    for _ in range(3):
        with pytest.raises(Unauthorized):
            password_login(workspace, throttle, "ada", "guess", "10.0.0.1")
    # Even the right password waits now: the guesser must not learn when it hit.
    with pytest.raises(TooManyRequests, match="try again in"):
        password_login(workspace, throttle, "ada", "pass word 1", "10.0.0.2")
    for name in ("bo", "cy"):
        with pytest.raises(Unauthorized):
            password_login(workspace, throttle, name, "guess", "10.0.0.1")
    with pytest.raises(TooManyRequests):
        password_login(workspace, throttle, "dee", "guess", "10.0.0.1")  # the address is spent
    assert throttle.wait_s("dee", "10.0.0.3") == 0


def test_throttle_forgets_after_its_window() -> None:
    throttle = LoginThrottle(window_s=0.0, per_user=1)
    throttle.failed("ada", "x")
    assert throttle.wait_s("ada", "y") == 0
