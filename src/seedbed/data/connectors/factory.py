"""Build a connector from its kind, its plain settings and its (decrypted) secret."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from seedbed.data.connectors.base import Connector
from seedbed.data.connectors.files import FilesConnector
from seedbed.data.connectors.postgres import DEFAULT_PORT, SSL_MODES, PostgresConnector
from seedbed.data.connectors.sqlite import SqliteConnector
from seedbed.errors import Invalid

KINDS = ("postgres", "sqlite", "files")
# Setting names per kind: (required, optional). Credentials are never settings.
FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "postgres": (("host", "database", "user"), ("port", "sslmode")),
    "sqlite": (("path",), ()),
    "files": (("path",), ()),
}


def make_connector(kind: str, config: Mapping[str, object], secret: str | None) -> Connector:
    """A connector of `kind` from `config`; Invalid names each wrong or missing setting."""
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise Invalid(f"Unknown connector kind {kind!r}: use one of {', '.join(KINDS)}.")
    _check_fields(kind, config)
    return builder(config, secret)


def _check_fields(kind: str, config: Mapping[str, object]) -> None:
    required, optional = FIELDS[kind]
    if "password" in config:
        raise Invalid(
            "Give the password as the connector's secret, not as a setting: "
            "settings are stored and shown in plain text."
        )
    unknown = sorted(set(config) - set(required) - set(optional))
    if unknown:
        raise Invalid(
            f"Unknown {kind} connector setting(s): {', '.join(unknown)}. "
            f"Allowed: {', '.join(required + optional)}."
        )
    missing = [name for name in required if config.get(name) in (None, "")]
    if missing:
        raise Invalid(f"A {kind} connector needs {', '.join(missing)}.")


def _text(config: Mapping[str, object], name: str) -> str:
    value = config[name]
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{name} must be non-empty text.")
    return value.strip()


def _port(config: Mapping[str, object]) -> int:
    value = config.get("port", DEFAULT_PORT)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise Invalid(f"port must be a number from 1 to 65535, not {value!r}.")
    return value


def _no_secret(kind: str, secret: str | None) -> None:
    if secret:
        raise Invalid(f"A {kind} connector takes no credential; leave the secret empty.")


def _postgres(config: Mapping[str, object], secret: str | None) -> Connector:
    sslmode = config.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        raise Invalid(f"sslmode must be one of {', '.join(SSL_MODES)}, not {sslmode!r}.")
    return PostgresConnector(
        host=_text(config, "host"),
        port=_port(config),
        database=_text(config, "database"),
        user=_text(config, "user"),
        password=secret or None,
        sslmode=str(sslmode) if sslmode is not None else None,
    )


def _sqlite(config: Mapping[str, object], secret: str | None) -> Connector:
    _no_secret("sqlite", secret)
    return SqliteConnector(_text(config, "path"))


def _files(config: Mapping[str, object], secret: str | None) -> Connector:
    _no_secret("files", secret)
    return FilesConnector(_text(config, "path"))


_BUILDERS: dict[str, Callable[[Mapping[str, object], str | None], Connector]] = {
    "postgres": _postgres,
    "sqlite": _sqlite,
    "files": _files,
}
