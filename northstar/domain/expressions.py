"""The KPI expression language (SPEC §4): syntax tree, parser, formatter, evaluator.

An expression is arithmetic over metric aggregations::

    100 * count(signup) / count(visit)
    sum(revenue{region="eu"}) - sum(cost{region="eu", channel!="partner"})

Text is turned into a tree by a hand-written tokenizer and a recursive-descent parser;
nothing is ever evaluated as code. The tree is made of frozen dataclasses, so equal
expressions compare and hash equal, and :func:`format_expression` gives the canonical
text of a tree (``parse_expression(format_expression(e)) == e``).

Evaluation is split in two: the store computes each :class:`Aggregation` over a period
(see :mod:`northstar.domain.aggregation`), then :func:`evaluate_expression` does the
arithmetic over those values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "Aggregation",
    "BinaryOp",
    "Expr",
    "ExpressionError",
    "Matcher",
    "Negate",
    "Number",
    "aggregations",
    "evaluate_expression",
    "format_expression",
    "metrics",
    "parse_expression",
]

FUNCTIONS: tuple[str, ...] = (
    "sum",
    "count",
    "avg",
    "min",
    "max",
    "last",
    "p50",
    "p90",
    "p95",
    "p99",
)
"""Aggregation functions, in the order the SPEC lists them."""

MAX_EXPRESSION_LENGTH = 2000
"""Longest accepted expression text, in characters."""

MAX_DEPTH = 100
"""Deepest accepted nesting (parentheses, unary minus, chained operators).

Real KPIs are a handful of levels deep; the limit keeps the recursive parser, formatter
and evaluator far from Python's recursion limit whatever text a client sends.
"""

METRIC_NAME = re.compile(r"[a-z][a-z0-9_.]{0,99}")
LABEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,49}")

BinaryOperator: TypeAlias = Literal["+", "-", "*", "/"]
MatchOperator: TypeAlias = Literal["=", "!="]


class ExpressionError(ValueError):
    """A KPI expression that cannot be parsed.

    ``position`` is the 0-based character offset of the offending token in the text, so
    an API can point at it; ``str(error)`` reads like ``unexpected ')' at position 14``.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} at position {self.position}"


# --------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Number:
    """A numeric literal. Always finite and non-negative: ``-3`` is ``Negate(Number(3))``."""

    value: float

    def __post_init__(self) -> None:
        value = float(self.value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"a Number literal must be finite and >= 0, got {self.value!r}")
        # -0.0 == 0.0 but would print as "-0"; keep one zero so formatting round-trips.
        object.__setattr__(self, "value", value + 0.0)


@dataclass(frozen=True, order=True)
class Matcher:
    """A label matcher in a selector: ``label="value"`` or ``label!="value"``.

    A dimension that an event does not carry counts as the empty string (as in
    PromQL): ``region!="eu"`` matches events without a ``region``, ``region=""``
    matches only those.
    """

    label: str
    op: MatchOperator
    value: str

    def __post_init__(self) -> None:
        if not LABEL_NAME.fullmatch(self.label):
            raise ValueError(
                f"invalid label name {self.label!r}: must match ^{LABEL_NAME.pattern}$"
            )
        if self.op not in ("=", "!="):
            raise ValueError(f"invalid matcher operator {self.op!r}: expected '=' or '!='")

    def matches(self, dimensions: Mapping[str, str]) -> bool:
        """Whether an event with these dimensions satisfies this matcher."""
        actual = dimensions.get(self.label, "")
        return actual == self.value if self.op == "=" else actual != self.value


@dataclass(frozen=True)
class Aggregation:
    """``func(metric{matchers})``: one aggregation of a metric's events over a period.

    The matchers are stored sorted by (label, op, value) with duplicates removed, so
    selectors that mean the same compare and hash equal; that makes an
    ``Aggregation`` usable as the key under which its computed value is passed in.
    """

    func: str
    metric: str
    matchers: tuple[Matcher, ...] = field(default=())
    # Aggregations key the states of every group in a breakdown or driver split, so
    # their hash is taken once (the fields are frozen) rather than on every lookup.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.func not in FUNCTIONS:
            raise ValueError(
                f"unknown function {self.func!r}: expected one of {', '.join(FUNCTIONS)}"
            )
        if not METRIC_NAME.fullmatch(self.metric):
            raise ValueError(
                f"invalid metric name {self.metric!r}: must match ^{METRIC_NAME.pattern}$"
            )
        object.__setattr__(self, "matchers", tuple(sorted(set(self.matchers))))
        object.__setattr__(self, "_hash", hash((self.func, self.metric, self.matchers)))

    def __hash__(self) -> int:
        return self._hash

    def matches(self, metric: str, dimensions: Mapping[str, str]) -> bool:
        """Whether an event of ``metric`` with ``dimensions`` falls into this aggregation."""
        return metric == self.metric and all(m.matches(dimensions) for m in self.matchers)


