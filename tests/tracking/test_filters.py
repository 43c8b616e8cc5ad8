from __future__ import annotations

import re

import pytest

from seedbed.errors import Invalid
from seedbed.tracking.filters import (
    And,
    Comparison,
    Or,
    OrderBy,
    parse_filter,
    parse_order_by,
)


def one(text: str) -> Comparison:
    parsed = parse_filter(text)
    assert isinstance(parsed, Comparison), parsed
    return parsed


def shape(text: str) -> object:
    """The parse tree without positions, as nested tuples, to compare whole trees."""

    def walk(node: object) -> object:
        if isinstance(node, Comparison):
            return (node.kind, node.key, node.op, node.value)
        assert isinstance(node, And | Or)
        return (type(node).__name__, *(walk(item) for item in node.items))

    return walk(parse_filter(text))


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_filter_is_none(text: str) -> None:
    assert parse_filter(text) is None


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
def test_metric_comparators(op: str) -> None:
    assert one(f"metrics.auc {op} 0.75") == Comparison("metric", "auc", op, 0.75, 1)


@pytest.mark.parametrize(
    ("literal", "number"), [("1", 1.0), ("-2.5", -2.5), ("+3", 3.0), (".5", 0.5), ("1e-3", 0.001)]
)
def test_metric_numbers(literal: str, number: float) -> None:
    assert one(f"metrics.loss<{literal}").value == number


@pytest.mark.parametrize("op", ["=", "!=", "LIKE", "ILIKE"])
@pytest.mark.parametrize("prefix", ["params", "tags"])
def test_string_comparators(op: str, prefix: str) -> None:
    kind = prefix[:-1]
    assert one(f"{prefix}.model {op} 'lgbm%'") == Comparison(kind, "model", op, "lgbm%", 1)


@pytest.mark.parametrize("op", ["IS NULL", "IS NOT NULL"])
def test_null_checks_on_params_and_tags(op: str) -> None:
    assert one(f"params.alpha {op.lower()}") == Comparison("param", "alpha", op, None, 1)
    assert one(f"tags.note {op}").op == op


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("metric", "metric"),
        ("metrics", "metric"),
        ("param", "param"),
        ("params", "param"),
        ("parameter", "param"),
        ("parameters", "param"),
        ("tag", "tag"),
        ("tags", "tag"),
        ("attribute", "attribute"),
        ("attributes", "attribute"),
        ("attr", "attribute"),
        ("run", "attribute"),
        ("dataset", "dataset"),
        ("datasets", "dataset"),
    ],
)
def test_every_prefix(prefix: str, kind: str) -> None:
    key, value = {
        "metric": ("auc", "1"),
        "param": ("a", "'x'"),
        "tag": ("a", "'x'"),
        "attribute": ("status", "'FINISHED'"),
        "dataset": ("name", "'flights'"),
    }[kind]
    parsed = one(f"{prefix}.{key} = {value}")
    assert (parsed.kind, parsed.key) == (kind, key)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("params.`my key` = 'v'", "my key"),
        ('metrics."a.b" > 1', "a.b"),
        ("tags.'single' = 'v'", "single"),
        ("tags.mlflow.runName = 'v'", "mlflow.runName"),
        ("metrics.train/loss < 1", "train/loss"),
        ("metrics.val-loss < 1", "val-loss"),
        ("params.`it``s` = 'v'", "it`s"),
    ],
)
def test_quoted_and_dotted_keys(text: str, key: str) -> None:
    assert one(text).key == key


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'lgbm'", "lgbm"),
        ('"lgbm"', "lgbm"),
        ("'it''s'", "it's"),
        ("'it\\'s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ("'C:\\data\\x'", "C:\\data\\x"),
        ("'a\\\\'", "a\\"),
        ("''", ""),
        ("'AND (x) OR'", "AND (x) OR"),
    ],
)
def test_string_literals(literal: str, value: str) -> None:
    assert one(f"params.p = {literal}").value == value


def test_attributes_and_their_aliases() -> None:
    assert one("attributes.run_name = 'x'").key == "run_name"
    assert one("attributes.`Run Name` = 'x'").key == "run_name"
    assert one("attributes.created > 5") == Comparison("attribute", "start_time", ">", 5, 1)
    assert one("status = 'FINISHED'") == Comparison("attribute", "status", "=", "FINISHED", 1)
    assert one("attributes.end_time <= 1.5").value == 1.5
    for name in ("run_id", "user_id", "artifact_uri"):
        assert one(f"attr.{name} != 'x'").key == name


def test_in_lists() -> None:
    parsed = one("attributes.run_id IN ('a', \"b\",'c')")
    assert (parsed.op, parsed.value) == ("IN", ("a", "b", "c"))
    parsed = one("run.status not in ('FAILED')")
    assert (parsed.op, parsed.value) == ("NOT IN", ("FAILED",))
    assert one("datasets.digest IN ('abc')").value == ("abc",)


def test_keywords_are_case_insensitive() -> None:
    assert shape("params.a like 'x' and params.b IlIkE 'y' oR metrics.m > 1") == (
        "Or",
        ("And", ("param", "a", "LIKE", "x"), ("param", "b", "ILIKE", "y")),
        ("metric", "m", ">", 1.0),
    )


def test_and_binds_tighter_than_or() -> None:
    assert shape("metrics.a > 1 OR metrics.b > 2 AND metrics.c > 3") == (
        "Or",
        ("metric", "a", ">", 1.0),
        ("And", ("metric", "b", ">", 2.0), ("metric", "c", ">", 3.0)),
    )


