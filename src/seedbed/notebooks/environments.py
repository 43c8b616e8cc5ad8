"""Named Python environments of a workspace, managed with uv.

`environments/NAME/` holds an environment: `requirements.in` (what the team asked for),
`requirements.lock` (every distribution it has, name==version, with its hash in the
header) and `.venv/`. An environment is a layer over the server's own Python: a venv of
the same interpreter whose `.pth` file adds the server's site-packages after its own, so
seedbed, pandas and scikit-learn are there at once and a package added to the environment
(or another version of one) wins over the server's. Adding or removing a package goes
through uv, with the machine's pip settings (seedbed.notebooks.uv); when uv fails, its
resolver's message is the error and the environment is unchanged.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from seedbed.errors import Invalid, NotFound
from seedbed.notebooks import uv
from seedbed.workspace import Workspace

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
DEFAULT = "default"
REQUIREMENTS = "requirements.in"
LOCK = "requirements.lock"
BASE_PTH = "_seedbed_base.pth"
# Lists the distributions an environment's Python sees: name, version, where they live.
_LIST = (
    "import json, importlib.metadata as m; print(json.dumps(sorted("
    "[d.metadata['Name'], d.version, str(d.locate_file(''))] for d in m.distributions() "
    "if d.metadata['Name'])))"
)


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    own: bool  # installed in this environment (not inherited from the server's Python)


@dataclass(frozen=True)
class Environment:
    name: str
    folder: Path
    requirements: list[str]
    lock_hash: str | None

    @property
    def python(self) -> Path:
        return self.folder / ".venv" / "bin" / "python"

    @property
    def site_packages(self) -> Path:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        return self.folder / ".venv" / "lib" / version / "site-packages"


def root(workspace: Workspace) -> Path:
    return workspace.root / "environments"


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise Invalid(
            f"Environment name {name!r} is not allowed: lower-case letters, digits, '_' or "
            "'-', starting with a letter (at most 40)."
        )


def _requirements(folder: Path) -> list[str]:
    path = folder / REQUIREMENTS
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return [line for line in lines if line]


def _lock_hash(folder: Path) -> str | None:
    path = folder / LOCK
    if not path.is_file():
        return None
    return hashlib.sha256(_pins(path.read_text("utf-8")).encode()).hexdigest()


def _pins(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line and not line.startswith("#"))


def get(workspace: Workspace, name: str = DEFAULT) -> Environment:
    check_name(name)
    folder = root(workspace) / name
    if not (folder / ".venv").is_dir():
        if name == DEFAULT:
            return create(workspace, DEFAULT)
        known = ", ".join(e.name for e in list_environments(workspace)) or "none"
        raise NotFound(f"No environment {name!r}; the environments are: {known}.")
    return Environment(name, folder, _requirements(folder), _lock_hash(folder))


def list_environments(workspace: Workspace) -> list[Environment]:
    found = root(workspace)
    names = (
        sorted(p.name for p in found.iterdir() if (p / ".venv").is_dir()) if found.is_dir() else []
    )
    if DEFAULT not in names:
        names.insert(0, DEFAULT)
    return [get(workspace, name) for name in names]


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One change to an environment at a time, across processes."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create(workspace: Workspace, name: str) -> Environment:
    """Make an environment: a venv of the server's Python over the server's packages."""
    check_name(name)
    folder = root(workspace) / name
    with _locked(folder):
        if not (folder / ".venv").is_dir():
            made = uv.run(["venv", "--python", sys.executable, "--quiet", str(folder / ".venv")])
            if made.returncode != 0:
                raise Invalid(f"uv could not make the environment {name!r}: {made.stderr.strip()}")
            environment = Environment(name, folder, [], None)
            bases = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
            # the team's own code first, then the server's packages after the environment's
            lines = f"{workspace.lib_dir}\n" + "".join(
                f"import site; site.addsitedir({base!r})\n" for base in bases
            )
            (environment.site_packages / BASE_PTH).write_text(lines, encoding="utf-8")
            if not (folder / REQUIREMENTS).exists():
                (folder / REQUIREMENTS).write_text(
                    "# Packages this environment adds to the server's, one per line.\n", "utf-8"
                )
        _write_lock(Environment(name, folder, _requirements(folder), None))
    return get(workspace, name)


def packages(environment: Environment) -> list[Package]:
    """Every distribution the environment's Python sees, marked when it is its own."""
    listed = subprocess.run(
        [str(environment.python), "-c", _LIST], capture_output=True, text=True, timeout=60
    )
    if listed.returncode != 0:
        raise Invalid(f"The environment {environment.name!r} is broken: {listed.stderr.strip()}")
    seen: dict[str, Package] = {}
    own_site = str(environment.site_packages)
    for name, version, location in json.loads(listed.stdout):
        key = canonicalize_name(name)
        if key not in seen:  # the first on sys.path is the one imported
            seen[key] = Package(name, version, location.startswith(own_site))
    return sorted(seen.values(), key=lambda p: p.name.lower())