@dataclass(frozen=True)
class BinaryOp:
    """``left op right`` for ``+ - * /``."""

    op: BinaryOperator
    left: Expr
    right: Expr

    def __post_init__(self) -> None:
        if self.op not in ("+", "-", "*", "/"):
            raise ValueError(f"invalid operator {self.op!r}: expected one of + - * /")


@dataclass(frozen=True)
class Negate:
    """Unary minus."""

    operand: Expr


Expr: TypeAlias = Number | Aggregation | BinaryOp | Negate


# --------------------------------------------------------------------------- tokenizer

_TokenKind = Literal[
    "number", "name", "string", "(", ")", "{", "}", ",", "=", "!=", "+", "-", "*", "/", "end"
]


@dataclass(frozen=True)
class _Token:
    kind: _TokenKind
    text: str  # the source text; for strings the unescaped value
    position: int

    def describe(self) -> str:
        if self.kind == "end":
            return "end of input"
        if self.kind == "string":
            return "a string"
        return repr(self.text)


_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_PUNCTUATION: dict[str, _TokenKind] = {
    "(": "(",
    ")": ")",
    "{": "{",
    "}": "}",
    ",": ",",
    "=": "=",
    "+": "+",
    "-": "-",
    "*": "*",
    "/": "/",
}
_ESCAPES = {'"': '"', "\\": "\\"}


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char == "!" and text.startswith("!=", i):
            tokens.append(_Token("!=", "!=", i))
            i += 2
            continue
        if char in _PUNCTUATION:
            tokens.append(_Token(_PUNCTUATION[char], char, i))
            i += 1
            continue
        if char == '"':
            value, i = _read_string(text, i)
            tokens.append(value)
            continue
        number = _NUMBER.match(text, i)
        if number:
            tokens.append(_Token("number", number.group(), i))
            i = number.end()
            continue
        name = _NAME.match(text, i)
        if name:
            tokens.append(_Token("name", name.group(), i))
            i = name.end()
            continue
        hint = " (did you mean '!='?)" if char == "!" else ""
        raise ExpressionError(f"unexpected character {char!r}{hint}", i)
    tokens.append(_Token("end", "", n))
    return tokens