def test_parentheses_override_precedence() -> None:
    assert shape("(metrics.a > 1 OR metrics.b > 2) AND ((metrics.c > 3))") == (
        "And",
        ("Or", ("metric", "a", ">", 1.0), ("metric", "b", ">", 2.0)),
        ("metric", "c", ">", 3.0),
    )


def test_chains_stay_flat() -> None:
    assert shape("metrics.a>1 AND metrics.b>2 AND metrics.c>3") == (
        "And",
        ("metric", "a", ">", 1.0),
        ("metric", "b", ">", 2.0),
        ("metric", "c", ">", 3.0),
    )


def test_sql_spellings_of_equality_are_accepted() -> None:
    assert one("metrics.a <> 1").op == "!="
    assert one("metrics.a == 1").op == "="


def test_positions_are_one_based() -> None:
    parsed = parse_filter("  metrics.a > 1 AND  params.b = 'x'")
    assert isinstance(parsed, And)
    assert [item.position for item in parsed.items if isinstance(item, Comparison)] == [3, 22]


def error(text: str) -> str:
    with pytest.raises(Invalid) as caught:
        parse_filter(text)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "params.x = 'a' OR metrics.auc 0.5",
            "filter error at position 31: expected a comparator "
            "(=, !=, <, <=, >, >=, LIKE, ILIKE, IN) after 'metrics.auc', found '0.5'",
        ),
        ("metrics.auc >", "filter error at position 14: expected a number after "),
        ("metrics.auc > 'x'", "position 15: expected a number after 'metrics.auc >'"),
        ("params.a = 1", "position 12: expected a quoted string"),
        ("params.a = `x`", "position 12: expected a quoted string"),
        ("params.a = 'x", "position 12: this string is never closed; end it with '"),
        ("metrics.a LIKE 'x'", "position 11: LIKE does not apply to 'metrics.a'"),
        ("params.a > 'x'", "position 10: > does not apply to 'params.a'"),
        ("params.a IN ('x')", "position 10: IN does not apply"),
        ("attributes.start_time LIKE '1%'", "position 23: LIKE does not apply"),
        ("attributes.status IS NULL", "position 19: IS NULL does not apply"),
        ("foo.bar = 'x'", "position 1: unknown prefix 'foo.'"),
        ("attributes.colour = 'x'", "position 1: unknown attribute 'colour'"),
        ("colour = 'x'", "position 1: unknown attribute 'colour'"),
        ("datasets.size = 'x'", "position 1: unknown dataset field 'size'"),
        ("metrics. > 1", "position 9: expected a key after 'metrics.'"),
        ("params.`` = 'x'", "position 8: the key after 'params.' is empty"),
        ("metrics.a > 1 AND", "position 18: expected a key such as metrics.auc"),
        ("AND metrics.a > 1", "position 1: expected a key such as"),
        ("metrics.a > 1 metrics.b > 2", "position 15: expected AND, OR or the end"),
        ("(metrics.a > 1", "position 15: expected AND, OR or ')' to close the '(' at position 1"),
        ("metrics.a > 1)", "position 14: this ')' closes no '('"),
        ("()", "position 2: expected a key"),
        ("metrics.a > 1 # x", "position 15: unexpected character '#'"),
        ("attributes.run_id IN 'a'", "position 22: expected '(' and a list"),
        ("attributes.run_id IN ()", "position 23: expected a quoted string"),
        ("attributes.run_id IN ('a' 'b')", "position 27: expected ',' or ')'"),
        ("attributes.run_id IN ('a',)", "position 27: expected a quoted string"),
        ("attributes.run_id NOT LIKE 'a'", "position 23: expected IN after"),
        ("params.a IS 'x'", "position 13: expected NULL or NOT NULL"),
        ("params.a IS NOT 'x'", "position 17: expected NULL or NOT NULL"),
    ],
)
def test_errors_name_position_and_expectation(text: str, message: str) -> None:
    assert message in error(text)


def test_first_error_wins_over_a_later_unclosed_string() -> None:
    assert "position 11: expected a comparator" in error("metrics.a 1 AND params.b = 'x")


def test_order_by_items() -> None:
    assert parse_order_by(
        ["metrics.auc DESC", "attributes.start_time asc", "params.`my x`", "run_name"]
    ) == [
        OrderBy("metric", "auc", False),
        OrderBy("attribute", "start_time", True),
        OrderBy("param", "my x", True),
        OrderBy("attribute", "run_name", True),
    ]
    assert parse_order_by(None) == []
    assert parse_order_by(["tags.stage", "created DESC"]) == [
        OrderBy("tag", "stage", True),
        OrderBy("attribute", "start_time", False),
    ]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["metrics.auc DECS"], "order_by error in 'metrics.auc DECS' at position 13: expected ASC"),
        (["metrics.auc DESC x"], "position 18: expected ASC, DESC or the end"),
        (["datasets.name"], "cannot be ordered by datasets"),
        (["attributes.colour"], "unknown attribute 'colour'"),
        ([""], "order_by has an empty item"),
        (["metrics.auc", "metrics.`auc` DESC"], "names 'metrics.`auc`' twice"),
        (["DESC"], "position 1: expected a key"),
    ],
)
def test_order_by_errors(items: list[str], message: str) -> None:
    with pytest.raises(Invalid, match=re.escape(message)):
        parse_order_by(items)
