"""seedbed: a self-hosted environment in which data scientists create and test models.

import seedbed as sb
ws = sb.connect()          # finds the local server, or uses SEEDBED_URL / SEEDBED_TOKEN
ws.sql("select count(*) from flights")
"""

from __future__ import annotations

__version__ = "0.1.0"

from seedbed.client import ActiveRun, Client, connect
from seedbed.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    SeedbedError,
    ServerNotFound,
    Unauthorized,
)

__all__ = [
    "ActiveRun",
    "Client",
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "SeedbedError",
    "ServerNotFound",
    "Unauthorized",
    "__version__",
    "connect",
]
