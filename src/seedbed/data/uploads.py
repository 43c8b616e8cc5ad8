"""Uploads: stream a file to disk, detect and preview it, then publish it as a dataset version.

An upload is staged first (the UI shows the inferred schema, which the user may edit),
then published: converted to Parquet with DuckDB and handed to the datasets service.
The SDK and CLI do both steps in one go.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
import duckdb

from seedbed.data import detect
from seedbed.data.datasets import DatasetVersion, check_name, publish_parquet
from seedbed.errors import Invalid, NotFound, TooLarge
from seedbed.workspace import Workspace

SNIFF_ROWS = 20480
TYPES = ("VARCHAR", "BIGINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP", "TIME", "DECIMAL(18,3)")
PREVIEW_ROWS = 20
STAGE_TTL_S = 24 * 3600


@dataclass
class UploadColumn:
    name: str
    type: str


@dataclass
class StagedUpload:
    id: str
    filename: str
    format: str
    size_bytes: int
    encoding: str | None = None
    delimiter: str | None = None
    # CSV/TSV: the rest of the layout DuckDB's sniffer found (quote, escape, line ends,
    # date formats), so the preview and the publish read the file without sniffing again
    dialect: dict[str, str] = field(default_factory=dict)
    columns: list[UploadColumn] = field(default_factory=list)
    preview: list[list[Any]] = field(default_factory=list)


def _staging(workspace: Workspace) -> Path:
    folder = workspace.runtime_dir / "uploads"
    folder.mkdir(exist_ok=True)
    return folder


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _connect() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("set enable_progress_bar = false")  # no bars in the server's log
    return connection


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sniff_csv(staged: StagedUpload, path: Path) -> None:
    """Sniff the CSV layout and column types once with DuckDB. A file whose sample has no
    quotes still reads quoted fields further down: the quote falls back to RFC 4180's."""
    with _connect() as connection:
        try:
            cursor = connection.execute(
                f"select * from sniff_csv('{_literal(path)}', {_csv_options(staged)}, "
                f"sample_size={SNIFF_ROWS})"
            )
            names, row = [d[0] for d in cursor.description], cursor.fetchone()
            if row is None:
                raise Invalid(f"{staged.filename!r} could not be read as CSV: no layout found.")
            found = dict(zip(names, row, strict=True))
        except duckdb.Error as exc:
            raise _explain(exc, staged, path) from None
    quote, escape = (_sniffed(found.get(k)) for k in ("Quote", "Escape"))
    dialect = {"quote": quote or '"', "escape": escape or quote or '"'}
    # no new_line: DuckDB 1.5 reads nothing of a CRLF file given new_line='\r\n' with
    # auto_detect off and strict_mode on, and finds line ends itself without it
    if comment := _sniffed(found.get("Comment")):
        dialect["comment"] = comment
    for key, option in (("DateFormat", "dateformat"), ("TimestampFormat", "timestampformat")):
        if value := _sniffed(found.get(key)):
            dialect[option] = value
    staged.dialect = dialect
    staged.columns = [UploadColumn(str(c["name"]), str(c["type"])) for c in found["Columns"]]


def _sniffed(value: Any) -> str:
    return "" if value is None or value == "(empty)" else str(value)


async def receive(
    workspace: Workspace, chunks: AsyncIterator[bytes], filename: str, expected: int | None
) -> StagedUpload:
    """Stream an upload to the staging area; then detect and preview it."""
    fmt = detect.format_of(filename)
    limit = workspace.settings.upload_max_bytes
    if expected is not None and expected > limit:
        raise TooLarge(
            f"{filename!r} is {expected:,} bytes; the limit is {limit:,} bytes "
            "(setting upload_max_bytes)."
        )
    upload_id = uuid.uuid4().hex
    folder = _staging(workspace) / upload_id
    folder.mkdir()
    target = folder / f"source{Path(filename).suffix.lower()}"
    size = 0
    try:
        with target.open("wb") as handle:
            writer = _BlockWriter(handle)
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(
                            f"{filename!r} is larger than the limit of {limit:,} bytes "
                            "(setting upload_max_bytes)."
                        )
                    await writer.add(chunk)
            finally:
                await writer.finish()  # never close the file under a running write
        if expected is not None and size != expected:
            raise Invalid(
                f"The upload of {filename!r} was cut off: {size:,} of {expected:,} "
                "bytes arrived. Upload the file again."
            )
        staged = StagedUpload(id=upload_id, filename=filename, format=fmt, size_bytes=size)
        await anyio.to_thread.run_sync(inspect, staged, target)
        (folder / "upload.json").write_text(json.dumps(asdict(staged), default=str))
        return staged
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


class _BlockWriter:
    """Writes an upload in a worker thread, a few MB at a time, while the event loop
    receives the next block."""

    BLOCK = 4 * 1024 * 1024

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.parts: list[bytes] = []
        self.buffered = 0
        self.pending: Any = None

    def _write(self, block: bytes) -> None:
        self.handle.write(block)

    async def add(self, chunk: bytes) -> None:
        self.parts.append(chunk)
        self.buffered += len(chunk)
        if self.buffered >= self.BLOCK:
            await self._flush()

    async def _flush(self) -> None:
        if self.pending is not None:
            await self.pending
            self.pending = None
        if self.parts:
            block = b"".join(self.parts)
            self.parts, self.buffered = [], 0
            loop = asyncio.get_running_loop()
            self.pending = loop.run_in_executor(None, self._write, block)

    async def finish(self) -> None:
        await self._flush()
        if self.pending is not None:
            await self.pending
            self.pending = None


