"""Checksums and format rules: real identifiers pass, one changed digit fails."""

from __future__ import annotations

import pytest

from seedbed.privacy import validators


@pytest.mark.parametrize(
    "number",
    ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011111111111117",
     "3530111333300000", "180079032892180", "501849576563"],
)  # fmt: skip
def test_cards_that_pass_luhn(number: str) -> None:
    assert validators.card_valid(number)


@pytest.mark.parametrize(
    "number",
    ["4111 1111 1111 1112", "1234567812345678", "4111", "99999999999999999999", "abcd"],
)
def test_cards_that_fail(number: str) -> None:
    assert not validators.card_valid(number)


def test_luhn_on_plain_digits() -> None:
    assert validators.luhn_valid("79927398713")
    assert not validators.luhn_valid("79927398710")
    assert not validators.luhn_valid("7992739871x")


@pytest.mark.parametrize(
    "iban",
    ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "fr1420041010050500013m02606",
     "NL91ABNA0417164300"],
)  # fmt: skip
def test_ibans_that_pass_mod_97(iban: str) -> None:
    assert validators.iban_valid(iban)


@pytest.mark.parametrize(
    "iban",
    ["GB82 WEST 1234 5698 7654 33", "DE8937040044053201300", "XX00", "GB82WEST12345698765432XX"],
)
def test_ibans_that_fail(iban: str) -> None:
    assert not validators.iban_valid(iban)


@pytest.mark.parametrize("number", ["943 476 5919", "9434765919", "401-023-2137"])
def test_nhs_numbers_that_pass_mod_11(number: str) -> None:
    assert validators.nhs_valid(number)


@pytest.mark.parametrize(
    "number",
    ["943 476 5918", "1111111111", "123456789", "4010232138", "0000000000"],
)
def test_nhs_numbers_that_fail(number: str) -> None:
    assert not validators.nhs_valid(number)


def test_nhs_check_digit_of_ten_is_never_valid() -> None:
    # weights run 10..2, so "000000006" sums to 12; 12 % 11 = 1 asks for check digit 10,
    # which no digit can be: no number with this prefix is valid
    prefix = "000000006"
    assert not any(validators.nhs_valid(prefix + str(d)) for d in range(10))


@pytest.mark.parametrize(
    ("ssn", "valid"),
    [("123-45-6789", True), ("000-12-3456", False), ("666-12-3456", False),
     ("912-34-5678", False), ("123-00-4567", False), ("123-45-0000", False)],
)  # fmt: skip
def test_ssn_rules(ssn: str, valid: bool) -> None:
    assert validators.ssn_valid(ssn) is valid


@pytest.mark.parametrize(
    ("nino", "valid"),
    [("AB 12 34 56 C", True), ("JG103759A", True), ("ZZ 12 34 56 A", False),
     ("GB123456A", False), ("DA123456A", False), ("AB123456E", False), ("AO123456A", False)],
)  # fmt: skip
def test_nino_rules(nino: str, valid: bool) -> None:
    assert validators.nino_valid(nino) is valid


@pytest.mark.parametrize(
    ("address", "valid"),
    [("192.168.0.1", True), ("2001:db8::1", True), ("fe80::1%eth0", True),
     ("256.1.1.1", False), ("12:30:45", False), ("00:1a:2b:3c:4d:5e", False)],
)  # fmt: skip
def test_ip_addresses(address: str, valid: bool) -> None:
    assert validators.ip_valid(address) is valid
