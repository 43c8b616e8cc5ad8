"""Column classification: sample a Parquet file, run the detectors on each column, weigh
their counts with the column's name, and say which PII type (if any) each column holds."""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from seedbed.privacy import dates, people
from seedbed.privacy.column_names import NameEvidence, name_evidence
from seedbed.privacy.detectors import (
    DETECTORS,
    PRIORITY,
    Hits,
    PatternDetector,
    found_in_text,
    numbered_codes,
    subsample,
)

TYPES = (
    "email",
    "phone",
    "payment_card",
    "iban",
    "us_ssn",
    "uk_nino",
    "uk_nhs",
    "ip_address",
    "postal_address",
    "person_name",
    "date_of_birth",
    "free_text_with_pii",
)
SAMPLE_ROWS = 20_000
# A validated value in one of 200 sampled ones is enough: a column where 1% of the values
# are PII is caught even when the sample holds half the expected share.
MIN_RATE = 0.005
MAX_CHARS = 1000  # of each text value read into the sample
MAX_TEXT_CHECKED = 3000  # free-text values searched in Python (counts are scaled up)
PLACEHOLDERS = ["", "-", "--", "?", "n/a", "na", "none", "null", "nil", "unknown", "nan"]
# Types whose check is a checksum that one random digit run in ten passes: when most
# values have the shape but fail the check, the column holds numbers, not identifiers.
_CHECKSUMMED = frozenset({"uk_nhs", "payment_card", "iban"})
_SEVEN_DIGITS = 1_000_000
_DIGIT_TYPES = frozenset({"payment_card", "uk_nhs", "us_ssn", "phone"})
_FORMAT_STRENGTH = {
    "email": 0.0,
    "payment_card": 0.0,
    "iban": 0.0,
    "uk_nhs": 0.0,
    "uk_nino": 0.0,
    "us_ssn": 0.0,
    "ip_address": 0.0,
    "phone": -0.05,
    "free_text_with_pii": -0.1,
    "postal_address": -0.15,
    "person_name": -0.15,
    "date_of_birth": -0.15,
}
_TEXT_PREFILTER = r"@|\d[\d\s().-]{6,}\d|[A-Z]{2} ?\d{2}|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"
_INTEGER = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?)$")


