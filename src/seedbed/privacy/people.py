"""Person names and postal addresses without NLP: the shape of a value plus small word lists.

Neither has a checksum, so these detectors only count; the column classifier weighs their
counts with the column's name (see detection.py).
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from seedbed.privacy.detectors import subsample
from seedbed.privacy.vocabulary import (
    FAMILY_NAMES,
    GIVEN_NAMES,
    NOT_PERSON_WORDS,
    PARTICLES,
    STREET_ENDINGS,
    STREET_WORDS,
    SUFFIXES,
    TITLES,
)

# Letters only (any script's capitals), hyphenated or with an apostrophe: "Wright-Warner",
# "O'Brien", "Jérôme".
_NAME_TOKEN = re.compile(r"^[^\W\d_][^\W\d_'\u2019-]*(?:['\u2019-][^\W\d_]+)*\.?$")
_PREFILTER = r"^[^\d@/\\|<>{}\[\]=_#$%&*+]{2,80}$"

_HOUSE_NUMBER = re.compile(
    r"(?:^|[\s,])\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?(?:,)?\s+[^\W\d_]{2,}"  # 12 High
    r"|[^\W\d_]{3,}\.?,?\s+\d{1,5}[A-Za-z]?(?:[-/]\d{1,4})?(?=$|[\s,\n])",  # Hauptweg 9
    re.UNICODE,
)
_POSTCODE = re.compile(
    r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"  # US state + ZIP
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"  # UK
    r"|\b\d{4}\s?[A-Z]{2}\b"  # NL
    r"|(?:^|[\n,]\s*)\d{4,6}\s*,?\s+[^\W\d_]{2,}"  # 49786 Neubrandenburg, 53043, Chiusi
    r"|[^\W\d_]{3,}[,-]\s*\d{5,6}\b",  # Navarra, 43093 / Giridih-736625
    re.UNICODE | re.MULTILINE,
)
_WORD = re.compile(r"[^\W\d_]+\.?", re.UNICODE)
# Python checks each distinct value of at most this many candidates; counts are scaled up.
MAX_CHECKED = 3000


@dataclass(frozen=True)
class NameHits:
    """Values shaped like a person's name, and how many of those hold a known given or
    family name."""

    shaped: int
    known: int


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _is_title(token: str) -> bool:
    lowered = token.lower().rstrip(".")
    # "Dr.", "Univ.Prof.", "B.Sc.", "Dipl.-Ing.": short words with inner or final dots
    return lowered in TITLES or lowered in SUFFIXES or ("." in token and len(token) <= 11)


def _name_tokens(value: str) -> list[str] | None:
    tokens = value.replace(",", " ").split()
    while tokens and _is_title(tokens[0]):
        tokens = tokens[1:]
    while tokens and _is_title(tokens[-1]):
        tokens = tokens[:-1]
    kept: list[str] = []
    for token in tokens:
        lowered = token.lower().rstrip(".")
        if lowered in PARTICLES or lowered.endswith(("'", "\u2019")):
            continue
        if lowered in NOT_PERSON_WORDS or not _NAME_TOKEN.match(token):
            return None
        if not token[0].isupper() or (len(token) > 3 and token.isupper()):
            return None
        kept.extend(_plain(part) for part in lowered.split("-"))
    return kept if 1 <= len(kept) <= 6 else None


def _distinct(values: pa.Array, rng: random.Random) -> tuple[list[str], list[int], float]:
    subset, scale = subsample(values, MAX_CHECKED, rng)
    tally = pc.value_counts(subset)
    return tally.field("values").to_pylist(), tally.field("counts").to_pylist(), scale


def count_person_names(values: pa.Array, rng: random.Random) -> tuple[NameHits, NameHits]:
    """Name-shaped values of several words (full names) and of one word (given or family
    names alone), each with the count that contains a listed name."""
    candidates = values.filter(pc.match_substring_regex(values, _PREFILTER))
    distinct, counts, scale = _distinct(candidates, rng)
    full = known_full = single = known_single = 0
    for value, n in zip(distinct, counts, strict=True):
        tokens = _name_tokens(value)
        if tokens is None:
            continue
        listed = any(t in GIVEN_NAMES or t in FAMILY_NAMES for t in tokens)
        if len(tokens) == 1:
            single += n
            known_single += n * listed
        else:
            full += n
            known_full += n * listed
    return (
        NameHits(round(full * scale), round(known_full * scale)),
        NameHits(round(single * scale), round(known_single * scale)),
    )


def _has_street_word(value: str) -> bool:
    for word in _WORD.findall(value):
        lowered = word.lower()
        if lowered.rstrip(".") in STREET_WORDS or lowered.endswith(STREET_ENDINGS):
            return True
    return False


def address_signals(value: str) -> int:
    """How many of house number, postcode and street word a value shows (0-3)."""
    if not 8 <= len(value) <= 300 or "@" in value or "://" in value:
        return 0
    return (
        bool(_HOUSE_NUMBER.search(value)) + bool(_POSTCODE.search(value)) + _has_street_word(value)
    )


def count_addresses(values: pa.Array, rng: random.Random) -> tuple[int, int]:
    """Values that look like a postal address on two signals or more, and those that show
    one (enough when the column is named for addresses)."""
    shaped = pc.and_(
        pc.match_substring_regex(values, r"\d"),
        pc.and_(
            pc.match_substring_regex(values, r"[^\W\d_]{2,}"),
            pc.match_substring_regex(values, r"\s"),
        ),
    )
    distinct, counts, scale = _distinct(values.filter(shaped), rng)
    strong = weak = 0
    for value, n in zip(distinct, counts, strict=True):
        signals = address_signals(value)
        strong += n * (signals >= 2)
        weak += n * (signals == 1)
    return round(strong * scale), round(weak * scale)