def _read_string(text: str, start: int) -> tuple[_Token, int]:
    """Read a double-quoted string starting at ``start``; return it and the next index."""
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == '"':
            return _Token("string", "".join(chars), start), i + 1
        if char == "\\":
            if i + 1 == len(text):
                break
            escaped = text[i + 1]
            if escaped not in _ESCAPES:
                raise ExpressionError(
                    f"invalid escape '\\{escaped}' in string: only \\\" and \\\\ are allowed", i
                )
            chars.append(_ESCAPES[escaped])
            i += 2
            continue
        chars.append(char)
        i += 1
    raise ExpressionError("unterminated string: missing closing '\"'", start)


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the token list. Grammar::

        expression := term (("+" | "-") term)*
        term       := unary (("*" | "/") unary)*
        unary      := "-" unary | primary
        primary    := NUMBER | "(" expression ")" | FUNC "(" METRIC selector? ")"
        selector   := "{" (matcher ("," matcher)* ","?)? "}"
        matcher    := LABEL ("=" | "!=") STRING

    Each method returns the node and its depth so over-deep input is refused with a
    position instead of a RecursionError.
    """

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._nesting = 0

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _next(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _check_depth(self, depth: int, token: _Token) -> None:
        if depth > MAX_DEPTH or self._nesting > MAX_DEPTH:
            raise ExpressionError(
                f"expression is nested too deeply (limit {MAX_DEPTH})", token.position
            )

    def parse(self) -> Expr:
        if self._peek().kind == "end":
            raise ExpressionError("empty expression", 0)
        expr, _ = self._expression()
        token = self._peek()
        if token.kind != "end":
            if token.kind == ")":
                raise ExpressionError("unexpected ')'", token.position)
            raise ExpressionError(
                f"unexpected {token.describe()}: expected an operator (+ - * /) "
                "or the end of the expression",
                token.position,
            )
        return expr

    def _expression(self) -> tuple[Expr, int]:
        left, depth = self._term()
        while self._peek().kind in ("+", "-"):
            token = self._next()
            right, right_depth = self._term()
            depth = max(depth, right_depth) + 1
            self._check_depth(depth, token)
            left = BinaryOp("+" if token.kind == "+" else "-", left, right)
        return left, depth

    def _term(self) -> tuple[Expr, int]:
        left, depth = self._unary()
        while self._peek().kind in ("*", "/"):
            token = self._next()
            right, right_depth = self._unary()
            depth = max(depth, right_depth) + 1
            self._check_depth(depth, token)
            left = BinaryOp("*" if token.kind == "*" else "/", left, right)
        return left, depth

    def _unary(self) -> tuple[Expr, int]:
        token = self._peek()
        if token.kind != "-":
            return self._primary()
        self._next()
        self._nesting += 1
        self._check_depth(0, token)
        operand, depth = self._unary()
        self._nesting -= 1
        return Negate(operand), depth + 1

    def _primary(self) -> tuple[Expr, int]:
        token = self._next()
        if token.kind == "number":
            value = float(token.text)
            if not math.isfinite(value):
                raise ExpressionError(f"number {token.text} is out of range", token.position)
            return Number(value), 1
        if token.kind == "(":
            self._nesting += 1
            self._check_depth(0, token)
            expr, depth = self._expression()
            self._nesting -= 1
            self._expect_close(token)
            return expr, depth
        if token.kind == "name":
            return self._aggregation(token), 1
        raise ExpressionError(
            f"expected a number, an aggregation such as sum(revenue), or '(' "
            f"but found {token.describe()}",
            token.position,
        )

    def _expect_close(self, opening: _Token) -> None:
        token = self._next()
        if token.kind != ")":
            raise ExpressionError(
                f"missing ')' to close the '(' at position {opening.position}: "
                f"found {token.describe()}",
                token.position,
            )

    def _aggregation(self, name: _Token) -> Aggregation:
        func = name.text
        opening = self._peek()
        if func not in FUNCTIONS:
            if opening.kind == "(":
                raise ExpressionError(
                    f"unknown function {func!r}: expected one of {', '.join(FUNCTIONS)}",
                    name.position,
                )
            raise ExpressionError(
                f"unexpected name {func!r}: a metric must be wrapped in an aggregation "
                f"such as sum({func})",
                name.position,
            )
        if opening.kind != "(":
            raise ExpressionError(
                f"expected '(' after {func!r}, found {opening.describe()}", opening.position
            )
        self._next()
        metric = self._next()
        if metric.kind != "name":
            raise ExpressionError(
                f"expected a metric name after '{func}(', found {metric.describe()}",
                metric.position,
            )
        if not METRIC_NAME.fullmatch(metric.text):
            raise ExpressionError(
                f"invalid metric name {metric.text!r}: must match ^{METRIC_NAME.pattern}$",
                metric.position,
            )
        matchers: tuple[Matcher, ...] = ()
        has_selector = self._peek().kind == "{"
        if has_selector:
            matchers = self._selector()
        token = self._next()
        if token.kind != ")":
            expected = "')'" if has_selector else "'{' or ')'"
            raise ExpressionError(
                f"missing ')' to close '{func}(' at position {opening.position}: "
                f"expected {expected}, found {token.describe()}",
                token.position,
            )
        return Aggregation(func, metric.text, matchers)

    def _selector(self) -> tuple[Matcher, ...]:
        brace = self._next()
        matchers: list[Matcher] = []
        while True:
            token = self._next()
            if token.kind == "}":
                return tuple(matchers)
            if token.kind != "name":
                raise ExpressionError(
                    f"expected a label name or '}}' in the selector opened at position "
                    f"{brace.position}, found {token.describe()}",
                    token.position,
                )
            matchers.append(self._matcher(token))
            separator = self._next()
            if separator.kind == "}":
                return tuple(matchers)
            if separator.kind != ",":
                raise ExpressionError(
                    f"expected ',' or '}}' after a label matcher, found {separator.describe()}",
                    separator.position,
                )

    def _matcher(self, label: _Token) -> Matcher:
        if not LABEL_NAME.fullmatch(label.text):
            raise ExpressionError(
                f"invalid label name {label.text!r}: must match ^{LABEL_NAME.pattern}$",
                label.position,
            )
        op = self._next()
        if op.kind not in ("=", "!="):
            raise ExpressionError(
                f"expected '=' or '!=' after label {label.text!r}, found {op.describe()}",
                op.position,
            )
        value = self._next()
        if value.kind != "string":
            raise ExpressionError(
                f"expected a double-quoted value after '{op.text}', found {value.describe()}",
                value.position,
            )
        return Matcher(label.text, "=" if op.kind == "=" else "!=", value.text)


def parse_expression(text: str) -> Expr:
    """Parse KPI expression text into its syntax tree.

    Raises :class:`ExpressionError` (a ``ValueError``) carrying the message and the
    0-based position of the offending token: empty input, unknown characters or
    functions, bad metric or label names, unterminated strings, unbalanced
    parentheses, trailing input, text longer than :data:`MAX_EXPRESSION_LENGTH` and
    nesting deeper than :data:`MAX_DEPTH`.
    """
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters long; the limit is {MAX_EXPRESSION_LENGTH}",
            MAX_EXPRESSION_LENGTH,
        )
    return _Parser(_tokenize(text)).parse()


# --------------------------------------------------------------------------- formatter

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_UNARY_PRECEDENCE = 3
_ATOM_PRECEDENCE = 4


def _precedence(expr: Expr) -> int:
    if isinstance(expr, BinaryOp):
        return _PRECEDENCE[expr.op]
    if isinstance(expr, Negate):
        return _UNARY_PRECEDENCE
    return _ATOM_PRECEDENCE


def _format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_expression(expr: Expr) -> str:
    """Return the canonical text of an expression.

    Operators are spaced (``a * b + c``), parentheses appear only where the tree needs
    them (operators are left-associative, so ``a - (b - c)`` and ``a + (b + c)`` keep
    theirs), numbers print in their shortest exact form (``100``, ``0.5``, ``1e+20``)
    and matchers in sorted order. ``parse_expression(format_expression(e)) == e``.
    """
    if isinstance(expr, Number):
        return _format_number(expr.value)
    if isinstance(expr, Aggregation):
        selector = ""
        if expr.matchers:
            inner = ", ".join(f"{m.label}{m.op}{_quote(m.value)}" for m in expr.matchers)
            selector = "{" + inner + "}"
        return f"{expr.func}({expr.metric}{selector})"
    if isinstance(expr, Negate):
        operand = format_expression(expr.operand)
        if _precedence(expr.operand) < _UNARY_PRECEDENCE:
            operand = f"({operand})"
        return f"-{operand}"
    precedence = _PRECEDENCE[expr.op]
    left = format_expression(expr.left)
    if _precedence(expr.left) < precedence:
        left = f"({left})"
    right = format_expression(expr.right)
    if _precedence(expr.right) <= precedence:
        right = f"({right})"
    return f"{left} {expr.op} {right}"


# --------------------------------------------------------------------------- analysis


def aggregations(expr: Expr) -> frozenset[Aggregation]:
    """Every aggregation the expression needs a value for."""
    if isinstance(expr, Aggregation):
        return frozenset((expr,))
    if isinstance(expr, Number):
        return frozenset()
    if isinstance(expr, Negate):
        return aggregations(expr.operand)
    return aggregations(expr.left) | aggregations(expr.right)


def metrics(expr: Expr) -> frozenset[str]:
    """Names of the metrics the expression reads: an event of any other metric cannot
    change its value."""
    return frozenset(a.metric for a in aggregations(expr))


def evaluate_expression(expr: Expr, values: Mapping[Aggregation, float | None]) -> float | None:
    """Compute the expression from the already computed value of each aggregation.

    ``None`` means "no value" and propagates through every operator; an aggregation
    missing from ``values`` counts as ``None``. Division by zero yields ``None`` (SPEC
    §4), and so does any intermediate or final result that is not finite (overflow),
    so a returned float is always finite.
    """
    result: float | None
    if isinstance(expr, Number):
        result = expr.value
    elif isinstance(expr, Aggregation):
        result = values.get(expr)
    elif isinstance(expr, Negate):
        operand = evaluate_expression(expr.operand, values)
        result = None if operand is None else -operand
    else:
        left = evaluate_expression(expr.left, values)
        if left is None:
            return None
        right = evaluate_expression(expr.right, values)
        if right is None:
            return None
        if expr.op == "+":
            result = left + right
        elif expr.op == "-":
            result = left - right
        elif expr.op == "*":
            result = left * right
        elif right == 0:
            return None
        else:
            result = left / right
    if result is None or not math.isfinite(result):
        return None
    return float(result)
