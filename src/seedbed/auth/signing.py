"""The workspace's signing key: it signs session cookies and share links."""

from __future__ import annotations

import secrets

from seedbed.workspace import Workspace

SECRET_FILE = "secret_key"


def session_secret(workspace: Workspace) -> str:
    """The key that signs session cookies (and share links); kept in the workspace so logins
    survive restarts. Deleting the file ends every session and every share link."""
    path = workspace.runtime_dir / SECRET_FILE
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()
