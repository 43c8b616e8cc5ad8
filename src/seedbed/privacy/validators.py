"""Checksums and format rules that tell real identifiers from look-alikes."""

from __future__ import annotations

import ipaddress
import re

# HMRC never issues these prefixes, nor first letters D F I Q U V or second letters D F I O Q U V.
_NINO = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def digits_of(text: str) -> str:
    """The digits of a value, dropping spaces, dashes and other separators."""
    return "".join(ch for ch in text if ch.isdigit())


def luhn_valid(number: str) -> bool:
    """Whether a string of digits passes the Luhn check that payment cards carry."""
    if not number.isdigit() or len(number) < 2:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = ord(char) - 48
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_valid(text: str) -> bool:
    """A payment card number: 12-19 digits (Maestro has 12), a card network's prefix
    (2-6, or the old JCB 1800/2131 and Maestro 0604 ranges), Luhn."""
    number = digits_of(text)
    if not 12 <= len(number) <= 19:
        return False
    return (number[0] in "23456" or number.startswith(("1800", "0604"))) and luhn_valid(number)


def iban_valid(text: str) -> bool:
    """An IBAN: country code, check digits and account that pass ISO 13616 mod-97."""
    iban = text.replace(" ", "").replace("-", "").upper()
    if not _IBAN.match(iban):
        return False
    moved = iban[4:] + iban[:4]
    as_number = "".join(str(int(ch, 36)) for ch in moved)
    return int(as_number) % 97 == 1


def nhs_valid(text: str) -> bool:
    """A UK NHS number: ten digits whose last is the mod-11 check digit of the first nine."""
    number = digits_of(text)
    if len(number) != 10 or len(set(number)) == 1:
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(number[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(number[9])


def ssn_valid(text: str) -> bool:
    """A US Social Security number: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    number = digits_of(text)
    if len(number) != 9:
        return False
    area, group, serial = number[:3], number[3:5], number[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def nino_valid(text: str) -> bool:
    """A UK National Insurance number (two letters, six digits, A-D), spaces allowed."""
    nino = text.replace(" ", "").upper()
    return bool(_NINO.match(nino)) and nino[:2] not in _NINO_BAD_PREFIXES


def ip_valid(text: str) -> bool:
    """An IPv4 or IPv6 address, as Python's `ipaddress` reads it."""
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True
