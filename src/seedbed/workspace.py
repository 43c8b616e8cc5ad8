"""The Workspace: one folder holding a team's data, metadata, artifacts and settings."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine

from seedbed import db
from seedbed.data.warehouse import Warehouse
from seedbed.settings import SETTINGS_FILE, Settings
from seedbed.storage import ArtifactStore

FOLDERS = ("artifacts", "notebooks", "features", "lib", ".seedbed")
# Written once into a new workspace. It sets nothing: values given on one command line
# (say --port 0 in a test) must not become the workspace's settings.
SETTINGS_TEMPLATE = """\
# seedbed workspace settings. Every key is optional and documented in docs/settings.md.
# Precedence: command-line arguments > SEEDBED_* environment > this file > defaults.
# port = 8765
# host = "127.0.0.1"
# database_url = "postgresql+psycopg://user@db-host/seedbed"
# artifact_url = "s3://bucket/seedbed"
"""


class Workspace:
    """Owns the paths, the metadata DB, the DuckDB warehouse and the artifact store.

    Build one with `Workspace.open(settings)`; the server holds exactly one and
    passes it explicitly to every service call.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.workspace.resolve()
        # Tokens verified recently (auth.tokens keeps it), so an API call need not query for them.
        self.verified_tokens: dict[str, Any] = {}

    @classmethod
    def open(cls, settings: Settings) -> Workspace:
        """Create the folder layout if missing and migrate the metadata DB to the newest schema."""
        workspace = cls(settings)
        workspace.root.mkdir(parents=True, exist_ok=True)
        for folder in FOLDERS:
            (workspace.root / folder).mkdir(exist_ok=True)
        settings_file = workspace.root / SETTINGS_FILE
        if not settings_file.exists():
            settings_file.write_text(SETTINGS_TEMPLATE, encoding="utf-8")
        db.upgrade(workspace.engine)
        return workspace

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def runtime_dir(self) -> Path:
        return self.root / ".seedbed"

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def features_dir(self) -> Path:
        return self.root / "features"

    @property
    def lib_dir(self) -> Path:
        return self.root / "lib"

    @property
    def database_url(self) -> str:
        return self.settings.database_url or f"sqlite:///{self.root / 'metadata.db'}"

    @cached_property
    def engine(self) -> Engine:
        return db.make_engine(self.database_url)

    @cached_property
    def warehouse(self) -> Warehouse:
        path = self.settings.warehouse_path or self.root / "warehouse.duckdb"
        return Warehouse(path, threads=self.settings.warehouse_threads)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        return ArtifactStore(self.settings.artifact_url or (self.root / "artifacts").as_uri())

    def close(self) -> None:
        if "warehouse" in self.__dict__:
            self.warehouse.close()
            del self.__dict__["warehouse"]
        if "engine" in self.__dict__:
            self.engine.dispose()
