"""The SDK's hosted apps: `ws.apps.serve("app.py", name="delays")`, list, stop, logs."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seedbed.client import Client

SERVE_TIMEOUT_S = 120.0  # the server answers once streamlit answers


class AppsClient:
    """Streamlit apps the server hosts at /apps/NAME/ behind its login."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def serve(self, script: str | Path, name: str, replace: bool = False) -> dict[str, Any]:
        """Send a Streamlit script (a path) and start it as app NAME; returns the app with
        its `url` once it answers."""
        text = Path(script).read_text(encoding="utf-8")
        body = {"name": name, "script": text, "replace": replace}
        app = self._client.request(
            "POST", "/api/v1/apps", json=body, timeout=SERVE_TIMEOUT_S
        ).json()
        return self._with_url(app)

    def list(self) -> builtins.list[dict[str, Any]]:
        """Every hosted app with its status and url."""
        return [self._with_url(a) for a in self._client.request("GET", "/api/v1/apps").json()]

    def get(self, name: str) -> dict[str, Any]:
        return self._with_url(self._client.request("GET", f"/api/v1/apps/{name}").json())

    def stop(self, name: str) -> dict[str, Any]:
        """Stop the app (its token is revoked); it stays listed."""
        return self._with_url(self._client.request("POST", f"/api/v1/apps/{name}/stop").json())

    def restart(self, name: str) -> dict[str, Any]:
        """Start the app again from its saved script."""
        response = self._client.request(
            "POST", f"/api/v1/apps/{name}/restart", timeout=SERVE_TIMEOUT_S
        )
        return self._with_url(response.json())

    def delete(self, name: str) -> None:
        """Stop the app and forget it."""
        self._client.request("DELETE", f"/api/v1/apps/{name}")

    def logs(self, name: str, lines: int = 200) -> str:
        """The app's last output lines."""
        return self._client.request(
            "GET", f"/api/v1/apps/{name}/logs", params={"lines": lines}
        ).text

    def _with_url(self, app: dict[str, Any]) -> dict[str, Any]:
        return {**app, "url": self._client.url + app["path"]}
