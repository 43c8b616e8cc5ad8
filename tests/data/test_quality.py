from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from seedbed.data.quality import (
    CHECK_TYPES,
    AllowedValues,
    Check,
    CheckResult,
    CustomSql,
    Freshness,
    NotNull,
    Range,
    Regex,
    RowCount,
    Unique,
    dump_checks_yaml,
    parse_checks_yaml,
    parse_duration,
    run_checks,
    summarise,
    validate_checks,
)
from seedbed.errors import Invalid

NOW = dt.datetime(2024, 1, 4, 12, 0, tzinfo=dt.UTC)
NAN = float("nan")


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(":memory:") as connection:
        yield connection


@pytest.fixture
def flights(tmp_path: Path) -> str:
    """Ten flights with a missing origin, a NaN and a NULL delay, and a repeated tail number."""
    table = pa.table(
        {
            "origin": ["JFK", "LGA", "EWR", "JFK", None, "LGA", "XYZ", "EWR", "JFK", "ewr"],
            "dep_delay": [1.0, -5.0, 30.0, NAN, None, 0.0, 120.0, 15.0, 2.0, 3.0],
            "distance": pa.array([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000], pa.int32()),
            "tailnum": ["N1", "N2", "N3", "N1", "N5", "N6", "N7x", "N8", "N1", None],
            "carrier": ["AA", "AA", "B6", "B6", "UA", "UA", "UA", "DL", "DL", "DL"],
            "flight": [1, 1, 2, 2, 3, 3, 4, 4, 1, 5],
            "cancelled": [False, False, True, False, False, None, False, False, False, False],
            "time_hour": pa.array(
                [dt.datetime(2024, 1, 1, h) for h in range(9)] + [dt.datetime(2024, 1, 3, 0)],
                pa.timestamp("us"),
            ),
        }
    )
    return write(tmp_path / "flights.parquet", table)


def write(path: Path, table: pa.Table) -> str:
    pq.write_table(table, path)
    return str(path)


def check_one(
    connection: duckdb.DuckDBPyConnection, path: str, check: Check, now: dt.datetime = NOW
) -> CheckResult:
    (result,) = run_checks(connection, path, [check], now)
    return result


def test_not_null_counts_nulls_and_nans_as_missing(connection, flights) -> None:
    origin = check_one(connection, flights, NotNull(column="origin"))
    assert (origin.passed, origin.failing_rows, origin.total_rows) == (False, 1, 10)
    assert origin.observed == {"nulls": 1}
    assert origin.message == "1 of 10 rows have no value in origin"
    delay = check_one(connection, flights, NotNull(column="dep_delay"))
    assert (delay.failing_rows, delay.observed) == (2, {"nulls": 1, "nans": 1})
    assert "(1 of them NaN)" in delay.message
    distance = check_one(connection, flights, NotNull(column="distance"))
    assert (distance.passed, distance.failing_rows) == (True, 0)
    assert distance.message == "all 10 rows have a value in distance"


def test_unique_counts_every_row_that_shares_its_key(connection, flights) -> None:
    tail = check_one(connection, flights, Unique(columns=["tailnum"]))
    # N1 three times; the NULL tail number is skipped, not a duplicate.
    assert (tail.passed, tail.failing_rows) == (False, 3)
    assert tail.observed == {"duplicate_values": 1, "duplicate_rows": 3}
    assert tail.sample == ["N1"]
    pair = check_one(connection, flights, Unique(columns=["carrier", "flight"]))
    assert (pair.failing_rows, pair.observed["duplicate_values"]) == (6, 3)
    assert sorted(pair.sample) == [["AA", 1], ["B6", 2], ["UA", 3]]
    # The message keeps counts and the rule; the values are only in the sample.
    assert (
        pair.message
        == "6 of 10 rows share their combination of (carrier, flight) with another row (3 repeated)"
    )
    unique = check_one(connection, flights, Unique(columns=["carrier", "distance"]))
    assert (unique.passed, unique.failing_rows, unique.sample) == (True, 0, [])
    assert unique.message == "every combination of (carrier, distance) is unique"
    flight = check_one(connection, flights, Unique(columns=["flight"]))
    assert (flight.failing_rows, flight.observed["duplicate_values"]) == (9, 4)
    assert sorted(flight.sample) == [1, 2, 3, 4]


