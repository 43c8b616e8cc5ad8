"""The packages a model needs, and a warning when it is loaded among other versions.

A model's requirements are inferred from the fitted object itself: every object reachable
from it (estimators, their attributes, arrays, functions, classes) names the module it
comes from; those modules' top-level packages, mapped to the distributions that install
them and pinned to the versions installed here, are what unpickling it needs.
"""

from __future__ import annotations

import logging
import platform
import re
import sys
import types
import warnings
from collections.abc import Iterator
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

log = logging.getLogger(__name__)

REQUIREMENTS_FILE = "requirements.txt"
MAX_OBJECTS = 200_000  # a bound on the walk, far above any estimator's graph
MAX_ITEMS = 1000  # elements looked at in one object array (their types repeat)
# The mlflow client pins itself in the models it logs; seedbed loads them without it.
_LOADER_ONLY = {"mlflow", "mlflow-skinny"}
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


class ModelEnvironmentWarning(UserWarning):
    """A model is loaded where package (or Python) versions differ from those it was saved
    with; the message names each difference."""


def infer_requirements(model: Any) -> list[str]:
    """`name==version` for each distribution whose modules the fitted `model` uses."""
    packages = {module.split(".", 1)[0] for module in _modules(model)}
    owners = _distributions_of()
    pins: dict[str, str] = {}
    for package in sorted(packages):
        if package in sys.stdlib_module_names or package in ("builtins", "__main__"):
            continue
        for name in owners.get(package, []):
            key = canonicalize_name(name)
            if key not in pins:
                try:
                    pins[key] = f"{name}=={metadata.version(name)}"
                except metadata.PackageNotFoundError:
                    continue
    return sorted(pins.values(), key=str.lower)


@lru_cache(maxsize=1)
def _distributions_of() -> dict[str, list[str]]:
    return {k: list(dict.fromkeys(v)) for k, v in metadata.packages_distributions().items()}


def _modules(root: Any) -> set[str]:
    """The modules of the types (and functions, classes) of every object reachable from root."""
    found: set[str] = set()
    seen: set[int] = set()
    stack = [root]
    while stack and len(seen) < MAX_OBJECTS:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, type):
            found.add(obj.__module__)
            continue
        if isinstance(obj, types.ModuleType):
            found.add(obj.__name__)
            continue
        found.add(type(obj).__module__)
        if isinstance(obj, types.FunctionType | types.BuiltinFunctionType):
            found.add(getattr(obj, "__module__", None) or "builtins")
            continue
        stack.extend(_children(obj))
    return found


def _children(obj: Any) -> Iterator[Any]:
    if isinstance(obj, str | bytes | int | float | complex | bool) or obj is None:
        return
    if isinstance(obj, dict):
        yield from obj.keys()
        yield from obj.values()
        return
    if isinstance(obj, list | tuple | set | frozenset):
        yield from obj
        return
    dtype = getattr(obj, "dtype", None)
    if dtype is not None and hasattr(obj, "shape") and hasattr(obj, "ravel"):
        yield dtype  # numpy arrays: the dtype (and, for object arrays, some elements)
        if getattr(dtype, "kind", "") == "O":
            yield from list(obj.ravel()[:MAX_ITEMS])
        return
    state = getattr(obj, "__dict__", None)
    if isinstance(state, dict):
        yield from state.values()
    for slot in getattr(type(obj), "__slots__", ()):
        if isinstance(slot, str) and hasattr(obj, slot):
            yield getattr(obj, slot)


def read_requirements(directory: Path) -> dict[str, tuple[str, str]]:
    """The pinned `name==version` lines of a model folder: {key: (name, version)}."""
    path = directory / REQUIREMENTS_FILE
    if not path.is_file():
        return {}
    pins: dict[str, tuple[str, str]] = {}
    for line in path.read_text("utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            pins[canonicalize_name(match.group(1))] = (match.group(1), match.group(2))
    return pins


def differences(directory: Path, python_version: str | None) -> list[str]:
    """Each way this process differs from what the model in `directory` was saved with."""
    found = []
    here_python = platform.python_version()
    if python_version and _minor(python_version) != _minor(here_python):
        found.append(f"python: model has {python_version}, here {here_python}")
    for key, (name, version) in read_requirements(directory).items():
        if key in _LOADER_ONLY:
            continue
        try:
            here = metadata.version(name)
        except metadata.PackageNotFoundError:
            here = "not installed"
        if here != version:
            found.append(f"{name}: model has {version}, here {here}")
    return found


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def warn_on_differences(directory: Path, python_version: str | None, label: str = "") -> None:
    """Warn (ModelEnvironmentWarning, and the log) when versions here differ from the model's."""
    found = differences(directory, python_version)
    if not found:
        return
    message = (
        f"The model{f' {label}' if label else ''} was saved with other versions than this "
        f"environment has; it may fail or predict differently: {'; '.join(found)}."
    )
    log.warning("%s", message)
    warnings.warn(message, ModelEnvironmentWarning, stacklevel=3)
