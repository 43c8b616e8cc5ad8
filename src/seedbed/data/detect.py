"""What an uploaded file is: its format, text encoding, delimiter, header and column names."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from seedbed.errors import Invalid

SAMPLE_BYTES = 256 * 1024
FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "excel",
}
DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class TextLayout:
    encoding: str  # "utf-8" (a BOM, if any, is skipped) or "latin-1"
    delimiter: str
    header: list[str]


def format_of(filename: str) -> str:
    """The file format from its extension; unknown extensions are refused."""
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise Invalid(f"{filename!r}: seedbed reads {known} files; rename the file or convert it.")
    return FORMATS[suffix]


def detect_encoding(sample: bytes, complete: bool) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else Latin-1."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        # A multi-byte character may be cut at the end of a partial sample.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    control = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    return bool(sample) and control / len(sample) > 0.05


def _decode(sample: bytes, encoding: str) -> str:
    text = sample.decode("utf-8-sig" if encoding == "utf-8" else "latin-1", errors="ignore")
    return text


def sniff_text(path: Path, filename: str, tab_separated: bool) -> TextLayout:
    """Encoding, delimiter and header of a CSV/TSV file, checking the header's names."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
        complete = handle.read(1) == b""
    if not sample.strip():
        raise Invalid(f"{filename!r} is empty: there is nothing to publish.")
    if looks_binary(sample):
        raise Invalid(
            f"{filename!r} looks like a binary file, not text; upload the file "
            "as CSV, TSV, Parquet, JSON Lines or Excel with a matching extension."
        )
    encoding = detect_encoding(sample, complete)
    text = _decode(sample, encoding)
    lines = [line for line in text.splitlines() if line.strip()]
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line of a partial sample may be cut
    delimiter = "\t" if tab_separated else _delimiter(lines)
    header = next(csv.reader(io.StringIO(lines[0]), delimiter=delimiter))
    check_column_names(header, filename)
    return TextLayout(encoding=encoding, delimiter=delimiter, header=header)


def _delimiter(lines: list[str]) -> str:
    try:
        return csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def check_column_names(names: list[str], filename: str) -> None:
    """Every column needs a name of its own."""
    seen: dict[str, int] = {}
    for position, raw in enumerate(names, start=1):
        name = raw.strip()
        if not name:
            raise Invalid(
                f"{filename!r}: column {position} of the header has no name; "
                "give every column a name in the first row."
            )
        key = name.lower()
        if key in seen:
            raise Invalid(
                f"{filename!r}: the column name {name!r} appears twice (columns "
                f"{seen[key]} and {position}); column names must be unique."
            )
        seen[key] = position


def first_ragged_row(path: Path, layout: TextLayout) -> tuple[int, int] | None:
    """(line number, field count) of the first row whose width differs from the header."""
    encoding = "utf-8-sig" if layout.encoding == "utf-8" else "latin-1"
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=layout.delimiter)
        width = len(layout.header)
        for row in reader:
            if row and len(row) != width:
                return reader.line_num, len(row)
    return None