def test_range_is_inclusive_by_default_and_counts_nan_as_out_of_range(connection, flights) -> None:
    result = check_one(connection, flights, Range(column="dep_delay", min=0, max=30))
    # -5 and 120 are outside, NaN is out of range, NULL is left to not_null.
    assert (result.passed, result.failing_rows) == (False, 3)
    assert result.observed == {"min": -5.0, "max": 120.0, "nans": 1}
    assert result.sample == [-5.0, 120.0, "NaN"]
    assert (
        result.message
        == "3 of 10 rows have dep_delay out of range (expected between 0 and 30; 1 NaN)"
    )
    strict = check_one(
        connection, flights, Range(column="dep_delay", min=0, max=30, inclusive=False)
    )
    assert strict.failing_rows == 5  # 0 and 30 now fail too
    only_min = check_one(connection, flights, Range(column="distance", min=100))
    assert (only_min.passed, only_min.failing_rows) == (True, 0)
    assert only_min.observed == {"min": 100, "max": 1000}
    only_max = check_one(connection, flights, Range(column="distance", max=550.5))
    assert (only_max.failing_rows, only_max.sample) == (5, [1000, 900, 800, 700, 600])


def test_allowed_values_ignore_nulls_and_compare_in_the_column_type(connection, flights) -> None:
    origin = check_one(
        connection, flights, AllowedValues(column="origin", values=["JFK", "LGA", "EWR"])
    )
    assert (origin.passed, origin.failing_rows) == (False, 2)  # XYZ and lower-case ewr
    assert origin.sample == ["XYZ", "ewr"]
    assert origin.message == "2 of 10 rows have a value in origin that is not allowed"
    # Numbers given as text still match a numeric column; text that is no number never matches.
    flight = check_one(
        connection, flights, AllowedValues(column="flight", values=[1, "2", 3.0, "x"])
    )
    assert (flight.failing_rows, flight.sample) == (3, [4, 5])
    text_vs_numbers = check_one(connection, flights, AllowedValues(column="tailnum", values=[1]))
    assert text_vs_numbers.failing_rows == 9 and not text_vs_numbers.errored
    # Over 64 values the comparison becomes a semi-join; the counts must not change.
    many = AllowedValues(column="flight", values=[1, 2, 3, 4, *(str(n) for n in range(100, 200))])
    assert check_one(connection, flights, many).failing_rows == 1
    flags = check_one(connection, flights, AllowedValues(column="cancelled", values=[False]))
    assert (flags.failing_rows, flags.sample) == (1, [True])


