"""How each data-quality check is measured in DuckDB and worded, folded into few scans.

Nothing here knows the check models of `seedbed.data.quality`: a probe is a set of named SQL
aggregates over the view `data`, and a reader turns their values into an `Outcome`. Every
value travels as a query parameter; only identifiers, quoted by `quote_identifier`, and SQL
written here are pasted into statements.

Messages hold counts and the rule, never values of the data: those go in `sample` and in the
`observed` entries named in `VALUE_KEYS`, which readers who may not see a column do not get.
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from seedbed.data.warehouse import quote_identifier

SAMPLE_SIZE = 5
_FLOATS = {"FLOAT", "DOUBLE"}
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
_NUMBERS = _FLOATS | _INTEGERS | {"U" + name for name in _INTEGERS}
_MAX_TEXT = 200
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_ERROR_KIND = re.compile(r"[A-Za-z ]{1,40} Error")
VALUE_KEYS = frozenset({"min", "max", "latest", "age_hours", "error"})
"""`observed` entries that are values of the data, or DuckDB's message, which may quote them."""


@dataclass(frozen=True)
class Outcome:
    """A check's verdict before it is labelled with the check's name and severity."""

    passed: bool
    failing_rows: int | None
    message: str
    observed: dict[str, Any] = field(default_factory=dict)
    sample: list[Any] = field(default_factory=list)
    errored: bool = False


def could_not_run(message: str, error: str = "") -> Outcome:
    """A check that failed to run; `error` is DuckDB's message, kept as `observed["error"]`."""
    return Outcome(False, None, message, {"error": error} if error else {}, errored=True)


def failed_on_data(what: str, error: str) -> Outcome:
    """DuckDB failed while reading the rows; its message may quote a value ("Could not convert
    string 'ada@example.org'"), so only its kind goes in the message."""
    kind = error.split(":", 1)[0]
    return could_not_run(f"{what} ({kind if _ERROR_KIND.fullmatch(kind) else 'error'})", error)


def _counted(
    failing: int, total: int, problem: str, holds: str, observed: dict[str, Any], sample: list[Any]
) -> Outcome:
    message = f"{failing} of {total} rows {problem}" if failing else holds
    return Outcome(failing == 0, failing, message, observed, sample[:SAMPLE_SIZE])


def read_schema(connection: duckdb.DuckDBPyConnection, parquet_path: str) -> dict[str, str]:
    """Column name -> DuckDB type of the Parquet file, read from its footer only."""
    rows = connection.execute(
        "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
        [parquet_path],
    ).fetchall()
    return {str(name): str(column_type) for name, column_type in rows}


def column_problem(kind: str, columns: Sequence[str], schema: Mapping[str, str]) -> str | None:
    """Why a check of `kind` cannot run on these columns (missing, wrong type), or None."""
    for column in columns:
        if column not in schema:
            close = difflib.get_close_matches(column, list(schema), n=1)
            names = ", ".join(list(schema)[:20]) + (", …" if len(schema) > 20 else "")
            hint = f"did you mean {close[0]!r}?" if close else f"columns are: {names}"
            return f"column {column!r} not found in the data; {hint}"
    column_type = schema[columns[0]] if columns else ""
    if kind == "range" and not (column_type in _NUMBERS or column_type.startswith("DECIMAL")):
        return f"range needs a numeric column, but {columns[0]} is {column_type}"
    if kind == "freshness" and not (column_type == "DATE" or column_type.startswith("TIMESTAMP")):
        return f"freshness needs a DATE or TIMESTAMP column, but {columns[0]} is {column_type}"
    return None


@dataclass(frozen=True)
class Measure:
    """One SQL aggregate over the view `data`, with the values for its `?` placeholders."""

    sql: str
    params: tuple[object, ...] = ()


Probe = dict[str, Measure]
"""Named aggregates one check needs; each name comes back with its measured value."""


def null_probe(column: str, column_type: str) -> Probe:
    ref = quote_identifier(column)
    probe = {"nulls": Measure(f"count(*) FILTER (WHERE {ref} IS NULL)")}
    if column_type in _FLOATS:
        probe["nans"] = Measure(f"count(*) FILTER (WHERE isnan({ref}))")
    return probe


def read_nulls(column: str, total: int, found: dict[str, Any]) -> Outcome:
    nans = found.get("nans", 0)
    observed = {"nulls": found["nulls"]} | ({"nans": nans} if "nans" in found else {})
    problem = f"have no value in {column}" + (f" ({nans} of them NaN)" if nans else "")
    holds = f"all {total} rows have a value in {column}"
    return _counted(found["nulls"] + nans, total, problem, holds, observed, [])


