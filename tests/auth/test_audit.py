from __future__ import annotations

from seedbed.auth import audit
from seedbed.workspace import Workspace


def test_recent_events_newest_first(workspace: Workspace) -> None:
    audit.record(workspace, "ada", "run.create", "r1", experiment="e")
    audit.record(workspace, None, "model.register", "m/1")
    events = audit.recent(workspace, limit=10)
    assert [e.action for e in events] == ["model.register", "run.create"]
    assert events[1].username == "ada" and events[1].detail == {"experiment": "e"}
    assert len(audit.recent(workspace, limit=1)) == 1