def test_regex_must_match_the_whole_value(connection, flights) -> None:
    result = check_one(connection, flights, Regex(column="tailnum", pattern=r"N\d+"))
    assert (result.passed, result.failing_rows, result.sample) == (False, 1, ["N7x"])
    assert result.observed == {"mismatches": 1}
    assert result.message == r"1 of 10 rows have a value in tailnum that does not match N\d+"
    numbers = check_one(connection, flights, Regex(column="distance", pattern=r"\d00"))
    assert numbers.failing_rows == 1  # 1000, matched as text


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("(N", "missing \\)"),
        ("N(?=1)", "RE2, which has no lookahead"),
        (r"(N)\1", "backreferences"),
    ],
)
def test_regex_patterns_are_checked_when_defined(pattern: str, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        Regex(column="tailnum", pattern=pattern)


def test_row_count_bounds(connection, flights) -> None:
    assert check_one(connection, flights, RowCount(min=10, max=10)).passed
    few = check_one(connection, flights, RowCount(min=11))
    assert (few.passed, few.failing_rows, few.observed) == (False, None, {"rows": 10})
    assert few.message == "the data has 10 rows; expected at least 11"
    assert not check_one(connection, flights, RowCount(max=9)).passed
    with pytest.raises(ValidationError, match="give min, max or both"):
        RowCount()


def test_freshness_measures_the_age_of_the_latest_value(connection, flights) -> None:
    fresh = check_one(connection, flights, Freshness(column="time_hour", max_age="36h"))
    assert fresh.passed
    assert fresh.observed == {
        "latest": "2024-01-03T00:00:00+00:00",
        "age_hours": 36.0,
        "max_age": "36h",
    }
    stale = check_one(connection, flights, Freshness(column="time_hour", max_age="90m"))
    assert fresh.message == "the latest time_hour is within 36h"
    assert not stale.passed and stale.message == "the latest time_hour is older than 90m"
    naive_now = check_one(
        connection, flights, Freshness(column="time_hour", max_age="1d"), NOW.replace(tzinfo=None)
    )
    assert naive_now.observed["age_hours"] == 36.0


def test_freshness_on_zoned_timestamps_and_dates(connection, tmp_path) -> None:
    path = write(
        tmp_path / "zoned.parquet",
        pa.table(
            {
                "at": pa.array(
                    [dt.datetime(2024, 1, 4, 10, tzinfo=dt.UTC)], pa.timestamp("us", "UTC")
                ),
                "day": pa.array([dt.date(2024, 1, 2)], pa.date32()),
                "empty": pa.array([None], pa.timestamp("us")),
            }
        ),
    )
    berlin = dt.timezone(dt.timedelta(hours=1))
    at = check_one(connection, path, Freshness(column="at", max_age="2h"), NOW.astimezone(berlin))
    assert (at.passed, at.observed["age_hours"]) == (True, 2.0)
    day = check_one(connection, path, Freshness(column="day", max_age="2d"))
    assert (day.passed, day.observed["age_hours"]) == (False, 60.0)
    empty = check_one(connection, path, Freshness(column="empty", max_age="7d"))
    assert not empty.passed and "no values" in empty.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("36h", dt.timedelta(hours=36)),
        ("7d", dt.timedelta(days=7)),
        ("90m", dt.timedelta(minutes=90)),
        (" 1.5w", dt.timedelta(weeks=1.5)),
    ],
)
def test_durations(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("max_age", "expected"),
    [
        ("3y", "unknown unit 'y'; use s, m, h, d or w"),
        ("36", "no unit"),
        ("soon", "not a duration"),
        ("0h", "longer than zero"),
    ],
)
def test_bad_max_age_is_rejected_when_defined(max_age: str, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        Freshness(column="time_hour", max_age=max_age)


def test_custom_sql_returns_the_failing_rows(connection, flights) -> None:
    sql = "SELECT origin, dep_delay FROM data WHERE dep_delay > 20 ORDER BY dep_delay -- late\n;"
    result = check_one(connection, flights, CustomSql(name="late", sql=sql))
    # DuckDB orders NaN above every number, so NaN > 20 holds; the sample stays strict JSON.
    assert (result.passed, result.failing_rows, result.total_rows) == (False, 3, 10)
    assert result.sample == [
        {"origin": "EWR", "dep_delay": 30.0},
        {"origin": "XYZ", "dep_delay": 120.0},
        {"origin": "JFK", "dep_delay": "NaN"},
    ]
    assert result.message == "the query returned 3 failing rows"
    none = check_one(connection, flights, CustomSql(sql="from data where distance < 0"))
    assert (none.passed, none.failing_rows) == (True, 0)


def test_custom_sql_may_return_one_boolean(connection, flights) -> None:
    ok = check_one(connection, flights, CustomSql(sql="SELECT avg(distance) > 500 FROM data"))
    assert (ok.passed, ok.failing_rows, ok.observed) == (True, None, {"result": True})
    bad = check_one(connection, flights, CustomSql(sql="SELECT count(*) = 0 FROM data"))
    assert (bad.passed, bad.message) == (False, "the query returned false")
    null = check_one(connection, flights, CustomSql(sql="SELECT NULL::BOOLEAN"))
    assert not null.passed and null.message == "the query returned NULL"


def test_custom_sql_that_errors_fails_with_duckdbs_message(connection, flights) -> None:
    result = check_one(connection, flights, CustomSql(sql="SELECT nope FROM data"))
    assert (result.passed, result.errored, result.failing_rows) == (False, True, None)
    assert result.message.startswith("the query failed: Binder Error")
    assert "nope" in result.message
    # An error while reading the rows may quote a value: only its kind goes in the message.
    quoting = check_one(connection, flights, CustomSql(sql="SELECT error(tailnum) FROM data"))
    assert quoting.errored and "N1" in quoting.observed["error"]
    assert quoting.message == "the query failed while reading the data (Invalid Input Error)"


@pytest.mark.parametrize(
    "statement",
    [
        "DROP VIEW data",
        "SELECT 1; SELECT 2",
        "COPY data TO 'out.csv'",
        "SET threads = 1",
        "INSTALL httpfs",
        "CHECKPOINT",
        "ATTACH 'x.db'",
        "SELEC 1",
        "",
    ],
)
def test_custom_sql_must_be_one_select(statement: str) -> None:
    with pytest.raises(ValidationError, match=r"SELECT|parse|at least 1 character"):
        CustomSql(sql=statement)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_parquet('{other}')",
        "SELECT * FROM glob('{folder}/*')",
    ],
)
def test_custom_sql_sees_only_the_data(connection, flights, tmp_path, query: str) -> None:
    other = write(tmp_path / "other.parquet", pa.table({"password": ["hunter2"]}))
    check = CustomSql(sql=query.format(other=other, folder=tmp_path))
    result = check_one(connection, flights, check)
    assert (result.passed, result.errored) == (False, True)
    assert "file system operations are disabled" in result.message
    # The data file itself may be read by name: it is the data.
    itself = CustomSql(sql=f"SELECT * FROM read_parquet('{flights}') WHERE flight > 4")
    assert check_one(connection, flights, itself).failing_rows == 1


