"""The requirements of a packaged model, pinned to the versions of a captured environment.

What gets pinned: the model's own requirements (its `requirements.txt`), the serving app's
packages, and everything those depend on (followed through the installed distributions'
metadata), so a fresh `pip install -r requirements.txt` installs the same versions that
trained and scored the model. Where each version comes from, first match wins:

1. the model's `requirements.txt` pin (what it was saved with);
2. the environment its run recorded (`environment/requirements.txt`, logged when the run
   started), when the run has one;
3. the versions installed in the server's environment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from seedbed import run_context
from seedbed.errors import NotFound
from seedbed.registry import model_requirements
from seedbed.registry.models import ModelVersion
from seedbed.tracking.runs import get_run
from seedbed.workspace import Workspace

# What serving_app.py imports (uvicorn runs it); pyyaml reads the MLmodel file.
SERVING_PACKAGES = ("fastapi", "uvicorn", "pandas", "numpy", "scikit-learn", "pyyaml")
# The loader a model format needs besides scikit-learn itself.
FORMAT_PACKAGES = {"cloudpickle": "cloudpickle", "skops": "skops"}
# The mlflow client pins itself in the models it logs; the serving app loads them without it.
_LOADER_ONLY = {"mlflow", "mlflow-skinny"}

RUN = "run"
SERVER = "server"
MODEL = "model"
UNPINNED = "unpinned"


@dataclass(frozen=True)
class Pin:
    name: str
    version: str | None  # None: found nowhere to pin from (pip resolves it)
    source: str  # MODEL, RUN, SERVER or UNPINNED

    @property
    def line(self) -> str:
        return f"{self.name}=={self.version}" if self.version else self.name


@dataclass(frozen=True)
class Lock:
    pins: list[Pin]
    source: str  # RUN when the run recorded its environment, else SERVER
    run_id: str | None

    def describe(self) -> str:
        """Where the versions come from, in a sentence."""
        if self.source == RUN:
            return (
                f"the environment run {self.run_id} recorded "
                f"({run_context.REQUIREMENTS_ARTIFACT}); the model's own pins win"
            )
        return (
            "the seedbed server's environment (the model's run recorded none); "
            "the model's own pins win"
        )


def parse_pins(text: str) -> dict[str, tuple[str, str | None]]:
    """{key: (name, exact version or None)} of requirement lines; options and comments skipped."""
    found: dict[str, tuple[str, str | None]] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        exact = [s.version for s in requirement.specifier if s.operator in ("==", "===")]
        found[canonicalize_name(requirement.name)] = (requirement.name, exact[0] if exact else None)
    return found


def recorded_environment(workspace: Workspace, version: ModelVersion) -> str | None:
    """The requirements the model's run recorded when it started, if it has them."""
    if not version.run_id:
        return None
    try:
        run = get_run(workspace, version.run_id)
    except NotFound:
        return None
    key = f"{run.artifact_key}/{run_context.REQUIREMENTS_ARTIFACT}"
    if not workspace.artifacts.exists(key):
        return None
    return workspace.artifacts.get_bytes(key).decode("utf-8")


def lock(workspace: Workspace, version: ModelVersion, model_dir: Path, serialization: str) -> Lock:
    """Pin the model's and the serving app's requirements and what they depend on."""
    model_pins = {
        key: value
        for key, value in parse_pins(
            _read(model_dir / model_requirements.REQUIREMENTS_FILE)
        ).items()
        if key not in _LOADER_ONLY
    }
    recorded = recorded_environment(workspace, version)
    source = RUN if recorded is not None else SERVER
    captured = parse_pins(
        recorded if recorded is not None else run_context.installed_requirements()
    )
    roots = [name for name, _ in model_pins.values()] + list(SERVING_PACKAGES)
    if serialization in FORMAT_PACKAGES:
        roots.append(FORMAT_PACKAGES[serialization])
    pins = []
    for key, name in sorted(dependency_closure(roots).items()):
        if key in _LOADER_ONLY:
            continue
        pins.append(_pin(key, name, model_pins, captured, source))
    return Lock(pins, source, version.run_id if source == RUN else None)


def _pin(
    key: str,
    name: str,
    model_pins: dict[str, tuple[str, str | None]],
    captured: dict[str, tuple[str, str | None]],
    source: str,
) -> Pin:
    wanted = model_pins.get(key)
    if wanted is not None and wanted[1]:
        return Pin(wanted[0], wanted[1], MODEL)
    recorded = captured.get(key)
    if recorded is not None and recorded[1]:
        return Pin(recorded[0], recorded[1], source)
    try:
        return Pin(name, metadata.version(name), SERVER)
    except metadata.PackageNotFoundError:
        return Pin(name, None, UNPINNED)


def dependency_closure(roots: Iterable[str]) -> dict[str, str]:
    """{key: name} of the roots and everything they require, from the installed metadata
    (with the extras each requirement asks for; markers evaluated for this platform)."""
    found: dict[str, str] = {}
    extras_seen: dict[str, set[str]] = {}
    queue: list[tuple[str, frozenset[str]]] = [(name, frozenset()) for name in roots]
    while queue:
        name, extras = queue.pop()
        key = canonicalize_name(name)
        if key in extras_seen and extras <= extras_seen[key]:
            continue
        extras_seen[key] = extras_seen.get(key, set()) | extras
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found.setdefault(key, name)
            continue
        found[key] = distribution.metadata["Name"] or name
        for line in distribution.requires or []:
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.marker is not None and not any(
                requirement.marker.evaluate({"extra": extra}) for extra in (extras or {""})
            ):
                continue
            queue.append((requirement.name, frozenset(requirement.extras)))
    return found


def _read(path: Path) -> str:
    return path.read_text("utf-8") if path.is_file() else ""
