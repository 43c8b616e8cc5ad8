"""MLflow's run-search filter grammar, extended with OR and parentheses.

A filter is comparisons joined by AND and OR (AND binds tighter), grouped with
parentheses: ``metrics.auc > 0.8 AND (params.model = 'lgbm' OR tags.stage ILIKE 'prod%')``.
Keys take a prefix (``metrics.``, ``params.``, ``tags.``, ``attributes.``, ``datasets.``
and MLflow's alternative spellings); a key with other characters is quoted with
backticks or double quotes (``params.`my key```, ``metrics."a.b"``). Keywords are
case-insensitive. Every error names the 1-based character position where it occurred.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from seedbed.errors import Invalid

Kind = Literal["metric", "param", "tag", "attribute", "dataset"]
Value = str | int | float | tuple[str, ...] | None

PREFIXES: dict[str, Kind] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}
STRING_ATTRIBUTES = ("run_id", "run_name", "user_id", "status", "artifact_uri")
NUMERIC_ATTRIBUTES = ("start_time", "end_time")
ATTRIBUTES = STRING_ATTRIBUTES + NUMERIC_ATTRIBUTES
# MLflow's other spellings of two attributes (its UI column titles).
ATTRIBUTE_ALIASES = {"created": "start_time", "run name": "run_name"}
DATASET_FIELDS = ("name", "digest", "context")

NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
LIST_OPS = ("IN", "NOT IN")
NULL_OPS = ("IS NULL", "IS NOT NULL")
_ALL_OPS = "=, !=, <, <=, >, >=, LIKE, ILIKE, IN"
_KEY_EXAMPLE = "a key such as metrics.auc, params.alpha, tags.stage or attributes.status"


@dataclass(frozen=True)
class Comparison:
    """One test of a run: ``kind.key op value``; `position` is where the key starts (1-based)."""

    kind: Kind
    key: str
    op: str
    value: Value
    position: int = 0


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


Expr = Comparison | And | Or


@dataclass(frozen=True)
class OrderBy:
    """One ``order_by`` item: sort runs by ``kind.key``, missing values last."""

    kind: Kind
    key: str
    ascending: bool = True


def allowed_ops(kind: Kind, key: str) -> tuple[str, ...]:
    """The comparators that apply to a key of this kind."""
    if kind == "metric" or (kind == "attribute" and key in NUMERIC_ATTRIBUTES):
        return NUMBER_OPS
    if kind in ("param", "tag"):
        return STRING_OPS + NULL_OPS
    return STRING_OPS + LIST_OPS


def parse_filter(text: str) -> Expr | None:
    """Parse a run-search filter; None when it is empty or only whitespace."""
    if not text or not text.strip():
        return None
    parser = _Parser(text, "filter")
    expr = parser.or_expr()
    token = parser.peek()
    if token.kind != "end":
        if token.text == ")":
            raise parser.error(token, "this ')' closes no '('")
        raise parser.error(token, "expected AND, OR or the end of the filter")
    return expr


def parse_order_by(items: Sequence[str] | None) -> list[OrderBy]:
    """Parse ``order_by`` items such as ``metrics.auc DESC`` or ``attributes.start_time``."""
    ordering: list[OrderBy] = []
    for item in items or []:
        parser = _Parser(item, "order_by")
        first = parser.take()
        if first.kind == "end":
            raise Invalid("order_by has an empty item; write e.g. 'metrics.auc DESC'.")
        kind, key = parser.identifier(first)
        if kind == "dataset":
            raise parser.error(
                first,
                "runs cannot be ordered by datasets.*; use metrics., params., tags. or attributes.",
            )
        ascending = True
        token = parser.take()
        if token.kind == "word" and token.value in ("ASC", "DESC"):
            ascending = token.value == "ASC"
            token = parser.take()
        if token.kind != "end":
            raise parser.error(token, f"expected ASC, DESC or the end after '{first.text}'")
        if any(o.kind == kind and o.key == key for o in ordering):
            raise Invalid(f"order_by names {first.text!r} twice; keep one of them.")
        ordering.append(OrderBy(kind, key, ascending))
    return ordering


@dataclass(frozen=True)
class _Token:
    kind: str  # ident, word, number, string, op, punct, end
    text: str  # as written in the filter
    pos: int  # 0-based offset into the filter
    value: str = ""  # string contents, upper-cased keyword, canonical operator or key
    prefix: str = ""  # ident only: the part before the dot
    quote: str = ""  # string only: the quote character


_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_]\w*")
_OP = re.compile(r"!=|<>|<=|>=|==|=|<|>")
_BARE_KEY = re.compile(r"[\w\-/:]+(?:\.[\w\-/:]+)*")
_OPS = {"<>": "!=", "==": "="}
_QUOTES = "'\"`"


class _Parser:
    """Recursive descent over tokens read one at a time, so the first error wins."""

    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where
        self.offset = 0
        self.ahead: _Token | None = None

    # -- errors ---------------------------------------------------------------------------

    def error_at(self, pos: int, message: str) -> Invalid:
        if self.where == "filter":
            return Invalid(f"filter error at position {pos + 1}: {message}")
        return Invalid(f"order_by error in {self.text!r} at position {pos + 1}: {message}")

    def error(self, token: _Token, message: str) -> Invalid:
        found = "the end" if token.kind == "end" else f"'{token.text}'"
        return self.error_at(token.pos, f"{message}, found {found}")

    # -- tokens ---------------------------------------------------------------------------

    def peek(self) -> _Token:
        if self.ahead is None:
            self.ahead = self._read()
        return self.ahead

    def take(self) -> _Token:
        token = self.peek()
        self.ahead = None
        return token

    def _read(self) -> _Token:
        text = self.text
        space = _SPACE.match(text, self.offset)
        if space:
            self.offset = space.end()
        start = self.offset
        if start >= len(text):
            return _Token("end", "", len(text))
        char = text[start]
        if char in "(),":
            self.offset += 1
            return _Token("punct", char, start, char)
        if char in _QUOTES:
            value, self.offset = self._quoted(start)
            return _Token("string", text[start : self.offset], start, value, quote=char)
        for kind, pattern in (("number", _NUMBER), ("op", _OP)):
            match = pattern.match(text, start)
            if match:
                self.offset = match.end()
                return _Token(kind, match.group(), start, _OPS.get(match.group(), match.group()))
        word = _WORD.match(text, start)
        if word is None:
            raise self.error_at(start, f"unexpected character {char!r}")
        self.offset = word.end()
        if self.offset < len(text) and text[self.offset] == ".":
            return self._ident(start, word.group())
        return _Token("word", word.group(), start, word.group().upper())

    def _ident(self, start: int, prefix: str) -> _Token:
        key_start = self.offset + 1
        if key_start < len(self.text) and self.text[key_start] in _QUOTES:
            key, self.offset = self._quoted(key_start)
        else:
            match = _BARE_KEY.match(self.text, key_start)
            if match is None:
                raise self.error_at(key_start, f"expected a key after '{prefix}.'")
            key, self.offset = match.group(), match.end()
        if not key:
            raise self.error_at(key_start, f"the key after '{prefix}.' is empty")
        return _Token("ident", self.text[start : self.offset], start, key, prefix=prefix)

    def _quoted(self, start: int) -> tuple[str, int]:
        """Read a quoted string; the quote is escaped by doubling it or with a backslash."""
        quote, text = self.text[start], self.text
        chars: list[str] = []
        i = start + 1
        while i < len(text):
            char = text[i]
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if char == "\\" and nxt in (quote, "\\"):
                chars.append(nxt)
                i += 2
            elif char == quote and nxt == quote:
                chars.append(quote)
                i += 2
            elif char == quote:
                return "".join(chars), i + 1
            else:
                chars.append(char)
                i += 1
        raise self.error_at(start, f"this string is never closed; end it with {quote}")

    # -- grammar --------------------------------------------------------------------------

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self._at_word("OR"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.primary()]
        while self._at_word("AND"):
            self.take()
            items.append(self.primary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def primary(self) -> Expr:
        token = self.peek()
        if token.kind == "punct" and token.text == "(":
            self.take()
            expr = self.or_expr()
            close = self.take()
            if close.text != ")" or close.kind != "punct":
                raise self.error(
                    close, f"expected AND, OR or ')' to close the '(' at position {token.pos + 1}"
                )
            return expr
        return self.comparison()

    def comparison(self) -> Comparison:
        first = self.take()
        kind, key = self.identifier(first)
        label = first.text
        op_token = self.peek()
        op = self.comparator(label)
        allowed = allowed_ops(kind, key)
        if op not in allowed:
            raise self.error_at(
                op_token.pos, f"{op} does not apply to '{label}'; use {', '.join(allowed)}"
            )
        return Comparison(kind, key, op, self.value(kind, key, f"{label} {op}", op), first.pos + 1)

    def identifier(self, token: _Token) -> tuple[Kind, str]:
        if token.kind == "ident":
            kind = PREFIXES.get(token.prefix.lower())
            if kind is None:
                raise self.error_at(
                    token.pos,
                    f"unknown prefix '{token.prefix}.'; "
                    "use metrics., params., tags., attributes. or datasets.",
                )
            key = token.value
        elif token.kind == "word" and token.value not in _KEYWORDS:
            kind, key = "attribute", token.text  # MLflow reads a bare name as an attribute
        else:
            raise self.error(token, f"expected {_KEY_EXAMPLE}, or '('")
        if kind == "attribute":
            key = ATTRIBUTE_ALIASES.get(key.lower(), key.lower())
            if key not in ATTRIBUTES:
                raise self.error_at(
                    token.pos, f"unknown attribute '{key}'; use one of {', '.join(ATTRIBUTES)}"
                )
        elif kind == "dataset":
            key = key.lower()
            if key not in DATASET_FIELDS:
                raise self.error_at(
                    token.pos, f"unknown dataset field '{key}'; use {', '.join(DATASET_FIELDS)}"
                )
        return kind, key

    def comparator(self, label: str) -> str:
        token = self.take()
        if token.kind == "op":
            return token.value
        if token.kind == "word":
            if token.value in ("LIKE", "ILIKE", "IN"):
                return token.value
            if token.value == "NOT":
                if self._at_word("IN"):
                    self.take()
                    return "NOT IN"
                raise self.error(self.peek(), f"expected IN after '{label} NOT'")
            if token.value == "IS":
                negated = self._at_word("NOT")
                if negated:
                    self.take()
                if self._at_word("NULL"):
                    self.take()
                    return "IS NOT NULL" if negated else "IS NULL"
                raise self.error(self.peek(), f"expected NULL or NOT NULL after '{label} IS'")
        raise self.error(token, f"expected a comparator ({_ALL_OPS}) after '{label}'")

    def value(self, kind: Kind, key: str, label: str, op: str) -> Value:
        if op in NULL_OPS:
            return None
        if op in LIST_OPS:
            return self.string_list(label)
        token = self.take()
        if allowed_ops(kind, key) == NUMBER_OPS:
            if token.kind != "number":
                raise self.error(token, f"expected a number after '{label}'")
            if kind == "attribute":  # times in ms: keep integers exact (within SQL's BIGINT)
                try:
                    number = int(token.text)
                except ValueError:
                    pass
                else:
                    if -(2**63) <= number < 2**63:
                        return number
            return float(token.text)
        return self.string(token, label)

    def string(self, token: _Token, label: str) -> str:
        if token.kind != "string" or token.quote == "`":
            raise self.error(token, f"expected a quoted string ('...' or \"...\") after '{label}'")
        return token.value

    def string_list(self, label: str) -> tuple[str, ...]:
        opening = self.take()
        if opening.text != "(" or opening.kind != "punct":
            raise self.error(opening, f"expected '(' and a list of quoted strings after '{label}'")
        values = [self.string(self.take(), f"{label} (")]
        while True:
            token = self.take()
            if token.kind == "punct" and token.text == ")":
                return tuple(values)
            if token.kind != "punct" or token.text != ",":
                raise self.error(token, f"expected ',' or ')' in the list after '{label}'")
            values.append(self.string(self.take(), f"{label} (..., "))

    def _at_word(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.value == word


_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "ASC", "DESC"})