def test_custom_sql_stops_after_the_timeout_and_the_next_query_still_runs(
    connection, flights
) -> None:
    endless = (
        "SELECT count(*) = 0 FROM range(1000000) a, range(1000000) b WHERE a.range * b.range = 7"
    )
    checks = [CustomSql(name="endless", sql=endless), CustomSql(sql="FROM data WHERE flight > 4")]
    slow, quick = run_checks(connection, flights, checks, NOW, custom_sql_timeout_s=0.2)
    assert slow.errored and slow.message == "the query ran longer than 0.2 s and was stopped"
    assert (quick.errored, quick.failing_rows) == (False, 1)


def test_a_missing_column_fails_only_its_check(connection, flights) -> None:
    results = run_checks(
        connection,
        flights,
        [NotNull(column="Origin"), Unique(columns=["tailnum", "gate"]), NotNull(column="distance")],
        NOW,
    )
    assert [(r.passed, r.errored) for r in results] == [(False, True), (False, True), (True, False)]
    assert results[0].message == "column 'Origin' not found in the data; did you mean 'origin'?"
    assert results[1].message.startswith(
        "column 'gate' not found in the data; columns are: origin,"
    )


def test_checks_on_the_wrong_column_type_fail_clearly(connection, flights) -> None:
    results = run_checks(
        connection,
        flights,
        [Range(column="origin", min=0), Freshness(column="distance", max_age="1d")],
        NOW,
    )
    assert [r.message for r in results] == [
        "range needs a numeric column, but origin is VARCHAR",
        "freshness needs a DATE or TIMESTAMP column, but distance is INTEGER",
    ]


