"""The feature catalog: the registered definitions as the API and the Features page show them."""

from __future__ import annotations

from typing import Any

from seedbed.features import registry
from seedbed.features.definitions import format_duration
from seedbed.workspace import Workspace


def describe(workspace: Workspace) -> dict[str, Any]:
    """The newest registered definitions; `version` is None when none are registered."""
    registered = registry.latest(workspace)
    if registered is None:
        return {"version": None, "entities": [], "views": []}
    views = []
    for view in registered.spec["views"]:
        ttl = view.get("ttl_s")
        views.append({**view, "ttl": format_duration(ttl) if ttl else None})
    return {
        "version": registered.version,
        "author": registered.author,
        "created_at": registered.created_at,
        "entities": registered.spec["entities"],
        "views": views,
    }
