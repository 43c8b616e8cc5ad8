"""Column-name evidence: which PII type a column's name suggests, matched on whole words.

Names are split into lower-case words ("customerEmail" → customer, email), so a keyword
never matches inside another word ("lic" in "public", "cid" in "acid").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Strength = Literal["strong", "weak", "against"]

# Each type: phrases that name it (strong), phrases that hint at it (weak), and words that
# say the column holds something else even though the content may look alike (against).
_PHRASES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "email": (("email", "e mail", "mail address", "courriel", "mail"), (), ()),
    "phone": (
        ("phone", "telephone", "tel", "mobile", "cell", "fax", "msisdn", "telefon",
         "telefono", "telefone", "handy", "portable", "phone number"),
        ("contact",),
        ("product", "sku", "code", "order", "invoice", "serial", "part", "model", "isbn",
         "ean", "upc", "barcode", "version", "zip", "postcode", "ref", "reference"),
    ),
    "payment_card": (
        ("card number", "credit card", "debit card", "cc number", "pan", "card no", "ccn",
         "creditcard", "cardnumber", "card"),
        (),
        ("order", "invoice", "sku", "product"),
    ),
    "iban": (("iban", "bank account", "account number", "bic iban"), ("account",), ()),
    "us_ssn": (("ssn", "social security", "social security number", "socialsecurity"),
               ("tax id", "tin"), ()),
    "uk_nino": (("nino", "national insurance", "ni number", "nin"), (), ()),
    "uk_nhs": (("nhs", "nhs number", "nhs no", "nhsnumber"), ("patient id",), ()),
    "ip_address": (("ip", "ip address", "ipaddress", "ipv4", "ipv6", "client ip", "remote addr",
                    "remote address", "source ip", "host ip"), (), ()),
    "postal_address": (
        ("address", "street", "street address", "postal address", "home address",
         "mailing address", "billing address", "shipping address", "addr", "adresse",
         "direccion", "dirección", "indirizzo", "anschrift", "address line"),
        ("location", "residence"),
        ("ip", "email", "mail", "web", "url", "mac"),
    ),
    "person_name": (
        ("first name", "last name", "full name", "given name", "family name", "surname",
         "forename", "firstname", "lastname", "fullname", "customer name", "contact name",
         "patient name", "employee name", "person", "person name", "cardholder",
         "holder name", "account holder", "owner name", "member name", "student name",
         "nombre", "apellido", "apellidos", "prenom", "prénom", "vorname", "nachname",
         "cognome", "customer", "patient", "employee", "contact"),
        ("name", "nom", "naam"),
        ("product", "company", "city", "town", "country", "state", "street", "airline",
         "airport", "carrier", "manufacturer", "model", "brand", "file", "host", "domain",
         "user", "username", "table", "column", "dataset", "category", "item", "event",
         "team", "org", "organisation", "organization", "business", "store", "shop", "vendor",
         "supplier", "bank", "school", "hospital", "app", "service", "project", "tag",
         "feature", "region", "place", "venue", "station", "department", "id", "email"),
    ),
    "date_of_birth": (
        ("dob", "birth", "birthday", "birthdate", "date of birth", "birth date", "born",
         "geburtsdatum", "naissance", "nacimiento", "nascita", "fecha nacimiento"),
        (),
        ("created", "updated", "modified", "order", "ship", "shipped", "event", "start", "end",
         "due", "expiry", "expires", "flight", "departure", "arrival", "hire", "joined",
         "signup", "registered", "purchase", "payment", "transaction", "timestamp", "at",
         "release", "published", "founded", "opened", "closed", "delivery", "time", "hour"),
    ),
}  # fmt: skip

_SPLIT = re.compile(r"[^0-9a-zA-ZÀ-ÿß]+|(?<=[a-z])(?=[A-Z])")


def words_of(column: str) -> list[str]:
    """A column name's words, lower-case: "customerEmail_2" → customer, email, 2."""
    return [w.lower() for w in _SPLIT.split(column) if w]


def _has_phrase(words: list[str], phrase: str) -> bool:
    wanted = phrase.split()
    joined = "".join(wanted)
    if joined in words:  # "firstname" as one word
        return True
    size = len(wanted)
    return any(words[i : i + size] == wanted for i in range(len(words) - size + 1))


@dataclass(frozen=True)
class NameEvidence:
    """What a column's name says about each PII type."""

    strong: frozenset[str]
    weak: frozenset[str]
    against: frozenset[str]

    def says(self, pii_type: str) -> Strength | None:
        if pii_type in self.against:
            return "against"
        if pii_type in self.strong:
            return "strong"
        if pii_type in self.weak:
            return "weak"
        return None


def name_evidence(column: str) -> NameEvidence:
    """Read a column name for PII hints; a word 'against' a type outweighs its hints."""
    words = words_of(column)
    strong, weak, against = set(), set(), set()
    for pii_type, (named, hinted, contrary) in _PHRASES.items():
        if any(_has_phrase(words, p) for p in contrary):
            against.add(pii_type)
        elif any(_has_phrase(words, p) for p in named):
            strong.add(pii_type)
        elif any(_has_phrase(words, p) for p in hinted):
            weak.add(pii_type)
    return NameEvidence(frozenset(strong), frozenset(weak), frozenset(against))
