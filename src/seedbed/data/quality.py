"""Declarative data-quality checks on dataset versions: definitions, YAML, evaluation, verdict.

A check is a small typed model (`NotNull`, `Unique`, `Range`, `AllowedValues`, `Regex`,
`RowCount`, `Freshness`, `CustomSql`); `run_checks` evaluates a list of them over one Parquet
file with DuckDB, folding the column checks into a single scan, and `summarise` turns the
results into the version's verdict. Storage and pages live elsewhere; this module is pure.

Conventions a user should know: NULLs only fail `not_null` (NaN counts as missing there and
as out of range in `range`); `unique` skips rows with a NULL in a key column; `regex` must
match the whole value, in DuckDB's RE2 dialect; naive timestamps, and a naive `now`, are UTC.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from seedbed.data import quality_sql
from seedbed.errors import Invalid

Severity = Literal["error", "warning"]
Verdict = Literal["passed", "warning", "failed"]
Value = str | int | float | bool

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> dt.timedelta:
    """'90m', '36h', '7d' (also s and w) as a timedelta; ValueError says what is wrong."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like '90m', '36h' or '7d'")
    number, unit = match.groups()
    if unit not in _UNIT_SECONDS:
        what = f"unknown unit {unit!r}" if unit else "no unit"
        raise ValueError(f"{text!r} has {what}; use s, m, h, d or w, e.g. '90m', '36h' or '7d'")
    seconds = float(number) * _UNIT_SECONDS[unit]
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return dt.timedelta(seconds=seconds)


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    name: str = Field(default="", max_length=200, description="Defaults to e.g. not_null(origin).")
    severity: Severity = "error"

    def default_name(self) -> str:
        raise NotImplementedError

    def columns_used(self) -> list[str]:
        return []

    @model_validator(mode="after")
    def _name_or_default(self) -> Self:
        self.name = self.name.strip() or self.default_name()
        return self


class _ColumnCheck(_Check):
    column: str = Field(min_length=1)

    def default_name(self) -> str:
        return f"{self.kind}({self.column})"

    def columns_used(self) -> list[str]:
        return [self.column]


class NotNull(_ColumnCheck):
    """Every row has a value in `column` (NULL and NaN count as missing)."""

    kind: Literal["not_null"] = "not_null"


class Unique(_Check):
    """No two rows share the combination of `columns`; rows with a NULL key are skipped."""

    kind: Literal["unique"] = "unique"
    columns: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)

    @field_validator("columns", mode="before")
    @classmethod
    def _one_column_as_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("columns")
    @classmethod
    def _no_repeats(cls, columns: list[str]) -> list[str]:
        if len(set(columns)) != len(columns):
            raise ValueError(f"columns lists a column twice: {columns}")
        return columns

    def default_name(self) -> str:
        return f"unique({', '.join(self.columns)})"

    def columns_used(self) -> list[str]:
        return list(self.columns)


class Range(_ColumnCheck):
    """Numeric values of `column` lie within [min, max] (or (min, max) when not inclusive)."""

    kind: Literal["range"] = "range"
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)
    inclusive: bool = True

    @model_validator(mode="after")
    def _has_sensible_bounds(self) -> Self:
        low, high = self.min, self.max
        if low is None and high is None:
            raise ValueError("give min, max or both")
        if (
            low is not None
            and high is not None
            and (low > high or (low == high and not self.inclusive))
        ):
            raise ValueError(f"min ({low:g}) must be below max ({high:g})")
        return self

    def expectation(self) -> str:
        low, high, strict = self.min, self.max, "" if self.inclusive else "strictly "
        if low is not None and high is not None:
            return f"{strict}between {low:g} and {high:g}"
        if low is not None:
            return f"{'>=' if self.inclusive else '>'} {low:g}"
        return f"{'<=' if self.inclusive else '<'} {high:g}"


class AllowedValues(_ColumnCheck):
    """Every non-NULL value of `column` is one of `values`."""

    kind: Literal["allowed_values"] = "allowed_values"
    values: list[Value] = Field(min_length=1)


class Regex(_ColumnCheck):
    """Every non-NULL value of `column`, as text, fully matches `pattern` (RE2 syntax)."""

    kind: Literal["regex"] = "regex"
    pattern: str = Field(min_length=1)

    @field_validator("pattern")
    @classmethod
    def _compiles_in_duckdb(cls, pattern: str) -> str:
        problem = quality_sql.regex_problem(pattern)
        if problem:
            raise ValueError(f"pattern {pattern!r} does not compile: {problem}")
        return pattern


class RowCount(_Check):
    """The number of rows lies within [min, max]."""

    kind: Literal["row_count"] = "row_count"
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _has_sensible_bounds(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) must not be above max ({self.max})")
        return self

    def default_name(self) -> str:
        return "row_count"

    def expectation(self) -> str:
        if self.min is not None and self.max is not None:
            return f"between {self.min} and {self.max}"
        return f"at least {self.min}" if self.min is not None else f"at most {self.max}"


