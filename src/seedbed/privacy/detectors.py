"""One detector per PII type with a fixed format: a shape matched on whole values with
Arrow's vectorised regexes, then a validator (checksum, `ipaddress`, `phonenumbers`) run in
Python on the candidates only."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from seedbed.privacy import validators

# Validators run in Python on at most this many candidates (half that for phone numbers);
# beyond, the count is estimated from their pass rate (and the evidence says so).
MAX_VALIDATED = 2000
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "AU", "CA", "BR", "JP")
# A column of phone-shaped codes: at least this many values, and first digits at least this
# even (log2(10) = 3.32 bits when all ten are equally common; real phone columns stay
# under 3.0, Faker's mixed-format ones under 3.27 with twenty layouts).
_CODE_MIN_VALUES = 50
_CODE_MIN_ENTROPY = 3.2
# A date with its year inside a run of digits: dd/mm/yyyy, dd.mm.yyyy, yyyy-mm-dd and alike.
_DATE_INSIDE = re.compile(
    r"(?<!\d)(\d{1,2}[/.]\d{1,2}[/.](19|20)\d\d|(19|20)\d\d[-/.]\d{1,2}[-/.]\d{1,2})(?!\d)"
)
# Shapes that phone-like digit runs often have but phone numbers do not.
_NOT_PHONE = re.compile(
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # dates
    r"|(19|20)\d\d[-/]\d+"  # year-prefixed serials: 2023-000123
    r"|\d{1,3}(\.\d{1,3}){3}"  # IPv4
    r"|\d+\.\d+)$"  # decimals
)


@dataclass(frozen=True)
class Hits:
    """How many values of a sample a detector matched, of how many had its shape."""

    matched: int
    candidates: int
    estimated: bool = False


def phone_valid(text: str, formatted_only: bool = True) -> bool:
    """A phone number: 7-15 digits a numbering plan allows (`phonenumbers`), not a date,
    an IP address or a year-prefixed serial; with `formatted_only`, written with separators
    or an international prefix."""
    value = text.strip()
    core = re.split(r"\s*(?:x|ext\.?|#)\s*\d+$", value, maxsplit=1)[0]
    digits = validators.digits_of(core)
    if not 7 <= len(digits) <= 15 or _NOT_PHONE.match(core):
        return False
    if formatted_only and core.isdigit():
        return False
    international = core.startswith("+") or core.startswith("00")
    if international:
        number = "+" + core.lstrip("+")[2:] if core.startswith("00") else core
        try:
            if phonenumbers.is_possible_number(phonenumbers.parse(number, None)):
                return True
        except phonenumbers.NumberParseException:
            pass
    for region in _PHONE_REGIONS:
        try:
            if phonenumbers.is_possible_number(phonenumbers.parse(core, region)):
                return True
        except phonenumbers.NumberParseException:
            return False
    return False


def numbered_codes(candidates: pa.Array) -> bool:
    """Whether phone-shaped values are codes: national phone numbers never begin evenly with
    every digit (trunk prefixes give 0, North American area codes 2-9, mobile plans their
    own prefixes), so one layout shared by nearly all values with first digits spread
    evenly over all ten reads as numbered codes (`123-4567-890`), not phone numbers."""
    if len(candidates) < _CODE_MIN_VALUES:
        return False
    layouts = pc.value_counts(pc.replace_substring_regex(candidates, r"\d", "9"))
    if max(layouts.field("counts").to_pylist()) < 0.95 * len(candidates):
        return False
    firsts = pc.utf8_slice_codeunits(pc.replace_substring_regex(candidates, r"\D", ""), 0, 1)
    counts = pc.value_counts(firsts).field("counts").to_pylist()
    total = sum(counts)
    entropy = -sum(n / total * math.log2(n / total) for n in counts)
    return entropy >= _CODE_MIN_ENTROPY


def _phone_in_text(text: str) -> bool:
    """A phone number inside text: written with separators, or a bare run of 9-12 digits
    after a trunk prefix 0 (`0232781286`), which order numbers and timestamps do not have.
    A match that joined two numbers (`555-123-4567 / 555-987-6543`) is tried again cut
    short at each space or slash, longest first."""
    value = text.strip()
    if _DATE_INSIDE.search(value):
        return False  # a date range (12/03/2024 - 13/03/2024), not phone numbers
    if _phone_alone(value):
        return True
    cuts = [m.start() for m in re.finditer(r"[ \t/]+", value)]
    return any(_phone_alone(value[:cut].strip(" -./(")) for cut in reversed(cuts))


def _phone_alone(value: str) -> bool:
    trunk = value.isdigit() and value.startswith("0") and 9 <= len(value) <= 12
    return phone_valid(value, formatted_only=not trunk)


def _phone_bare(text: str) -> bool:
    return phone_valid(text, formatted_only=False)


@dataclass(frozen=True)
class PatternDetector:
    """A PII type with a fixed format.

    `strong` detectors decide on content alone; weak ones (bare digit runs that any number
    could be) count only when the column's name asks for the type.
    """

    type: str
    shape: str  # RE2, anchored, matched on trimmed values
    validate: Callable[[str], bool] | None
    strong: bool
    in_text: re.Pattern[str] | None = None  # finds the type inside free text
    costly: bool = False
    text_check: Callable[[str], bool] | None = None  # checks what in_text found, if not validate

    def count(self, values: pa.Array, rng: random.Random) -> Hits:
        """Count the values of the sample that have this type's shape and pass its check."""
        candidates = values.filter(pc.match_substring_regex(values, self.shape))
        shaped = len(candidates)
        if shaped == 0 or self.validate is None:
            return Hits(shaped, shaped)
        limit = MAX_VALIDATED // 2 if self.costly else MAX_VALIDATED
        subset, scale = subsample(candidates, limit, rng)
        passed = count_valid(subset, self.validate)
        return Hits(round(passed * scale), shaped, estimated=scale != 1.0)