def _write_lock(environment: Environment) -> str:
    pins = [f"{p.name}=={p.version}" for p in packages(environment)]
    body = "\n".join(pins)
    digest = hashlib.sha256(body.encode()).hexdigest()
    header = (
        f"# The exact distributions of environment {environment.name!r} (sha256 {digest}).\n"
        "# Written by seedbed env lock; seedbed env sync makes the environment match it.\n"
    )
    (environment.folder / LOCK).write_text(header + body + "\n", encoding="utf-8")
    return digest


def _parse(spec: str) -> Requirement:
    try:
        return Requirement(spec)
    except InvalidRequirement as exc:
        raise Invalid(
            f"{spec!r} is not a package requirement ({exc}); write NAME or NAME==1.2."
        ) from None


def _uv_failed(action: str, result: subprocess.CompletedProcess[str]) -> Invalid:
    said = (result.stderr or result.stdout).strip()
    return Invalid(f"{action} failed; the environment is unchanged. uv said:\n{said[-3000:]}")


def add(workspace: Workspace, name: str, spec: str) -> Environment:
    """Install a package (NAME or NAME==VERSION, any PEP 508 requirement) and record it."""
    wanted = _parse(spec)
    environment = get(workspace, name)
    with _locked(environment.folder):
        installed = uv.run(["pip", "install", "--python", str(environment.python), str(wanted)])
        if installed.returncode != 0:
            raise _uv_failed(f"Adding {wanted}", installed)
        key = canonicalize_name(wanted.name)
        kept = [r for r in environment.requirements if canonicalize_name(_parse(r).name) != key]
        _write_requirements(environment.folder, [*kept, str(wanted)])
        _write_lock(get(workspace, name))
    return get(workspace, name)


def remove(workspace: Workspace, name: str, package: str) -> Environment:
    """Uninstall a package the environment added, and forget it."""
    environment = get(workspace, name)
    key = canonicalize_name(_parse(package).name)
    listed = [r for r in environment.requirements if canonicalize_name(_parse(r).name) == key]
    if not listed:
        raise NotFound(
            f"{package!r} is not one of the packages environment {name!r} added "
            f"({', '.join(environment.requirements) or 'none'})."
        )
    with _locked(environment.folder):
        removed = uv.run(["pip", "uninstall", "--python", str(environment.python), key])
        if removed.returncode != 0:
            raise _uv_failed(f"Removing {package}", removed)
        _write_requirements(
            environment.folder,
            [r for r in environment.requirements if r not in listed],
        )
        _write_lock(get(workspace, name))
    return get(workspace, name)


def lock(workspace: Workspace, name: str) -> Environment:
    """Write the lock file from what the environment has now."""
    environment = get(workspace, name)
    with _locked(environment.folder):
        _write_lock(environment)
    return get(workspace, name)


def sync(workspace: Workspace, name: str) -> tuple[Environment, list[str]]:
    """Make the environment match its lock file: install what differs, in its own layer,
    and remove its own packages the lock does not name. Returns what changed."""
    environment = get(workspace, name)
    path = environment.folder / LOCK
    if not path.is_file():
        raise NotFound(f"Environment {name!r} has no lock file; run seedbed env lock first.")
    pinned = {}
    for line in _pins(path.read_text("utf-8")).splitlines():
        requirement = _parse(line)
        pinned[canonicalize_name(requirement.name)] = line
    with _locked(environment.folder):
        have = {canonicalize_name(p.name): p for p in packages(environment)}
        install = [
            line
            for key, line in pinned.items()
            if key not in have or f"{have[key].name}=={have[key].version}".lower() != line.lower()
        ]
        extra = [p.name for key, p in have.items() if p.own and key not in pinned]
        changed = []
        if install:
            done = uv.run(
                ["pip", "install", "--no-deps", "--python", str(environment.python), *install]
            )
            if done.returncode != 0:
                raise _uv_failed("Syncing to the lock file", done)
            changed += [f"installed {line}" for line in install]
        if extra:
            done = uv.run(["pip", "uninstall", "--python", str(environment.python), *extra])
            if done.returncode != 0:
                raise _uv_failed("Removing what the lock file does not name", done)
            changed += [f"removed {package}" for package in extra]
    return get(workspace, name), changed


def _write_requirements(folder: Path, requirements: list[str]) -> None:
    text = "# Packages this environment adds to the server's, one per line.\n"
    (folder / REQUIREMENTS).write_text(text + "".join(f"{r}\n" for r in requirements), "utf-8")
