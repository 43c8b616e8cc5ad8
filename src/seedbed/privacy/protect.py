"""Policies applied at ingest: scan a version before it is published, then block it, or drop,
mask, hash or tokenize its PII columns, so raw PII never lands where the policy forbids it.

The transformation is one DuckDB pass over the staged Parquet file; keyed hashes and tokens
are computed there too (SHA-256 nested under two keys derived from the workspace key, the
HMAC construction), so equal values give equal hashes across all the workspace's datasets.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy.engine import Connection

from seedbed.data.secrets import secret_box
from seedbed.db import now_ms, upsert
from seedbed.errors import Invalid
from seedbed.privacy import policies
from seedbed.privacy.detection import ScanResult, scan_parquet
from seedbed.privacy.tables import pii_tokens
from seedbed.workspace import Workspace

log = logging.getLogger(__name__)

TRANSFORMS = ("drop", "mask", "hash", "tokenize")
_IDENTIFIERS = frozenset({"phone", "payment_card", "iban", "us_ssn", "uk_nino", "uk_nhs"})
# Free text keeps its words; the PII inside it is replaced by what it was.
_TEXT_PATTERNS = (
    (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "[email]"),
    (r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", "[iban]"),
    (r"\b[0-9]{1,3}(?:\.[0-9]{1,3}){3}\b", "[ip]"),
    (r"\b[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b", "[id]"),
    (r"\+?[0-9][0-9 ().-]{5,}[0-9]", "[number]"),
)


@dataclass
class Protected:
    """What ingest publishes: the (maybe transformed) file, and what was done to it."""

    path: Path
    content_hash: str
    scan: ScanResult | None  # None: the scan failed, see `error`
    error: str = ""
    actions: dict[str, str] = field(default_factory=dict)  # flagged column -> action taken
    tokens: list[dict[str, Any]] = field(default_factory=list)  # vault rows to store

    def store_tokens(self, connection: Connection) -> None:
        """Add the new tokens to the vault, in the publishing transaction."""
        for start in range(0, len(self.tokens), 5000):
            chunk = self.tokens[start : start + 5000]
            upsert(connection, pii_tokens, chunk, ("token",))


def _literal(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _Keys:
    hash_inner: str
    hash_outer: str
    token_inner: str
    token_outer: str

    @classmethod
    def of(cls, workspace: Workspace) -> _Keys:
        box = secret_box(workspace)
        return cls(
            *(
                box.derive(f"pii-{name}").hex()
                for name in ("hash-in", "hash-out", "tok-in", "tok-out")
            )
        )


def _normal(value: str, pii_type: str) -> str:
    """The form that is hashed: case and separators do not make two values differ."""
    if pii_type == "email":
        return f"lower(trim({value}))"
    if pii_type in _IDENTIFIERS:
        return f"regexp_replace(upper({value}), '[^0-9A-Z]', '', 'g')"
    return f"trim({value})"


def _keyed(value: str, inner: str, outer: str, length: int) -> str:
    return f"substr(sha256('{outer}' || sha256('{inner}' || {value})), 1, {length})"


def _mask(value: str, pii_type: str) -> str:
    """A masked form that still says something: the domain, the last four, the year."""
    if pii_type == "email":
        return f"regexp_replace({value}, '^(.)[^@]*@', '\\1***@')"
    if pii_type in _IDENTIFIERS:
        return (
            f"case when length({value}) <= 4 then repeat('*', length({value})) else "
            f"regexp_replace(substr({value}, 1, length({value}) - 4), '[0-9A-Za-z]', '*', 'g')"
            f" || right({value}, 4) end"
        )
    if pii_type == "ip_address":
        return (
            f"case when regexp_matches({value}, '^[0-9]+[.][0-9]+[.]') "
            f"then regexp_replace({value}, '^([0-9]+[.][0-9]+)[.].*$', '\\1.*.*') "
            f"else regexp_replace({value}, '^([0-9A-Fa-f]*:[0-9A-Fa-f]*):.*$', '\\1:*') end"
        )
    if pii_type == "person_name":
        return f"regexp_replace({value}, '(\\pL)[\\pL''\\x{{2019}}-]*', '\\1.', 'g')"
    if pii_type == "date_of_birth":
        return (
            f"nullif(coalesce(cast(year(try_cast({value} as date)) as varchar), "
            f"regexp_extract({value}, '(1[89]|20)[0-9][0-9]', 0)), '')"
        )
    if pii_type == "free_text_with_pii":
        masked = value
        for pattern, label in _TEXT_PATTERNS:
            masked = f"regexp_replace({masked}, {_literal(pattern)}, '{label}', 'g')"
        return masked
    return f"case when {value} is null then null else '[{pii_type.replace('_', ' ')}]' end"


def _expression(name: str, pii_type: str, action: str, keys: _Keys) -> str:
    value = f"cast({_quote(name)} as varchar)"
    if action == "mask":
        return f"{_mask(value, pii_type)} as {_quote(name)}"
    if action == "hash":
        keyed = _keyed(_normal(value, pii_type), keys.hash_inner, keys.hash_outer, 32)
        return f"'h_' || {keyed} as {_quote(name)}"
    if action == "tokenize":
        return f"{_token(value, pii_type, keys)} as {_quote(name)}"
    raise ValueError(action)


def _token(value: str, pii_type: str, keys: _Keys) -> str:
    return "'tok_' || " + _keyed(_normal(value, pii_type), keys.token_inner, keys.token_outer, 24)


def _blocked_error(blocked: dict[str, str], dataset: str) -> Invalid:
    found = "; ".join(f"column {name!r} holds {kind}" for name, kind in sorted(blocked.items()))
    return Invalid(
        f"Refused by the PII policy, nothing was published: {found}, and the policy for "
        f"{dataset!r} blocks that type. Remove the column, or ask an admin to choose another "
        "action (`seedbed privacy policy set TYPE ACTION --dataset NAME`)."
    )


def protect(
    workspace: Workspace,
    dataset: str,
    parquet: Path,
    content_hash: str,
) -> Protected:
    """Scan `parquet` and apply the dataset's policy; Invalid when the policy blocks it.

    A scan that fails is no reason to lose the data: the file is published as it is and
    the caller restricts the whole version until someone with `pii` reviews it.
    """
    try:
        result = scan_parquet(parquet)
    except Exception as exc:
        log.exception("PII scan of a new version of %s failed", dataset)
        return Protected(parquet, content_hash, None, error=f"{type(exc).__name__}: {exc}")
    rules = policies.effective(workspace, dataset)
    actions = {name: rules[found.type].action for name, found in result.flagged.items()}
    blocked = {n: result.flagged[n].type for n, a in actions.items() if a == "block"}
    if blocked:
        raise _blocked_error(blocked, dataset)
    changed = {n: a for n, a in actions.items() if a in TRANSFORMS}
    if not changed:
        return Protected(parquet, content_hash, result, actions=actions)
    if all(changed.get(name) == "drop" for name in result.columns):
        raise Invalid(
            f"Refused by the PII policy: it drops every column of this {dataset!r} version, "
            "so nothing would be left. Change the policy or the data."
        )
    keys = _Keys.of(workspace)
    output = parquet.with_name(f"{parquet.stem}-protected.parquet")
    select = [
        _quote(name)
        if name not in changed
        else _expression(name, result.flagged[name].type, changed[name], keys)
        for name in result.columns
        if changed.get(name) != "drop"
    ]
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select {', '.join(select)} from read_parquet({_literal(parquet)})) "
            f"to {_literal(output)} (format parquet, compression zstd)"
        )
        tokens = _vault_rows(workspace, connection, parquet, result, changed, keys)
    spec = json.dumps(sorted(changed.items()))
    protected_hash = hashlib.sha256(f"{content_hash}|{spec}".encode()).hexdigest()
    return Protected(output, protected_hash, result, actions=actions, tokens=tokens)


def _vault_rows(
    workspace: Workspace,
    connection: duckdb.DuckDBPyConnection,
    parquet: Path,
    result: ScanResult,
    changed: dict[str, str],
    keys: _Keys,
) -> list[dict[str, Any]]:
    """One vault row per distinct token, its first original value encrypted."""
    rows: list[dict[str, Any]] = []
    box = secret_box(workspace)
    now = now_ms()
    for name, action in changed.items():
        if action != "tokenize":
            continue
        pii_type = result.flagged[name].type
        value = f"cast({_quote(name)} as varchar)"
        pairs = connection.execute(
            f"select {_token(value, pii_type, keys)} as token, min({value}) "
            f"from read_parquet({_literal(parquet)}) where {_quote(name)} is not null group by 1"
        ).fetchall()
        rows.extend(
            {
                "token": token,
                "pii_type": pii_type,
                "ciphertext": box.encrypt(original),
                "created_at": now,
            }
            for token, original in pairs
        )
    return rows