def range_probe(
    column: str, column_type: str, low: float | None, high: float | None, inclusive: bool
) -> Probe:
    ref = quote_identifier(column)
    below = f"{ref} {'<' if inclusive else '<='} ?"
    above = f"{ref} {'>' if inclusive else '>='} ?"
    # DuckDB sorts NaN above every number, so `x > high` catches it and `x < low` never does:
    # count NaN as out of range on its own and keep it out of the observed min and max.
    floats = column_type in _FLOATS
    real = f"NOT isnan({ref})" if floats else "true"
    # Without a FILTER, min and max of a non-float column come from the Parquet statistics.
    where = f" FILTER (WHERE {real})" if floats else ""
    probe = {"min": Measure(f"min({ref}){where}"), "max": Measure(f"max({ref}){where}")}
    if column_type.lstrip("U") in _INTEGERS:
        # An integer bound keeps the comparison in integers instead of casting every value.
        low, high = (_integral(bound) for bound in (low, high))
    if low is not None:
        probe["below"] = Measure(f"count(*) FILTER (WHERE {below})", (low,))
        probe["low_sample"] = Measure(f"min({ref}, {SAMPLE_SIZE}) FILTER (WHERE {below})", (low,))
    if high is not None:
        bad = f"{above} AND {real}"
        probe["above"] = Measure(f"count(*) FILTER (WHERE {bad})", (high,))
        probe["high_sample"] = Measure(f"max({ref}, {SAMPLE_SIZE}) FILTER (WHERE {bad})", (high,))
    if floats:
        probe["nans"] = Measure(f"count(*) FILTER (WHERE isnan({ref}))")
    return probe


def _integral(bound: float | None) -> float | int | None:
    return int(bound) if bound is not None and bound.is_integer() else bound


def read_range(column: str, total: int, found: dict[str, Any], expected: str) -> Outcome:
    nans = found.get("nans", 0)
    failing = found.get("below", 0) + found.get("above", 0) + nans
    values = (found.get("low_sample") or []) + (found.get("high_sample") or [])
    sample = [jsonable(value) for value in values] + ([jsonable(math.nan)] if nans else [])
    low, high = jsonable(found["min"]), jsonable(found["max"])
    observed = {"min": low, "max": high} | ({"nans": nans} if "nans" in found else {})
    problem = f"have {column} out of range (expected {expected}" + (
        f"; {nans} NaN)" if nans else ")"
    )
    holds = f"all values of {column} are {expected}" + (" (no values)" if low is None else "")
    return _counted(failing, total, problem, holds, observed, sample)


def allowed_probe(column: str, column_type: str, values: Sequence[object]) -> Probe:
    ref = quote_identifier(column)
    comparable, as_text = _comparable_values(column_type, values)
    subject = f"CAST({ref} AS VARCHAR)" if as_text else ref
    params: tuple[object, ...] = (comparable,)
    if not comparable:
        bad, params = f"{ref} IS NOT NULL", ()
    elif len(comparable) <= 64:
        bad = f"{ref} IS NOT NULL AND NOT list_contains(?, {subject})"
    else:
        # A semi-join: list_contains or IN scans the list for every row, ~3x slower on 500.
        bad = f"{ref} IS NOT NULL AND {subject} NOT IN (SELECT unnest(?))"
    return _mismatch_probe(subject, bad, params)


def _comparable_values(column_type: str, values: Sequence[object]) -> tuple[list[object], bool]:
    """Allowed values in the column's type, and whether to compare the column as text.

    DuckDB casts a VARCHAR column to INTEGER for `col IN (1)` and fails on 'JFK', so the
    values are converted instead; a value that cannot be converted can never match.
    """
    if column_type == "VARCHAR":
        return [_as_text(value) for value in values], False
    if column_type == "BOOLEAN":
        flags = {"true": True, "false": False}
        return [
            flags[text] for value in values if (text := _as_text(value).lower()) in flags
        ], False
    if column_type in _NUMBERS or column_type.startswith("DECIMAL"):
        numbers: list[object] = []
        for value in values:
            if isinstance(value, int | float) and not isinstance(value, bool):
                numbers.append(value)
            elif isinstance(value, str):
                try:
                    numbers.append(float(value))
                except ValueError:
                    continue
        return numbers, False
    return [_as_text(value) for value in values], True


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def regex_probe(column: str, column_type: str, pattern: str) -> Probe:
    ref = quote_identifier(column)
    subject = ref if column_type == "VARCHAR" else f"CAST({ref} AS VARCHAR)"
    bad = f"{ref} IS NOT NULL AND NOT regexp_full_match({subject}, ?)"
    return _mismatch_probe(subject, bad, (pattern,))


