"""Shared end-to-end fixtures: the real `mlflow` client pointed at a module's server."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from server_process import SeedbedServer


@pytest.fixture
def mlflow(server: SeedbedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The `mlflow` module, pointed at the module's `server` with its token, as a user
    would set it up."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", server.token)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    # A 5xx would otherwise be retried for minutes; here it should fail the test at once.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    import mlflow

    mlflow.set_tracking_uri(server.url)
    mlflow.set_registry_uri(server.url)
    yield mlflow
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)  # type: ignore[arg-type]
