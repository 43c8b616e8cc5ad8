"""Batch scoring of an uploaded CSV: checked against the model's inputs, scored in chunks, the
result written to a CSV file the demo page offers for download.

The upload is read in chunks of CHUNK_ROWS rows and each scored chunk is appended to the output
file, so neither the upload nor the result is ever held whole in memory.
"""

from __future__ import annotations

import csv
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from seedbed.errors import Invalid, NotFound
from seedbed.registry.loading import LoadedModel
from seedbed.registry.model_format import InputColumn
from seedbed.workspace import Workspace

CHUNK_ROWS = 100_000
PREVIEW_ROWS = 20
KEEP_S = 3600  # scored files are offered for an hour, then removed
FOLDER = "batch-scores"
BATCH_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class BatchResult:
    id: str
    rows: int
    columns: list[str]
    preview: list[list[Any]]  # the first PREVIEW_ROWS scored rows
    filename: str  # the name the download is offered under
    warnings: list[str]  # values outside the range seen in training, per column


def check_columns(inputs: Sequence[InputColumn], header: Sequence[str]) -> None:
    """The CSV must have exactly the model's input columns (in any order)."""
    names = [c.name for c in inputs]
    missing = [n for n in names if n not in header]
    unexpected = [h for h in header if h not in names]
    duplicated = sorted({h for h in header if list(header).count(h) > 1})
    if not (missing or unexpected or duplicated):
        return
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected columns: {', '.join(unexpected)}")
    if duplicated:
        problems.append(f"duplicated columns: {', '.join(duplicated)}")
    raise Invalid(
        f"The CSV does not fit the model ({'; '.join(problems)}). "
        f"Its header must name the model's inputs: {', '.join(names)}."
    )


def score_csv(
    workspace: Workspace, model: LoadedModel, source: IO[bytes], name: str, owner: int
) -> BatchResult:
    """Score every row of a CSV upload; the result keeps the inputs and adds `prediction` and,
    for classifiers, one `probability_<class>` column per class. It is kept for the user
    `owner` (an id) alone to download."""
    from seedbed.apps.predictions import frame_warnings, predict_frame

    folder = _folder(workspace, owner)
    _remove_old(folder)
    batch_id = secrets.token_hex(16)
    target = folder / f"{batch_id}.csv"
    partial = folder / f"{batch_id}.partial"
    strings = {c.name: str for c in model.inputs if c.type == "string" or c.choices}
    try:
        reader = pd.read_csv(source, chunksize=CHUNK_ROWS, dtype=strings, keep_default_na=True)
        rows, columns, preview, warnings = 0, [], [], []
        with partial.open("w", encoding="utf-8", newline="") as out:
            for number, chunk in enumerate(reader):
                if number == 0:
                    check_columns(model.inputs, [str(c) for c in chunk.columns])
                chunk = _dates(model.inputs, chunk, rows)
                inputs = chunk[[c.name for c in model.inputs]]
                try:
                    scored = predict_frame(model, inputs)
                    found = frame_warnings(model.inputs, inputs)
                except Invalid as exc:
                    raise Invalid(f"Rows {rows + 1}-{rows + len(chunk)}: {exc}") from exc
                where = f"rows {rows + 1}-{rows + len(chunk)}, " if number else ""
                warnings += [where + w for w in found]
                scored.to_csv(out, index=False, header=number == 0)
                if number == 0:
                    columns = [str(c) for c in scored.columns]
                    preview = scored.head(PREVIEW_ROWS).astype(object).values.tolist()
                rows += len(scored)
        if rows == 0:
            raise Invalid("The CSV has a header but no rows to score.")
        partial.replace(target)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as exc:
        raise Invalid(f"Could not read the upload as a CSV file: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    stem = Path(name).stem or "scored"
    return BatchResult(batch_id, rows, columns, preview, f"{stem}-scored.csv", warnings[:20])


def scored_file(workspace: Workspace, batch_id: str, owner: int) -> Path:
    """Where a scored CSV of the user `owner` lies, while it is kept."""
    path = _folder(workspace, owner) / f"{batch_id}.csv"
    if not BATCH_ID.match(batch_id) or not path.is_file():
        raise NotFound(
            f"No scored file {batch_id!r}: scored files are kept for {KEEP_S // 60} minutes. "
            "Upload the CSV again."
        )
    return path


def _dates(inputs: Sequence[InputColumn], chunk: pd.DataFrame, offset: int) -> pd.DataFrame:
    for column in inputs:
        if column.type != "datetime":
            continue
        try:
            chunk[column.name] = pd.to_datetime(chunk[column.name])
        except (TypeError, ValueError) as exc:
            raise Invalid(
                f"Rows {offset + 1}-{offset + len(chunk)}, column {column.name!r}: "
                f"not dates and times ({exc})."
            ) from exc
    return chunk


def _folder(workspace: Workspace, owner: int) -> Path:
    folder = workspace.runtime_dir / FOLDER / str(int(owner))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _remove_old(folder: Path) -> None:
    cutoff = time.time() - KEEP_S
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass  # removed by a request next to this one