def subsample(values: pa.Array, limit: int, rng: random.Random) -> tuple[pa.Array, float]:
    """At most `limit` of the values, drawn at random, and the factor that scales a count
    on them back to all the values."""
    if len(values) <= limit:
        return values, 1.0
    picks = sorted(rng.sample(range(len(values)), limit))
    return values.take(pa.array(picks)), len(values) / limit


def count_valid(values: pa.Array, check: Callable[[str], bool]) -> int:
    """How many values pass `check`, calling it once per distinct value."""
    tally = pc.value_counts(values)
    distinct = tally.field("values").to_pylist()
    counts = tally.field("counts").to_pylist()
    return sum(n for value, n in zip(distinct, counts, strict=True) if check(value))


_EMAIL_IN_TEXT = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"

DETECTORS: tuple[PatternDetector, ...] = (
    PatternDetector(
        "uk_nhs",
        r"^\d{3}[ -]?\d{3}[ -]?\d{4}$",
        validators.nhs_valid,
        strong=True,
        in_text=re.compile(r"(?<![\d-])\d{3}[ -]\d{3}[ -]\d{4}(?![\d-])"),
    ),
    PatternDetector(
        "payment_card",
        r"^(\d{12,19}|\d{4}([ -]\d{4}){2}[ -]\d{1,7}|\d{4}[ -]\d{6}[ -]\d{4,5})$",
        validators.card_valid,
        strong=True,
        in_text=re.compile(r"(?<![\d-])(?:\d{4}[ -]?){3}\d{1,7}(?![\d-])|(?<!\d)3[47]\d{13}(?!\d)"),
    ),
    PatternDetector(
        "iban",
        r"^[A-Za-z]{2}\d{2}( ?[A-Za-z0-9]){11,30}$",
        validators.iban_valid,
        strong=True,
        in_text=re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
    ),
    PatternDetector(
        "us_ssn",
        r"^\d{3}[- ]\d{2}[- ]\d{4}$",
        validators.ssn_valid,
        strong=True,
        in_text=re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
    ),
    PatternDetector("us_ssn", r"^\d{9}$", validators.ssn_valid, strong=False),
    PatternDetector(
        "uk_nino",
        r"^[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d]$",
        validators.nino_valid,
        strong=True,
        in_text=re.compile(r"\b[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
    ),
    PatternDetector(
        "email",
        "^" + _EMAIL_IN_TEXT + "$",
        None,
        strong=True,
        in_text=re.compile(_EMAIL_IN_TEXT),
    ),
    PatternDetector(
        "ip_address",
        r"^(\d{1,3}(\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(%\w+)?)$",
        validators.ip_valid,
        strong=True,
        in_text=re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"),
    ),
    PatternDetector(
        "phone",
        r"^(\+|00|\()?\d[\d\s().\-/]{5,22}\d(\s*(x|ext\.?|#)\s*\d{1,6})?$",
        phone_valid,
        strong=True,
        in_text=re.compile(
            r"(?<![\w+(])(?:\+|\()?\d[\d \t().\-/]{5,22}\d"
            r"(?:[ \t]*(?:x|ext\.?|#)[ \t]*\d{1,6})?(?!\w)"
        ),
        costly=True,
        text_check=_phone_in_text,
    ),
    PatternDetector("phone", r"^\+?\d{8,15}$", _phone_bare, strong=False, costly=True),
)

# When two types match as many values (an SSN is also a possible phone number), the one
# with the stricter format wins.
PRIORITY = (
    "uk_nhs",
    "payment_card",
    "iban",
    "us_ssn",
    "uk_nino",
    "email",
    "ip_address",
    "date_of_birth",
    "phone",
    "postal_address",
    "person_name",
)


def found_in_text(detector: PatternDetector, text: str) -> bool:
    """Whether a free-text value contains a valid value of the detector's type."""
    if detector.in_text is None:
        return False
    check = detector.text_check or detector.validate
    return any(check is None or check(m.group(0)) for m in detector.in_text.finditer(text))
