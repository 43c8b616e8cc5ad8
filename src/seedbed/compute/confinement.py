"""Whether the processes that act for a user (jobs, kernels, hosted apps) run under Landlock:
the one reading of the setting `compute.confine` ("auto", "on" or "off")."""

from __future__ import annotations

from seedbed.compute import confine
from seedbed.errors import Invalid
from seedbed.workspace import Workspace


def wanted(workspace: Workspace) -> bool:
    """True when they are to be confined; Invalid when "on" asks for what this kernel lacks."""
    choice = workspace.settings.compute.confine
    if choice == "off":
        return False
    if confine.available():
        return True
    if choice == "on":
        raise Invalid(
            'compute.confine = "on", but this kernel has no Landlock (Linux 5.13 or '
            'later with landlock in its LSM list): set it to "auto" or "off".'
        )
    return False