def _mismatch_probe(subject: str, bad: str, params: tuple[object, ...]) -> Probe:
    return {
        "bad": Measure(f"count(*) FILTER (WHERE {bad})", params),
        "sample": Measure(f"min(DISTINCT {subject}, {SAMPLE_SIZE}) FILTER (WHERE {bad})", params),
    }


def read_mismatches(
    column: str, total: int, found: dict[str, Any], key: str, wrong: str, right: str
) -> Outcome:
    """Allowed values and regex: `found` counts the values that are `wrong`."""
    sample = [jsonable(value) for value in found["sample"] or []]
    problem = f"have a value in {column} that {wrong}"
    holds = f"every value in {column} {right}"
    return _counted(found["bad"], total, problem, holds, {key: found["bad"]}, sample)


def latest_probe(column: str) -> Probe:
    """Microseconds since the epoch of the latest value (naive timestamps read as UTC)."""
    return {"latest_us": Measure(f"epoch_us(max({quote_identifier(column)}))")}


def read_latest(
    column: str, found: dict[str, Any], now: dt.datetime, max_age: dt.timedelta, as_written: str
) -> Outcome:
    if found.get("latest_us") is None:
        return Outcome(False, None, f"{column} has no values, so the data's age is unknown")
    latest = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=found["latest_us"])
    age = (now if now.tzinfo else now.replace(tzinfo=dt.UTC)) - latest
    hours = round(age / dt.timedelta(hours=1), 2)
    passed = age <= max_age
    message = f"the latest {column} is {'within' if passed else 'older than'} {as_written}"
    observed = {"latest": latest.isoformat(), "age_hours": hours, "max_age": as_written}
    return Outcome(passed, None, message, observed)


def measure(
    connection: duckdb.DuckDBPyConnection, parquet_path: str, probes: Mapping[int, Probe]
) -> tuple[int, dict[int, dict[str, Any] | str]]:
    """Row count and every probe's values, in one scan; a probe that errors gets its message.

    If the folded query fails (a cast error in one check), each probe runs alone so that one
    bad check does not take the others down.
    """
    try:
        return _measure_together(connection, parquet_path, probes)
    except duckdb.Error as exc:
        failure = str(exc).strip()
    total, _ = _measure_together(connection, parquet_path, {})
    if len(probes) == 1:
        return total, {key: failure for key in probes}
    found: dict[int, dict[str, Any] | str] = {}
    for key, probe in probes.items():
        try:
            found[key] = _measure_together(connection, parquet_path, {key: probe})[1][key]
        except duckdb.Error as exc:
            found[key] = str(exc).strip()
    return total, found


def _measure_together(
    connection: duckdb.DuckDBPyConnection, parquet_path: str, probes: Mapping[int, Probe]
) -> tuple[int, dict[int, dict[str, Any] | str]]:
    expressions, params = ["count(*)"], list[object]([parquet_path])
    for probe in probes.values():
        for item in probe.values():
            expressions.append(item.sql)
            params.extend(item.params)
    row = connection.execute(
        "WITH data AS (SELECT * FROM read_parquet(?)) SELECT "
        + ", ".join(expressions)
        + " FROM data",
        params,
    ).fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns one row
    values = iter(row[1:])
    found: dict[int, dict[str, Any] | str] = {
        key: {name: next(values) for name in probe} for key, probe in probes.items()
    }
    return int(row[0]), found


def find_duplicates(
    connection: duckdb.DuckDBPyConnection, parquet_path: str, columns: Sequence[str], total: int
) -> Outcome:
    """Rows whose key is held by another row too; rows with a NULL in a key column are skipped."""
    refs = [quote_identifier(column) for column in columns]
    # The inner query outputs only k and n, so user columns named like them cannot clash.
    key = refs[0] if len(refs) == 1 else f"row({', '.join(refs)})"
    try:
        row = connection.execute(
            "WITH data AS (SELECT * FROM read_parquet(?)), "
            f"repeated AS (SELECT {key} AS k, count(*) AS n FROM data "
            f"WHERE {' AND '.join(f'{ref} IS NOT NULL' for ref in refs)} "
            "GROUP BY ALL HAVING count(*) > 1) "
            f"SELECT count(*), coalesce(sum(n), 0), max_by(k, n, {SAMPLE_SIZE}) FROM repeated",
            [parquet_path],
        ).fetchone()
    except duckdb.Error as exc:
        return failed_on_data("the check could not run", str(exc).strip())
    assert row is not None
    keys, rows, sample = int(row[0]), int(row[1]), [jsonable(value) for value in row[2] or []]
    what = (
        f"value of {columns[0]}" if len(columns) == 1 else f"combination of ({', '.join(columns)})"
    )
    problem = f"share their {what} with another row ({keys} repeated)"
    observed = {"duplicate_values": keys, "duplicate_rows": rows}
    return _counted(rows, total, problem, f"every {what} is unique", observed, sample)


