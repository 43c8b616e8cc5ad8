"""Typed settings: arguments > SEEDBED_* environment > seedbed.toml in the workspace > defaults."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from seedbed.errors import Invalid

SETTINGS_FILE = "seedbed.toml"
DEFAULT_WORKSPACE = Path("workspace")


class ProfileSpec(BaseModel):
    """A resource profile as settings give it: `cpus` a number or "all"; `memory` bytes,
    a size such as "2GiB", or a share of the machine such as "75%"; `gpus` whole devices."""

    model_config = ConfigDict(extra="forbid")

    cpus: float | str = 1
    memory: int | str = "2GiB"
    gpus: int = Field(default=0, ge=0)
    description: str = ""


DEFAULT_PROFILES = {
    "small": ProfileSpec(cpus=1, memory="2GiB", description="A quick CPU job."),
    "large": ProfileSpec(cpus="all", memory="75%", description="All CPUs, 75% of memory."),
    "gpu": ProfileSpec(cpus=4, memory="16GiB", gpus=1, description="One GPU, 4 CPUs."),
}


class ComputeSettings(BaseModel):
    """Where jobs run (`[compute]` in seedbed.toml, SEEDBED_COMPUTE__<KEY> in the environment)."""

    model_config = ConfigDict(extra="forbid")

    backend: str = Field(default="local", pattern="^(local|ray)$")
    ray_address: str | None = None  # the Ray dashboard's URL, e.g. http://127.0.0.1:8265
    # profiles named in settings are added to the defaults (or change one of them)
    profiles: dict[str, ProfileSpec] = Field(default_factory=lambda: dict(DEFAULT_PROFILES))
    default_profile: str = "small"
    job_timeout_s: float | None = Field(default=None, gt=0)  # a job's default timeout; None: none
    gpu_ids: list[int] | None = None  # local GPUs jobs may use; None: found with nvidia-smi
    # Confine local jobs with Landlock (read the workspace's lib/, notebooks/ and features/
    # only, write their own folder): "auto" where the kernel has it, "on" (refuse to run
    # jobs without it) or "off".
    confine: str = Field(default="auto", pattern="^(auto|on|off)$")

    @field_validator("profiles")
    @classmethod
    def _keep_defaults(cls, value: dict[str, ProfileSpec]) -> dict[str, ProfileSpec]:
        return {**DEFAULT_PROFILES, **value}


class FeaturesSettings(BaseModel):
    """The feature store (`[features]` in seedbed.toml, SEEDBED_FEATURES__<KEY>)."""

    model_config = ConfigDict(extra="forbid")

    # Where materialized features are served from: "sqlite" (the workspace's
    # .seedbed/online.sqlite), "sqlite:///PATH" or "redis://HOST:PORT/DB".
    online_store: str = Field(default="sqlite", pattern=r"^(sqlite|sqlite:///.+|rediss?://.+)$")


class Settings(BaseSettings):
    """Every knob seedbed has. Each field is documented in docs/settings.md."""

    model_config = SettingsConfigDict(
        env_prefix="SEEDBED_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    workspace: Path = Field(
        DEFAULT_WORKSPACE, description="Folder holding the workspace's data and metadata."
    )
    host: str = Field("127.0.0.1", description="Interface the server binds to.")
    port: int = Field(8765, ge=0, le=65535, description="TCP port the server listens on.")
    public_url: str | None = Field(
        None,
        description="URL users reach the server at, when it differs from http://host:port "
        "(a reverse proxy). Used in login and share links.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Extra Host header values the server accepts, besides host, "
        "localhost and 127.0.0.1 (protects against DNS rebinding).",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the metadata DB. Default: SQLite file "
        "metadata.db in the workspace. Teams use postgresql+psycopg://...",
    )
    artifact_url: str | None = Field(
        None,
        description="fsspec URL of the artifact store. Default: the workspace's "
        "artifacts/ folder. Teams may use s3://bucket/prefix.",
    )
    warehouse_path: Path | None = Field(
        None, description="DuckDB warehouse file. Default: warehouse.duckdb in the workspace."
    )
    demo_evaluation: bool = Field(
        True,
        description="With `seedbed up --demo`, launch the demo's evaluation (the business rule "
        "against 9 models, as jobs) on the first start.",
    )
    warehouse_threads: int | None = Field(
        None, ge=1, description="Threads DuckDB may use. Default: DuckDB's own (all cores)."
    )
    upload_max_bytes: int = Field(
        10 * 1024**3, ge=1, description="Largest file an upload may be, in bytes (default 10 GiB)."
    )
    request_body_max_bytes: int = Field(
        16 * 1024**2,
        ge=1,
        description="Largest JSON or form request body, in bytes (default 16 MiB). File uploads "
        "and artifacts stream to disk and are capped by upload_max_bytes instead.",
    )
    profile_max_rows: int = Field(
        10_000_000,
        ge=1000,
        description="Profiles are exact up to this many rows; bigger datasets are sampled.",
    )
    sql_row_limit: int = Field(
        10_000, ge=1, description="Rows the SQL console shows at most (the API has no cap)."
    )
    sql_timeout_s: float = Field(
        60.0, gt=0, description="Statement timeout of the SQL console and /api/v1/sql, seconds."
    )
    session_max_age_s: int = Field(
        14 * 24 * 3600, ge=60, description="How long a browser login lasts, in seconds."
    )
    log_level: str = Field("info", description="Server log level: debug, info, warning, error.")
    compute: ComputeSettings = Field(
        default_factory=lambda: ComputeSettings(),
        description="Jobs: backend (local or ray), ray_address, resource profiles, timeouts.",
    )

    features: FeaturesSettings = Field(
        default_factory=lambda: FeaturesSettings(),
        description="Feature store: online_store (sqlite, sqlite:///PATH or redis://...).",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error", "critical"}:
            raise ValueError("must be one of debug, info, warning, error, critical")
        return value.lower()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, WorkspaceTomlSource(settings_cls, init_settings))

    @property
    def settings_file(self) -> Path:
        return self.workspace / SETTINGS_FILE


class WorkspaceTomlSource(PydanticBaseSettingsSource):
    """Reads seedbed.toml from the workspace named by the arguments or the environment."""

    def __init__(
        self, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource
    ) -> None:
        super().__init__(settings_cls)
        workspace = init_settings().get("workspace") or os.environ.get("SEEDBED_WORKSPACE")
        self.path = Path(workspace or DEFAULT_WORKSPACE) / SETTINGS_FILE

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ does the work for the whole file.

    def __call__(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {}
        try:
            values = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise Invalid(f"{self.path} is not valid TOML: {exc}. Fix or remove it.") from exc
        values.pop("workspace", None)  # the file lives in the workspace; it cannot move it
        return values


def load_settings(**arguments: Any) -> Settings:
    """Build settings from arguments (None means "not given"), environment, file and defaults."""
    given = {key: value for key, value in arguments.items() if value is not None}
    try:
        return Settings(**given)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise Invalid(f"Invalid settings: {exc}") from exc
