"""Reading feature definitions from Python files: every Entity and FeatureView a file
defines at module level. Files run in the process that applies them (the CLI or a
notebook), never in the server."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

from seedbed.errors import Invalid
from seedbed.features.definitions import Entity, FeatureView


def definition_files(path: Path) -> list[Path]:
    """`path` itself when it is a file, else the .py files under it (not _private ones)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise Invalid(f"{path} is neither a Python file nor a folder of feature definitions.")
    files = sorted(p for p in path.rglob("*.py") if not p.name.startswith("_"))
    if not files:
        raise Invalid(f"{path} holds no .py files with feature definitions.")
    return files


def load_definitions(path: str | Path) -> list[Any]:
    """The Entity and FeatureView objects the files define, in file order."""
    found: list[Any] = []
    for file in definition_files(Path(path)):
        try:
            namespace = runpy.run_path(str(file), run_name=f"seedbed_features_{file.stem}")
        except Invalid as exc:
            raise Invalid(f"{file}: {exc}") from exc
        except Exception as exc:  # the user's code: say where and what
            raise Invalid(f"{file} failed to run: {type(exc).__name__}: {exc}") from exc
        for value in namespace.values():
            if isinstance(value, Entity | FeatureView) and not any(value is f for f in found):
                found.append(value)
    if not any(isinstance(item, FeatureView) for item in found):
        raise Invalid(f"No FeatureView is defined in {path}.")
    return found