def single_select_problem(sql: str) -> str | None:
    """Why `sql` is not exactly one SELECT statement, or None when it is."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        return f"the SQL does not parse: {str(exc).strip()}"
    if len(statements) != 1:
        return f"expected exactly one SELECT statement, found {len(statements)}"
    kind = str(statements[0].type).rsplit(".", 1)[-1]
    if kind != "SELECT":
        return f"only a SELECT may run as a check, not {kind}"
    return None


class Sandbox:
    """A private in-memory DuckDB that sees the Parquet file as `data` and nothing else.

    The file is the one allowed path and external access is then switched off (for good: it
    cannot be switched back on, and the configuration is locked), which blocks other files,
    COPY, ATTACH, extensions and Python replacement scans (which would let SQL read any Python
    variable in scope). The view reads the file natively, with column pruning and row-group
    skipping; a registered Arrow dataset also works but was ~100x slower on 5M rows. The
    spill directory is switched off too, as DuckDB would otherwise allow reading it.
    It opens on first use.
    """

    def __init__(self, parquet_path: str, timeout_s: float) -> None:
        self._parquet_path = parquet_path
        self._timeout_s = timeout_s
        self._connection: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._connection is not None:
            self._connection.close()

    def _open(self) -> duckdb.DuckDBPyConnection:
        if self._connection is None:
            connection = duckdb.connect(":memory:")
            connection.execute("SET temp_directory = ''")
            connection.execute("SET allowed_paths = ?", [[self._parquet_path]])
            connection.read_parquet(self._parquet_path).create_view("data")
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
            self._connection = connection
        return self._connection

    def check(self, sql: str, total: int) -> Outcome:
        """Run one SELECT returning failing rows, or one BOOLEAN verdict; failures are outcomes."""
        problem = single_select_problem(sql)
        if problem:
            return could_not_run(f"the query cannot run: {problem}")
        connection = self._open()
        try:
            relation = connection.sql(sql)
        except duckdb.Error as exc:
            # Binding reads no rows, so the error is about the SQL text and may be shown whole.
            return could_not_run(f"the query failed: {str(exc).strip()}")
        timer = threading.Timer(self._timeout_s, connection.interrupt)
        timer.start()
        try:
            columns, types = list(relation.columns), [str(t) for t in relation.types]
            # The total comes with the first rows, so the query runs once.
            counted = relation.project(
                duckdb.SQLExpression("count(*) OVER ()"), duckdb.StarExpression()
            ).limit(SAMPLE_SIZE)
            rows = counted.fetchall()
        except duckdb.InterruptException:
            return could_not_run(f"the query ran longer than {self._timeout_s:g} s and was stopped")
        except duckdb.Error as exc:
            return failed_on_data("the query failed while reading the data", str(exc).strip())
        finally:
            timer.cancel()
        if types == ["BOOLEAN"] and len(rows) == 1:
            verdict = rows[0][1]
            shown = "NULL" if verdict is None else str(verdict).lower()
            return Outcome(
                verdict is True, None, f"the query returned {shown}", {"result": verdict}
            )
        failing = int(rows[0][0]) if rows else 0
        sample = [
            {column: jsonable(value) for column, value in zip(columns, row[1:], strict=True)}
            for row in rows
        ]
        message = f"the query returned {failing or 'no'} failing rows"
        return Outcome(failing == 0, failing, message, {"rows_returned": failing}, sample)


def regex_problem(pattern: str) -> str | None:
    """Why DuckDB's regex engine (RE2) rejects `pattern`, or None when it compiles."""
    with duckdb.connect(":memory:") as connection:
        try:
            connection.execute("SELECT regexp_full_match('', ?)", [pattern]).fetchall()
        except duckdb.Error as exc:
            reason = str(exc).strip().removeprefix("Invalid Input Error: ")
        else:
            return None
    if "perl operator" in reason or "escape sequence: \\" in reason or "repetition" in reason:
        reason += (
            " (DuckDB uses RE2, which has no lookahead or lookbehind, backreferences,"
            " atomic groups or possessive quantifiers; rewrite the pattern without them)"
        )
    return reason


def jsonable(value: object) -> Any:
    """A value that json.dumps accepts (strictly: no NaN) and that reads well in the UI."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return value[:_MAX_TEXT]
    if isinstance(value, float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else _NON_FINITE[str(number)]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value[:_MAX_TEXT]).decode()
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    return str(value)[:_MAX_TEXT]