class Freshness(_ColumnCheck):
    """The latest value of a DATE or TIMESTAMP `column` is at most `max_age` ('36h', '7d') old."""

    kind: Literal["freshness"] = "freshness"
    max_age: str

    @field_validator("max_age")
    @classmethod
    def _is_duration(cls, max_age: str) -> str:
        parse_duration(max_age)
        return max_age.strip()


class CustomSql(_Check):
    """One SELECT over the table `data` that returns the FAILING rows (none means passed), or
    exactly one row with one BOOLEAN column: the verdict. It runs in a sandbox that sees only
    the data: no files, no other tables, no writes."""

    kind: Literal["custom_sql"] = "custom_sql"
    sql: str = Field(min_length=1)

    @field_validator("sql")
    @classmethod
    def _is_one_select(cls, text: str) -> str:
        problem = quality_sql.single_select_problem(text)
        if problem:
            raise ValueError(problem)
        return text

    def default_name(self) -> str:
        return "custom_sql"


Check = Annotated[
    NotNull | Unique | Range | AllowedValues | Regex | RowCount | Freshness | CustomSql,
    Field(discriminator="kind"),
]
CHECK_TYPES: dict[str, type[_Check]] = {
    model.model_fields["kind"].default: model
    for model in (NotNull, Unique, Range, AllowedValues, Regex, RowCount, Freshness, CustomSql)
}


class CheckResult(BaseModel):
    """The outcome of one check on one dataset version; JSON-able as it stands."""

    name: str
    kind: str
    severity: Severity
    passed: bool
    failing_rows: int | None
    total_rows: int
    observed: dict[str, Any] = Field(default_factory=dict)
    message: str
    sample: list[Any] = Field(default_factory=list)
    errored: bool = False  # the check could not run (missing column, bad SQL), so it failed
    columns: list[str] | None = Field(
        None, description="The columns the check read; null for custom SQL, which may read any."
    )
    withheld: bool = Field(
        False,
        description="The sample and the observed values (min, max, latest, DuckDB's error) were "
        "left out: they come from restricted data, and reading it needs the pii permission.",
    )


def validate_checks(items: Sequence[object], lines: Sequence[int | None] = ()) -> list[Check]:
    """Checks from plain mappings (UI forms, SDK, YAML) or models; Invalid names each bad item."""
    checks: list[Check] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        line = lines[index] if index < len(lines) else None
        where = f"checks[{index}]" + (f" (line {line})" if line else "")
        try:
            checks.append(_validate_one(item))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    first_with_name: dict[str, int] = {}
    for index, check in enumerate(checks if not problems else []):
        first = first_with_name.setdefault(check.name, index)
        if first != index:
            problems.append(
                f"checks[{first}] and checks[{index}] are both named {check.name!r}; "
                "give one of them a different 'name:'"
            )
    if problems:
        raise Invalid("Invalid checks:\n" + "\n".join(f"- {problem}" for problem in problems))
    return checks


def _validate_one(item: object) -> Check:
    if isinstance(item, _Check):
        return item  # type: ignore[return-value]  # every concrete _Check is a Check
    if not isinstance(item, dict):
        raise ValueError(f"expected a mapping with a 'kind', got {type(item).__name__}")
    kinds = ", ".join(CHECK_TYPES)
    if "kind" not in item:
        raise ValueError(f"missing 'kind'; one of: {kinds}")
    model = CHECK_TYPES.get(str(item["kind"]))
    if model is None:
        raise ValueError(f"unknown kind {item['kind']!r}; one of: {kinds}")
    try:
        return model.model_validate(item)  # type: ignore[return-value]
    except ValidationError as exc:
        raise ValueError(
            f"{item['kind']}: " + "; ".join(_describe(model, e) for e in exc.errors())
        ) from None


