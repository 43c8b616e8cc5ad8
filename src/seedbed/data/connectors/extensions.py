"""Load DuckDB's postgres and sqlite scanners from the PyPI wheels that ship them.

DuckDB normally downloads these extensions from its own server on first use; a seedbed
machine may have no internet, so the signed extension files come from the
`duckdb-extension-*` packages instead, and must match the installed DuckDB exactly.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Literal

import duckdb

from seedbed.errors import SeedbedError

ExtensionName = Literal["postgres_scanner", "sqlite_scanner"]


def extension_path(name: ExtensionName) -> Path:
    """The extension file for the installed DuckDB; SeedbedError says which package to install."""
    version = duckdb.__version__
    package = "duckdb-extension-" + name.replace("_", "-")
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError:
        raise SeedbedError(
            f"The DuckDB extension {name} is not installed: pip install '{package}=={version}'."
        ) from None
    root = Path(module.__file__ or "").parent / "extensions"
    path = root / f"v{version}" / f"{name}.duckdb_extension"
    if not path.is_file():
        shipped = ", ".join(sorted(p.name for p in root.glob("v*"))) or "none"
        raise SeedbedError(
            f"The installed {package} was built for DuckDB {shipped}, but DuckDB {version} is "
            f"installed: install the duckdb version it was built for, or '{package}=={version}'."
        )
    return path


def load_extension(connection: duckdb.DuckDBPyConnection, name: ExtensionName) -> None:
    """Load `name` into the DuckDB database behind `connection`, once."""
    row = connection.execute(
        "select loaded from duckdb_extensions() where extension_name = ?", [name]
    ).fetchone()
    if row and row[0]:
        return
    literal = str(extension_path(name)).replace("'", "''")
    # The file is signed by DuckDB; LOAD verifies the signature (unsigned ones stay refused).
    connection.execute(f"LOAD '{literal}'")