def _csv_options(staged: StagedUpload) -> str:
    delimiter = (staged.delimiter or ",").replace("'", "''")
    return (
        f"delim='{delimiter}', header=true, encoding='{staged.encoding}', skip=0, "
        "strict_mode=true, null_padding=false"
    )


def _source_sql(staged: StagedUpload, path: Path) -> str:
    if staged.format in ("csv", "tsv") and staged.dialect:
        types = ", ".join(f"{_text(c.name)}: {_text(c.type)}" for c in staged.columns)
        sniffed = "".join(f", {key}={_text(value)}" for key, value in staged.dialect.items())
        return (
            f"read_csv('{_literal(path)}', auto_detect=false, {_csv_options(staged)}"
            f"{sniffed}, columns={{{types}}})"
        )
    if staged.format in ("csv", "tsv"):
        return f"read_csv('{_literal(path)}', {_csv_options(staged)}, sample_size={SNIFF_ROWS})"
    if staged.format == "jsonl":
        return f"read_json('{_literal(path)}', format='newline_delimited')"
    return f"read_parquet('{_literal(path)}')"


def _source_path(workspace: Workspace, staged: StagedUpload) -> Path:
    folder = _staging(workspace) / staged.id
    if staged.format == "excel":
        return folder / "source.parquet"
    return folder / f"source{Path(staged.filename).suffix.lower()}"


def inspect(staged: StagedUpload, path: Path) -> None:
    """Fill in the detected layout, the inferred column types and a preview."""
    if path.stat().st_size == 0:
        raise Invalid(f"{staged.filename!r} is empty: there is nothing to publish.")
    if staged.format in ("csv", "tsv"):
        layout = detect.sniff_text(path, staged.filename, tab_separated=staged.format == "tsv")
        staged.encoding, staged.delimiter = layout.encoding, layout.delimiter
        _sniff_csv(staged, path)
    elif staged.format == "excel":
        path = _excel_to_parquet(path, staged.filename)
    source = _source_sql(staged, path)
    with _connect() as connection:
        try:
            relation = connection.sql(f"select * from {source} limit {PREVIEW_ROWS}")
            names, types = relation.columns, [str(t) for t in relation.types]
            rows = relation.fetchall()
        except duckdb.Error as exc:
            raise _explain(exc, staged, path) from None
    if staged.format != "csv" and staged.format != "tsv":
        detect.check_column_names(list(names), staged.filename)
    staged.columns = [UploadColumn(n, t) for n, t in zip(names, types, strict=True)]
    staged.preview = [[_plain(v) for v in row] for row in rows]


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


def _excel_to_parquet(path: Path, filename: str) -> Path:
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=0)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise Invalid(f"{filename!r} is not a readable Excel workbook: {exc}") from None
    if frame.empty and not len(frame.columns):
        raise Invalid(f"{filename!r}: the first sheet is empty.")
    detect.check_column_names([str(c) for c in frame.columns], filename)
    frame.columns = [str(c) for c in frame.columns]
    target = path.with_name("source.parquet")
    frame.to_parquet(target, index=False)
    return target


_NOISE = re.compile(
    r"\n\s*(Possible [Ss]olution|This type was auto-detected|Column \S+ is "
    r"being converted|\* |The search space used).*",
    re.DOTALL,
)


def _explain(exc: duckdb.Error, staged: StagedUpload, path: Path) -> Invalid:
    """DuckDB's reading errors, trimmed, with the line of a ragged row when there is one."""
    text = str(exc)
    if staged.format in ("csv", "tsv") and ("sniffing" in text or "Expected Number" in text):
        layout = detect.sniff_text(path, staged.filename, staged.format == "tsv")
        ragged = detect.first_ragged_row(path, layout)
        if ragged is not None:
            line, width = ragged
            return Invalid(
                f"{staged.filename!r}: line {line} has {width} fields but the "
                f"header has {len(layout.header)}; every row needs the same "
                "number of columns."
            )
    if "not utf-8 encoded" in text or "Invalid unicode" in text:
        found = re.search(r"Line: (\d+)", text)
        where = f" near line {found.group(1)}" if found else ""
        return Invalid(
            f"{staged.filename!r} has bytes that are not valid UTF-8{where}; save "
            "it as UTF-8 (or Latin-1 throughout) and upload it again."
        )
    if staged.format == "parquet" and ("magic" in text.lower() or "parquet" in text.lower()):
        return Invalid(f"{staged.filename!r} is not a valid Parquet file ({_first_line(text)}).")
    cleaned = _NOISE.sub("", text).strip().replace("\n", " ")
    hint = (
        " Choose another type for that column (VARCHAR keeps any text)."
        if "Conversion Error" in text
        else ""
    )
    return Invalid(f"{staged.filename!r} could not be read: {cleaned}{hint}")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _first_bad_cast(
    staged: StagedUpload, chosen: list[UploadColumn], source: str
) -> Invalid | None:
    """The first value that does not fit a type the user chose, with its line and column."""
    header_lines = 1 if staged.format in ("csv", "tsv", "excel") else 0
    with _connect() as connection:
        for original, wanted in zip(staged.columns, chosen, strict=True):
            if original.type == wanted.type:
                continue
            column = _quote(original.name)
            row = connection.execute(
                f"select position, value from (select row_number() over () as position, "
                f"{column} as value from {source}) where value is not null and "
                f"try_cast(value as {wanted.type}) is null limit 1"
            ).fetchone()
            if row is not None:
                line = int(row[0]) + header_lines
                return Invalid(
                    f"{staged.filename!r}: line {line}, column {original.name!r}: "
                    f"{str(row[1])!r} is not {wanted.type}. Choose another type for "
                    "that column (VARCHAR keeps any text)."
                )
    return None