def _describe(model: type[_Check], error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return (
            f"{field!r} is not a field of {model.__name__}; fields: {', '.join(model.model_fields)}"
        )
    if error["type"] == "missing":
        return f"{field} is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}" if field else message


def parse_checks_yaml(text: str) -> list[Check]:
    """Checks from YAML with a top-level `checks:` list; Invalid names the bad item and why."""
    try:
        document = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise Invalid(f"The checks are not valid YAML: {exc}") from exc
    if document is None:
        return []
    if not isinstance(document, dict) or set(document) != {"checks"}:
        raise Invalid(
            "Write the checks as one top-level 'checks:' list, e.g.\n"
            "checks:\n  - kind: not_null\n    column: origin"
        )
    items = document["checks"]
    if items is None:
        return []
    if not isinstance(items, list):
        raise Invalid("'checks:' must be a list, one '- kind: ...' entry per check")
    return validate_checks(items, _item_lines(root))


def _item_lines(root: yaml.Node | None) -> list[int | None]:
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "checks" and isinstance(value, yaml.SequenceNode):
            return [node.start_mark.line + 1 for node in value.value]
    return []


class _ChecksDumper(yaml.SafeDumper):
    """Writes multi-line strings (custom SQL) as literal blocks and short lists on one line."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    flat = all(not isinstance(item, list | dict) for item in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flat)


_ChecksDumper.add_representer(str, _represent_text)
_ChecksDumper.add_representer(list, _represent_list)


def dump_checks_yaml(checks: Sequence[Check]) -> str:
    """YAML that parse_checks_yaml reads back into equal checks; defaults are left out."""
    items = []
    for check in checks:
        fields = check.model_dump(mode="json", exclude_defaults=True, exclude={"kind"})
        if fields.get("name") == check.default_name():
            del fields["name"]
        items.append({"kind": check.kind, **fields})
    return yaml.dump({"checks": items}, Dumper=_ChecksDumper, sort_keys=False, allow_unicode=True)


def run_checks(
    connection: duckdb.DuckDBPyConnection,
    parquet_path: str,
    checks: Sequence[Check],
    now: dt.datetime,
    *,
    custom_sql_timeout_s: float = 60.0,
) -> list[CheckResult]:
    """Evaluate every check over the Parquet file, in order; a check that cannot run fails.

    The column checks share one aggregate scan, each `unique` check one GROUP BY, and custom
    SQL runs in a sandboxed DuckDB (see `CustomSql`) that stops after `custom_sql_timeout_s`.
    """
    schema = quality_sql.read_schema(connection, parquet_path)
    problems = {
        index: problem
        for index, check in enumerate(checks)
        if (problem := quality_sql.column_problem(check.kind, check.columns_used(), schema))
    }
    probes = {
        index: probe
        for index, check in enumerate(checks)
        if index not in problems and (probe := _probe(check, schema))
    }
    total, measured = quality_sql.measure(connection, parquet_path, probes)
    results = []
    with quality_sql.Sandbox(parquet_path, custom_sql_timeout_s) as sandbox:
        for index, check in enumerate(checks):
            found = measured.get(index) or {}
            if index in problems:
                outcome = quality_sql.could_not_run(problems[index])
            elif isinstance(found, str):
                outcome = quality_sql.failed_on_data("the check could not run", found)
            elif isinstance(check, CustomSql):
                outcome = sandbox.check(check.sql, total)
            elif isinstance(check, Unique):
                outcome = quality_sql.find_duplicates(
                    connection, parquet_path, check.columns, total
                )
            else:
                outcome = _judge(check, total, found, now)
            results.append(
                CheckResult(
                    name=check.name,
                    kind=check.kind,
                    severity=check.severity,
                    total_rows=total,
                    columns=None if isinstance(check, CustomSql) else check.columns_used(),
                    **dataclasses.asdict(outcome),
                )
            )
    return results


def summarise(results: Sequence[CheckResult]) -> Verdict:
    """The version's verdict: failed if an error check failed, warning if only warnings did."""
    failed = {result.severity for result in results if not result.passed}
    return "failed" if "error" in failed else "warning" if failed else "passed"


def _probe(check: Check, schema: dict[str, str]) -> quality_sql.Probe | None:
    if isinstance(check, NotNull):
        return quality_sql.null_probe(check.column, schema[check.column])
    if isinstance(check, Range):
        column_type = schema[check.column]
        return quality_sql.range_probe(
            check.column, column_type, check.min, check.max, check.inclusive
        )
    if isinstance(check, AllowedValues):
        return quality_sql.allowed_probe(check.column, schema[check.column], check.values)
    if isinstance(check, Regex):
        return quality_sql.regex_probe(check.column, schema[check.column], check.pattern)
    if isinstance(check, Freshness):
        return quality_sql.latest_probe(check.column)
    return None


def _judge(
    check: NotNull | Range | AllowedValues | Regex | RowCount | Freshness,
    total: int,
    found: dict[str, Any],
    now: dt.datetime,
) -> quality_sql.Outcome:
    if isinstance(check, NotNull):
        return quality_sql.read_nulls(check.column, total, found)
    if isinstance(check, Range):
        return quality_sql.read_range(check.column, total, found, check.expectation())
    if isinstance(check, AllowedValues):
        return quality_sql.read_mismatches(
            check.column, total, found, "not_allowed", "is not allowed", "is allowed"
        )
    if isinstance(check, Regex):
        wrong, right = f"does not match {check.pattern}", f"fully matches {check.pattern}"
        return quality_sql.read_mismatches(check.column, total, found, "mismatches", wrong, right)
    if isinstance(check, Freshness):
        max_age = parse_duration(check.max_age)
        return quality_sql.read_latest(check.column, found, now, max_age, check.max_age)
    passed = (check.min or 0) <= total <= (total if check.max is None else check.max)
    message = f"the data has {total} rows; expected {check.expectation()}"
    return quality_sql.Outcome(passed, None, message, {"rows": total})