@dataclass(frozen=True)
class ColumnPii:
    """A column's PII classification with the evidence behind it."""

    type: str
    confidence: float
    matched: int  # sampled values of this type (free text: values containing PII)
    sampled: int  # non-empty values sampled from the column
    basis: tuple[str, ...]  # "content", and "name" when the column's name agreed
    contains: tuple[str, ...] = ()  # free text: the types found inside it
    also: tuple[str, ...] = ()  # other types that matched enough values too
    estimated: bool = False  # matched was extrapolated from a validated subset

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the API and the metadata DB."""
        return {
            "type": self.type,
            "confidence": self.confidence,
            "matched": self.matched,
            "sampled": self.sampled,
            "basis": list(self.basis),
            "contains": list(self.contains),
            "also": list(self.also),
            "estimated": self.estimated,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnPii:
        return cls(
            type=data["type"],
            confidence=float(data["confidence"]),
            matched=int(data["matched"]),
            sampled=int(data["sampled"]),
            basis=tuple(data.get("basis", ())),
            contains=tuple(data.get("contains", ())),
            also=tuple(data.get("also", ())),
            estimated=bool(data.get("estimated", False)),
        )


@dataclass(frozen=True)
class ScanResult:
    """The classification of every column of a table (None: no PII found)."""

    rows: int
    sampled_rows: int
    columns: dict[str, ColumnPii | None] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def flagged(self) -> dict[str, ColumnPii]:
        return {name: found for name, found in self.columns.items() if found is not None}


@dataclass
class _Found:
    matched: int = 0
    estimated: bool = False


def _confidence(pii_type: str, rate: float, named: str | None) -> float:
    value = 0.5 + 0.45 * min(1.0, rate / 0.5) + _FORMAT_STRENGTH[pii_type]
    value += {"strong": 0.1, "weak": 0.05}.get(named or "", 0.0)
    return round(min(0.99, max(0.05, value)), 2)


def _clean_text(values: pa.Array) -> pa.Array:
    trimmed = pc.utf8_trim_whitespace(values.drop_null())
    keep = pc.invert(pc.is_in(pc.utf8_lower(trimmed), value_set=pa.array(PLACEHOLDERS)))
    return trimmed.filter(keep)


def _pattern_hits(
    values: pa.Array, evidence: NameEvidence, digits_only: bool, rng: random.Random
) -> dict[str, _Found]:
    found: dict[str, _Found] = {}
    for detector in DETECTORS:
        says = evidence.says(detector.type)
        if says == "against" or (digits_only and detector.type not in _DIGIT_TYPES):
            continue
        if not detector.strong and says != "strong":
            continue
        hits: Hits = detector.count(values, rng)
        if detector.type == "phone" and says is None and hits.matched and _codes(values, detector):
            continue
        if detector.type in _CHECKSUMMED and hits.matched < 0.5 * hits.candidates:
            continue
        if hits.matched:
            entry = found.setdefault(detector.type, _Found())
            entry.matched += hits.matched
            entry.estimated |= hits.estimated
    return found


def _codes(values: pa.Array, detector: PatternDetector) -> bool:
    return numbered_codes(values.filter(pc.match_substring_regex(values, detector.shape)))


def _person_names(values: pa.Array, says: str | None, rng: random.Random) -> int:
    if says == "against":
        return 0
    full, single = people.count_person_names(values, rng)
    total = len(values)
    if says == "strong":
        shaped = full.shaped + single.shaped
        return shaped if shaped >= 0.3 * total else 0
    share_full, share_single = 0.7, 0.8
    known_full, known_single = 0.1, 0.4
    if says == "weak":
        share_full, share_single, known_full, known_single = 0.5, 0.5, 0.05, 0.3
    if full.shaped >= share_full * total and full.known >= known_full * full.shaped:
        return full.shaped
    if single.shaped >= share_single * total and single.known >= known_single * single.shaped:
        return single.shaped
    return 0


def _addresses(values: pa.Array, says: str | None, rng: random.Random) -> int:
    if says == "against":
        return 0
    strong, weak = people.count_addresses(values, rng)
    if says == "strong":
        return strong + weak if strong + weak >= 0.3 * len(values) else 0
    return strong if strong >= 0.5 * len(values) else 0


def _birth_dates(values: pa.Array, says: str | None, today: dt.date) -> int:
    if says == "against":
        return 0
    profile = dates.age_profile(values, today)
    share = 0.01 if says == "strong" else 0.8
    if profile.dates < share * len(values):
        return 0
    return profile.plausible if dates.looks_like_birth_dates(profile, says == "strong") else 0


def _free_text(values: pa.Array, rng: random.Random) -> tuple[int, tuple[str, ...]]:
    """Values with PII inside longer text, and the types found, most frequent first."""
    # text, not codes: most values have several words
    worded = pc.sum(pc.match_substring_regex(values, r"\S\s+\S")).as_py() or 0
    if worded < 0.5 * len(values):
        return 0, ()
    candidates = values.filter(pc.match_substring_regex(values, _TEXT_PREFILTER))
    subset, scale = subsample(candidates, MAX_TEXT_CHECKED, rng)
    rows = 0
    counts: dict[str, int] = {}
    embeddable = [d for d in DETECTORS if d.in_text is not None]
    for text in subset.to_pylist():
        inside = {d.type for d in embeddable if found_in_text(d, text)}
        rows += bool(inside)
        for pii_type in inside:
            counts[pii_type] = counts.get(pii_type, 0) + 1
    ranked = sorted(counts, key=lambda t: (-counts[t], PRIORITY.index(t)))
    return round(rows * scale), tuple(ranked)


def classify_column(
    column: str, values: pa.Array, today: dt.date | None = None, seed: int = 0
) -> ColumnPii | None:
    """Classify one column from its sampled values (text, integers or dates)."""
    today = today or dt.date.today()
    evidence = name_evidence(column)
    kind = values.type
    found: dict[str, _Found] = {}
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        values = values.drop_null()
        if len(values):
            birth = _birth_dates(values, evidence.says("date_of_birth"), today)
            if birth:
                found["date_of_birth"] = _Found(birth)
    elif pa.types.is_integer(kind):
        values = values.drop_null()
        bounds = pc.min_max(values).as_py() if len(values) else {"min": 0, "max": 0}
        values = values.cast(pa.string())
        # every digit type has 7 digits or more: small numbers (years, counts) are none
        if max(abs(bounds["min"] or 0), abs(bounds["max"] or 0)) >= _SEVEN_DIGITS:
            found = _pattern_hits(values, evidence, True, random.Random(seed))
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = _clean_text(values)
        if len(values):
            rng = random.Random(seed)
            found = _pattern_hits(values, evidence, False, rng)
            best = max((f.matched for f in found.values()), default=0)
            if best < 0.9 * len(values):
                for pii_type, count in (
                    ("person_name", _person_names(values, evidence.says("person_name"), rng)),
                    ("postal_address", _addresses(values, evidence.says("postal_address"), rng)),
                    ("date_of_birth", _birth_dates(values, evidence.says("date_of_birth"), today)),
                ):
                    if count:
                        found[pii_type] = _Found(count)
    else:
        return None
    sampled = len(values)
    if sampled == 0:
        return None
    qualified = {t: f for t, f in found.items() if f.matched / sampled >= MIN_RATE}
    winner = min(qualified, key=lambda t: (-qualified[t].matched, PRIORITY.index(t)), default=None)
    is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if is_text and (winner is None or qualified[winner].matched < sampled / 2):
        rows, contains = _free_text(values, random.Random(seed))
        if rows / sampled >= MIN_RATE and (winner is None or rows > 2 * qualified[winner].matched):
            says = evidence.says(contains[0]) if contains else None
            return ColumnPii(
                type="free_text_with_pii",
                confidence=_confidence("free_text_with_pii", rows / sampled, None),
                matched=rows,
                sampled=sampled,
                basis=("content", "name") if says in ("strong", "weak") else ("content",),
                contains=contains,
            )
    if winner is None:
        return None
    says = evidence.says(winner)
    return ColumnPii(
        type=winner,
        confidence=_confidence(winner, qualified[winner].matched / sampled, says),
        matched=qualified[winner].matched,
        sampled=sampled,
        basis=("content", "name") if says in ("strong", "weak") else ("content",),
        also=tuple(sorted((t for t in qualified if t != winner), key=PRIORITY.index)),
        estimated=qualified[winner].estimated,
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_list(described: list[tuple[str, str]]) -> list[str]:
    exprs = []
    for name, kind in described:
        upper = kind.upper()
        if upper == "VARCHAR":
            exprs.append(f"left({_quoted(name)}, {MAX_CHARS}) as {_quoted(name)}")
        elif _INTEGER.match(upper) or upper == "DATE" or upper.startswith("TIMESTAMP"):
            exprs.append(_quoted(name))
    return exprs


def sample_parquet(path: Path | str, sample_rows: int = SAMPLE_ROWS) -> tuple[int, pa.Table]:
    """The row count and an evenly spread sample of the columns detection reads (text,
    integers, dates): every row of small files, about `sample_rows` rows of big ones."""
    literal = str(path).replace("'", "''")
    with duckdb.connect() as connection:
        counted = connection.execute(f"select count(*) from read_parquet('{literal}')").fetchone()
        rows = int(counted[0]) if counted else 0
        described = connection.execute(
            f"describe select * from read_parquet('{literal}')"
        ).fetchall()
        exprs = _select_list([(str(n), str(k)) for n, k, *_ in described])
        if not exprs:
            return rows, pa.table({})
        where = ""
        if rows > sample_rows:
            # hash, not every n-th row: a file ordered by some pattern is still sampled evenly
            where = f" where hash(file_row_number) % {math.ceil(rows / sample_rows)} = 0"
        query = f"select {', '.join(exprs)} from read_parquet('{literal}'){where}"
        return rows, connection.sql(query).to_arrow_table()


def scan_table(
    table: pa.Table, rows: int | None = None, today: dt.date | None = None
) -> ScanResult:
    """Classify every column of an Arrow table (already a sample, or small)."""
    started = time.perf_counter()
    columns: dict[str, ColumnPii | None] = {}
    for index, name in enumerate(table.column_names):
        values = table.column(index).combine_chunks()
        columns[name] = classify_column(name, values, today, seed=index)
    return ScanResult(
        rows=table.num_rows if rows is None else rows,
        sampled_rows=table.num_rows,
        columns=columns,
        seconds=time.perf_counter() - started,
    )


def scan_parquet(
    path: Path | str, sample_rows: int = SAMPLE_ROWS, today: dt.date | None = None
) -> ScanResult:
    """Sample a Parquet file and classify its columns; columns that cannot hold PII text
    (floats, booleans, nested values) are listed with None."""
    started = time.perf_counter()
    rows, sample = sample_parquet(path, sample_rows)
    scanned = scan_table(sample, rows, today)
    literal = str(path).replace("'", "''")
    with duckdb.connect() as connection:
        names = [
            str(r[0])
            for r in connection.execute(
                f"describe select * from read_parquet('{literal}')"
            ).fetchall()
        ]
    columns = {name: scanned.columns.get(name) for name in names}
    return ScanResult(rows, sample.num_rows, columns, time.perf_counter() - started)