def test_a_check_that_breaks_the_shared_scan_does_not_break_the_others(connection, flights) -> None:
    # model_construct skips validation, as a check stored by an older seedbed might.
    broken = Regex.model_construct(name="broken", column="tailnum", pattern="(", severity="error")
    writes = CustomSql.model_construct(name="writes", sql="DROP VIEW data", severity="error")
    results = run_checks(connection, flights, [NotNull(column="origin"), broken, writes], NOW)
    assert [r.failing_rows for r in results] == [1, None, None]
    assert results[1].errored and "missing )" in results[1].observed["error"]
    assert results[1].message == "the check could not run (Invalid Input Error)"
    assert results[2].message == "the query cannot run: only a SELECT may run as a check, not DROP"


def test_weird_column_names_are_quoted(connection, tmp_path) -> None:
    names = ['dep "delay"', "my col", "select", "ünïcode", "k", "n"]
    table = pa.table({name: [1, 2, 2, None] for name in names})
    path = write(tmp_path / "weird.parquet", table)
    checks: list[Check] = [
        *(NotNull(column=name) for name in names),
        Unique(columns=["k", "n"]),
        Range(column='dep "delay"', min=1, max=1),
        AllowedValues(column="my col", values=[1, 2]),
        Regex(column="select", pattern="[12]"),
        CustomSql(sql='SELECT * FROM data WHERE "dep ""delay""" = 2'),
    ]
    results = run_checks(connection, path, checks, NOW)
    assert [r.failing_rows for r in results] == [1] * 6 + [2, 2, 0, 0, 2]
    assert not any(r.errored for r in results)
    assert results[6].sample == [[2, 2]]


def test_empty_data(connection, tmp_path) -> None:
    path = write(tmp_path / "empty.parquet", pa.table({"x": pa.array([], pa.float64())}))
    results = run_checks(
        connection,
        path,
        [NotNull(column="x"), Unique(columns=["x"]), Range(column="x", min=0), RowCount(min=1)],
        NOW,
    )
    assert [r.passed for r in results] == [True, True, True, False]
    assert {r.total_rows for r in results} == {0}
    assert results[2].message == "all values of x are >= 0 (no values)"


def test_results_are_json(connection, flights) -> None:
    checks = [
        Range(column="dep_delay", max=10),
        CustomSql(sql="SELECT * FROM data WHERE dep_delay IS NULL OR isnan(dep_delay)"),
    ]
    for result in run_checks(connection, flights, checks, NOW):
        assert json.loads(json.dumps(result.model_dump(), allow_nan=False))["name"] == result.name


def test_default_names_and_severity() -> None:
    assert NotNull(column="origin").name == "not_null(origin)"
    assert Unique(columns="tailnum").name == "unique(tailnum)"
    assert Unique(columns=["carrier", "flight"]).name == "unique(carrier, flight)"
    assert RowCount(min=1).name == "row_count"
    assert CustomSql(sql="select 1").name == "custom_sql"
    assert Range(column="x", min=0, name="  positive ").name == "positive"
    assert NotNull(column="x").severity == "error"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        NotNull(column="x", colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="min \\(5\\) must be below max \\(1\\)"):
        Range(column="x", min=5, max=1)


def test_summarise() -> None:
    def result(severity: Any, passed: bool) -> CheckResult:
        return CheckResult(
            name="c",
            kind="not_null",
            severity=severity,
            passed=passed,
            failing_rows=0,
            total_rows=1,
            message="",
        )

    assert summarise([]) == "passed"
    assert summarise([result("error", True), result("warning", True)]) == "passed"
    assert summarise([result("error", True), result("warning", False)]) == "warning"
    assert summarise([result("error", False), result("warning", False)]) == "failed"


