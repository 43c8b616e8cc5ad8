"""Resource profiles: named sizes of jobs (`small`, `large`, `gpu`…).

Settings give the defaults (`[compute.profiles.NAME]`); admins may add or change profiles
at run time, stored in the metadata DB, which win over settings. A profile's `cpus` may be
"all" and its memory a share of the machine ("75%"), resolved against the capacity of the
backend that runs the job.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sqlalchemy import select

from seedbed.auth import audit
from seedbed.compute.executor import Resources
from seedbed.compute.tables import resource_profiles
from seedbed.db import now_ms, upsert
from seedbed.errors import Invalid, NotFound
from seedbed.settings import ProfileSpec
from seedbed.workspace import Workspace

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


@dataclass(frozen=True)
class Profile:
    name: str
    cpus: float | str  # a number, or "all"
    memory: int | str  # bytes, a size ("2GiB") or a share ("75%")
    gpus: int
    description: str
    origin: str  # settings or admin

    def resolve(self, machine: Resources) -> Resources:
        """The resources this profile asks for on a backend of capacity `machine`."""
        return Resources(
            cpus=machine.cpus if self.cpus == "all" else float(self.cpus),
            memory_bytes=memory_bytes(self.memory, machine.memory_bytes),
            gpus=self.gpus,
        )


def memory_bytes(value: int | str, total: int) -> int:
    """Bytes from an int, a size such as "2GiB" or "512 MB", or a share such as "75%"."""
    if isinstance(value, int):
        if value < 1:
            raise Invalid(f"Memory must be at least 1 byte, not {value}.")
        return value
    text = value.strip()
    if text.endswith("%"):
        try:
            share = float(text[:-1])
        except ValueError:
            share = -1.0
        if not 0 < share <= 100:
            raise Invalid(f"Memory share {value!r} must be a percentage from 0 to 100.")
        return int(total * share / 100)
    match = _SIZE.match(text)
    if match is None:
        raise Invalid(
            f"Memory {value!r} is not a size: write bytes, a size such as '2GiB' or '512MB', "
            "or a share of the machine such as '75%'."
        )
    number, unit = match.groups()
    return int(float(number) * _UNITS[(unit or "b").lower()])


def check(spec: ProfileSpec) -> None:
    """Refuse a profile whose numbers make no sense, saying which."""
    if isinstance(spec.cpus, str):
        if spec.cpus != "all":
            raise Invalid(f"cpus must be a number or 'all', not {spec.cpus!r}.")
    elif not (spec.cpus > 0 and math.isfinite(spec.cpus)):
        raise Invalid(f"cpus must be more than 0, not {spec.cpus}.")
    memory_bytes(spec.memory, 1 << 40)


def _from_settings(workspace: Workspace) -> dict[str, Profile]:
    return {
        name: Profile(name, s.cpus, s.memory, s.gpus, s.description, "settings")
        for name, s in workspace.settings.compute.profiles.items()
    }


def list_profiles(workspace: Workspace) -> dict[str, Profile]:
    """Every profile by name: settings' first, then admins' (which replace them)."""
    found = _from_settings(workspace)
    with workspace.engine.connect() as connection:
        for row in connection.execute(select(resource_profiles)).mappings():
            cpus: float | str = row["cpus"] if row["cpus"] == "all" else float(row["cpus"])
            memory: int | str = int(row["memory"]) if row["memory"].isdigit() else row["memory"]
            found[row["name"]] = Profile(
                row["name"], cpus, memory, row["gpus"], row["description"], "admin"
            )
    return dict(sorted(found.items()))


def get_profile(workspace: Workspace, name: str) -> Profile:
    found = list_profiles(workspace)
    if name not in found:
        raise NotFound(
            f"No resource profile {name!r}; the profiles are: {', '.join(found) or 'none'}."
        )
    return found[name]


def set_profile(workspace: Workspace, name: str, spec: ProfileSpec, user: str) -> Profile:
    """Add or change a profile (admins); jobs already submitted keep their resources."""
    if not NAME.match(name):
        raise Invalid(
            f"Profile name {name!r} is not allowed: lower-case letters, digits, '_' or '-', "
            "starting with a letter."
        )
    check(spec)
    row = {
        "name": name,
        "cpus": str(spec.cpus),
        "memory": str(spec.memory),
        "gpus": spec.gpus,
        "description": spec.description,
        "updated_by": user,
        "updated_at": now_ms(),
    }
    with workspace.engine.begin() as connection:
        upsert(
            connection,
            resource_profiles,
            [row],
            ("name",),
            ("cpus", "memory", "gpus", "description", "updated_by", "updated_at"),
        )
        audit.append(connection, user or None, "profile.set", name, **spec.model_dump())
    return get_profile(workspace, name)


def remove_profile(workspace: Workspace, name: str, user: str) -> None:
    """Remove an admin's profile; a profile from settings can be changed but not removed."""
    get_profile(workspace, name)
    with workspace.engine.begin() as connection:
        removed = connection.execute(
            resource_profiles.delete().where(resource_profiles.c.name == name)
        ).rowcount
        if not removed:
            raise Invalid(
                f"Profile {name!r} comes from the settings (seedbed.toml); remove it there."
            )
        audit.append(connection, user or None, "profile.remove", name)