def _file_hash(path: Path) -> str:
    """The content hash of a published file. Hashing the Parquet rather than the upload
    costs a twentieth (it is that much smaller), and DuckDB writes the same rows, names
    and types to the same bytes: the same file uploaded twice adds no version."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def get_staged(workspace: Workspace, upload_id: str) -> StagedUpload:
    if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
        raise NotFound(f"No staged upload {upload_id!r}.")
    meta = _staging(workspace) / upload_id / "upload.json"
    if not meta.is_file():
        raise NotFound(
            f"No staged upload {upload_id!r}; it was published, discarded or expired."
            " Upload the file again."
        )
    data = json.loads(meta.read_text())
    data["columns"] = [UploadColumn(**c) for c in data["columns"]]
    known = set(StagedUpload.__dataclass_fields__)
    return StagedUpload(**{k: v for k, v in data.items() if k in known})


def discard(workspace: Workspace, upload_id: str) -> None:
    get_staged(workspace, upload_id)
    shutil.rmtree(_staging(workspace) / upload_id, ignore_errors=True)


def expire_stale(workspace: Workspace, max_age_s: float = STAGE_TTL_S) -> int:
    """Remove staged uploads nobody published within `max_age_s`; returns how many."""
    removed = 0
    for folder in _staging(workspace).iterdir():
        if folder.is_dir() and time.time() - folder.stat().st_mtime > max_age_s:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _check_columns(
    staged: StagedUpload, columns: Iterable[UploadColumn] | None
) -> list[UploadColumn]:
    if columns is None:
        return staged.columns
    chosen = list(columns)
    if len(chosen) != len(staged.columns):
        raise Invalid(
            f"Give exactly {len(staged.columns)} columns, one per column of "
            f"{staged.filename!r}, in file order (got {len(chosen)})."
        )
    for column in chosen:
        kind = column.type.upper().strip()
        if kind not in TYPES and kind not in {c.type for c in staged.columns}:
            raise Invalid(
                f"Column {column.name!r}: type {column.type!r} is not offered; "
                f"choose one of {', '.join(TYPES)}."
            )
        column.type = kind
    detect.check_column_names([c.name for c in chosen], staged.filename)
    return chosen


def publish(
    workspace: Workspace,
    upload_id: str,
    name: str,
    columns: Iterable[UploadColumn] | None = None,
    author: str = "",
    description: str = "",
    parents: list[str] | None = None,
) -> tuple[DatasetVersion, bool]:
    """Convert a staged upload to Parquet with the chosen names and types, and publish it
    (`parents`: the dataset versions it was derived from, NAME or NAME@VERSION)."""
    check_name(name)
    staged = get_staged(workspace, upload_id)
    chosen = _check_columns(staged, columns)
    source_path = _source_path(workspace, staged)
    folder = _staging(workspace) / upload_id
    output = folder / f"publish-{uuid.uuid4().hex}.parquet"
    select_list = ", ".join(
        (
            _quote(original.name)
            if original.type == wanted.type
            else f"cast({_quote(original.name)} as {wanted.type})"
        )
        + f" as {_quote(wanted.name)}"
        for original, wanted in zip(staged.columns, chosen, strict=True)
    )
    source = _source_sql(staged, source_path)
    try:
        with _connect() as connection:
            connection.sql(
                f"copy (select {select_list} from {source}) to '{_literal(output)}' "
                "(format parquet, compression zstd)"
            )
    except duckdb.Error as exc:
        output.unlink(missing_ok=True)
        bad_cast = _first_bad_cast(staged, chosen, source) if "Conversion" in str(exc) else None
        raise (bad_cast or _explain(exc, staged, source_path)) from None
    content_hash = _file_hash(output)
    try:
        result = publish_parquet(
            workspace,
            name,
            output,
            content_hash,
            "upload",
            {
                "filename": staged.filename,
                "format": staged.format,
                "encoding": staged.encoding,
                "delimiter": staged.delimiter,
                "bytes": staged.size_bytes,
            },
            author=author,
            description=description,
            parents=parents,
        )
    finally:
        output.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    return result