ALL_KINDS = """\
checks:
  - kind: not_null
    column: origin
  - kind: unique
    columns: [carrier, flight]
    severity: warning
  - kind: range
    column: dep_delay
    min: -60
    max: 600
    inclusive: false
  - kind: allowed_values
    name: known airports
    column: origin
    values: [JFK, LGA, EWR, 1, 2.5, true, "yes"]
  - kind: regex
    column: tailnum
    pattern: '^N[0-9A-Z]+$'
  - kind: row_count
    min: 1
  - kind: freshness
    column: time_hour
    max_age: 36h
  - kind: custom_sql
    name: no negative distance
    sql: |
      SELECT *
      FROM data
      WHERE distance < 0
"""


def test_yaml_round_trip() -> None:
    checks = parse_checks_yaml(ALL_KINDS)
    assert [check.kind for check in checks] == list(CHECK_TYPES)
    assert checks[1].severity == "warning"
    values = ["JFK", "LGA", "EWR", 1, 2.5, True, "yes"]  # types kept as written
    assert isinstance(checks[3], AllowedValues) and checks[3].values == values
    text = dump_checks_yaml(checks)
    assert parse_checks_yaml(text) == checks
    assert dump_checks_yaml(parse_checks_yaml(text)) == text
    assert "name: not_null" not in text  # derived names are left out
    assert "sql: |" in text
    assert parse_checks_yaml("") == [] and parse_checks_yaml("checks: []") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("checks: [", "not valid YAML"),
        ("- kind: not_null", "top-level 'checks:' list"),
        ("checks: {kind: not_null}", "must be a list"),
        (
            "checks:\n  - kind: nonsense\n",
            r"checks\[0\] \(line 2\): unknown kind 'nonsense'; one of: not_null, unique",
        ),
        ("checks:\n  - column: x\n", r"checks\[0\] \(line 2\): missing 'kind'"),
        ("checks:\n  - not_null\n", "expected a mapping with a 'kind', got str"),
        ("checks:\n  - kind: not_null\n", r"not_null: column is required"),
        (
            "checks:\n  - kind: not_null\n    column: x\n    colour: red\n",
            "'colour' is not a field of NotNull",
        ),
        ("checks:\n  - kind: range\n    column: x\n", "range: give min, max or both"),
        ("checks:\n  - kind: regex\n    column: x\n    pattern: '(?<!a)b'\n", "RE2"),
        (
            "checks:\n  - kind: freshness\n    column: x\n    max_age: 3y\n",
            "max_age: '3y' has unknown unit 'y'",
        ),
        (
            "checks:\n  - kind: not_null\n    column: x\n  - kind: not_null\n    column: x\n",
            "both named 'not_null\\(x\\)'",
        ),
    ],
)
def test_yaml_errors_name_the_item_and_the_problem(text: str, expected: str) -> None:
    with pytest.raises(Invalid, match=expected):
        parse_checks_yaml(text)


def test_checks_from_forms_and_the_sdk_are_validated_alike() -> None:
    checks = validate_checks([NotNull(column="origin"), {"kind": "row_count", "min": 1}])
    assert checks == [NotNull(column="origin"), RowCount(min=1)]
    with pytest.raises(Invalid, match=r"checks\[1\]: row_count: min: Input should be greater"):
        validate_checks([NotNull(column="origin"), {"kind": "row_count", "min": -1}])


def test_yaml_reports_every_bad_item() -> None:
    text = "checks:\n  - kind: not_null\n    column: ok\n  - kind: nope\n  - kind: row_count\n"
    with pytest.raises(Invalid) as caught:
        parse_checks_yaml(text)
    assert str(caught.value).splitlines() == [
        "Invalid checks:",
        "- checks[1] (line 4): unknown kind 'nope'; one of: "
        "not_null, unique, range, allowed_values, regex, row_count, freshness, custom_sql",
        "- checks[2] (line 5): row_count: give min, max or both",
    ]
