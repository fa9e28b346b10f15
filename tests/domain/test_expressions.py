"""The KPI expression language: parsing, errors, formatting, evaluation (SPEC §4)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from northstar.domain.expressions import (
    FUNCTIONS,
    MAX_EXPRESSION_LENGTH,
    Aggregation,
    BinaryOp,
    Expr,
    ExpressionError,
    Matcher,
    Negate,
    Number,
    aggregations,
    evaluate_expression,
    format_expression,
    metrics,
    parse_expression,
)

REVENUE = Aggregation("sum", "revenue")
COST = Aggregation("sum", "cost")


def agg(func: str, metric: str, *matchers: Matcher) -> Aggregation:
    return Aggregation(func, metric, matchers)


# --------------------------------------------------------------------------- parsing


def test_parses_every_spec_example() -> None:
    eu = (Matcher("region", "=", "eu"),)
    assert parse_expression("sum(revenue)") == REVENUE
    assert parse_expression('sum(revenue{region="eu"}) - sum(cost{region="eu"})') == BinaryOp(
        "-", Aggregation("sum", "revenue", eu), Aggregation("sum", "cost", eu)
    )
    assert parse_expression("100 * count(signup) / count(visit)") == BinaryOp(
        "/",
        BinaryOp("*", Number(100), agg("count", "signup")),
        agg("count", "visit"),
    )
    assert parse_expression('avg(csat_score{channel!="email"})') == agg(
        "avg", "csat_score", Matcher("channel", "!=", "email")
    )
    assert parse_expression("p95(delivery_hours)") == agg("p95", "delivery_hours")


@pytest.mark.parametrize("func", FUNCTIONS)
def test_every_function_parses(func: str) -> None:
    assert parse_expression(f"{func}(orders.total)") == Aggregation(func, "orders.total")


@pytest.mark.parametrize(
    ("text", "value"),
    [("100", 100.0), ("0.5", 0.5), ("1e3", 1000.0), (".25", 0.25), ("2.", 2.0), ("1E-2", 0.01)],
)
def test_numbers(text: str, value: float) -> None:
    assert parse_expression(text) == Number(value)


def test_precedence_and_left_associativity() -> None:
    one, two, three = Number(1), Number(2), Number(3)
    assert parse_expression("1 + 2 * 3") == BinaryOp("+", one, BinaryOp("*", two, three))
    assert parse_expression("1 - 2 - 3") == BinaryOp("-", BinaryOp("-", one, two), three)
    assert parse_expression("1 / 2 / 3") == BinaryOp("/", BinaryOp("/", one, two), three)
    assert parse_expression("(1 + 2) * 3") == BinaryOp("*", BinaryOp("+", one, two), three)


def test_unary_minus() -> None:
    assert parse_expression("-1") == Negate(Number(1))
    assert parse_expression("2 * -3") == BinaryOp("*", Number(2), Negate(Number(3)))
    assert parse_expression("--sum(revenue)") == Negate(Negate(REVENUE))
    assert parse_expression("-sum(revenue) * 2") == BinaryOp("*", Negate(REVENUE), Number(2))


def test_whitespace_is_allowed_between_all_tokens() -> None:
    text = ' sum ( revenue { region = "eu" , tier != "free" , } ) \n*\t2 '
    assert parse_expression(text) == BinaryOp(
        "*",
        agg("sum", "revenue", Matcher("tier", "!=", "free"), Matcher("region", "=", "eu")),
        Number(2),
    )


def test_string_escapes() -> None:
    parsed = parse_expression(r'last(x{note="say \"hi\" \\ bye"})')
    assert parsed == agg("last", "x", Matcher("note", "=", 'say "hi" \\ bye'))


def test_matcher_order_and_duplicates_do_not_matter() -> None:
    a = parse_expression('sum(x{b="2", a="1", a="1"})')
    b = parse_expression('sum(x{a="1", b="2"})')
    assert a == b
    assert hash(a) == hash(b)
    assert parse_expression("sum(x{})") == parse_expression("sum(x)")


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "empty expression", 0),
        ("   ", "empty expression", 0),
        ("sum(revenue) - cost)", "unexpected name 'cost'", 15),
        ("(sum(revenue) - 1))", "unexpected ')'", 18),
        ("sum(revenue) * 2 )", "unexpected ')'", 17),
        ("sum(revenue) 2", "unexpected '2'", 13),
        ("median(x)", "unknown function 'median'", 0),
        ("1 + Sum(x)", "unknown function 'Sum'", 4),
        ('sum(x{a="b})', "unterminated string", 8),
        ("(1 + 2", "missing ')' to close the '(' at position 0", 6),
        ("sum(x", "missing ')' to close 'sum('", 5),
        ('sum(x{a="b"}', "missing ')' to close 'sum('", 12),
        ("sum(x y)", "missing ')'", 6),
        ("sum(Revenue)", "invalid metric name 'Revenue'", 4),
        ("sum(9lives)", "expected a metric name", 4),
        ("sum()", "expected a metric name", 4),
        ("1 + * 2", "expected a number, an aggregation", 4),
        ("1 +", "found end of input", 3),
        ("revenue", "unexpected name 'revenue'", 0),
        ("sum revenue", "expected '(' after 'sum'", 4),
        ('sum(x{Region="eu"})', "invalid label name 'Region'", 6),
        ("sum(x{region=eu})", "expected a double-quoted value", 13),
        ('sum(x{region~"eu"})', "unexpected character '~'", 12),
        ('sum(x{region "eu"})', "expected '=' or '!='", 13),
        ('sum(x{a="1" b="2"})', "expected ',' or '}'", 12),
        ('sum(x{"eu"})', "expected a label name", 6),
        ("1 ! 2", "did you mean '!='", 2),
        (r'sum(x{a="\n"})', "invalid escape", 9),
        ("1e999", "out of range", 0),
        ("2 $ 3", "unexpected character '$'", 2),
    ],
)
def test_parse_errors_point_at_the_offending_token(text: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert message in caught.value.message
    assert caught.value.position == position
    assert str(caught.value) == f"{caught.value.message} at position {position}"


def test_error_str_reads_like_the_contract() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression("sum(revenue) ) + 1")
    assert str(caught.value) == "unexpected ')' at position 13"
    assert isinstance(caught.value, ValueError)


def test_unknown_function_lists_the_valid_ones() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression("total(x)")
    for func in FUNCTIONS:
        assert func in caught.value.message


def test_length_limit() -> None:
    longest = "1" + " " * (MAX_EXPRESSION_LENGTH - 1)
    assert parse_expression(longest) == Number(1)
    with pytest.raises(ExpressionError, match="limit is 2000") as caught:
        parse_expression(longest + " ")
    assert caught.value.position == MAX_EXPRESSION_LENGTH


@pytest.mark.parametrize(
    "text", ["(" * 300 + "1" + ")" * 300, "-" * 500 + "1", "+".join(["sum(x)"] * 200)]
)
def test_deep_nesting_is_an_error_not_a_crash(text: str) -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression(text)


def test_number_literals_are_non_negative() -> None:
    with pytest.raises(ValueError):
        Number(-1)
    with pytest.raises(ValueError):
        Number(math.inf)
    assert format_expression(Number(-0.0)) == "0"


def test_invalid_nodes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown function"):
        Aggregation("median", "x")
    with pytest.raises(ValueError, match="invalid metric name"):
        Aggregation("sum", "X")
    with pytest.raises(ValueError, match="invalid label name"):
        Matcher("A", "=", "x")


# --------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("sum(a) - (sum(b) - sum(c))", "sum(a) - (sum(b) - sum(c))"),
        ("(sum(a) - sum(b)) - sum(c)", "sum(a) - sum(b) - sum(c)"),
        ("(sum(a) * sum(b)) + sum(c)", "sum(a) * sum(b) + sum(c)"),
        ("sum(a) * (sum(b) + sum(c))", "sum(a) * (sum(b) + sum(c))"),
        ("sum(a) + (sum(b) + sum(c))", "sum(a) + (sum(b) + sum(c))"),
        ("sum(a) / (sum(b) * sum(c))", "sum(a) / (sum(b) * sum(c))"),
        ("-(sum(a) + 1)", "-(sum(a) + 1)"),
        ("(-sum(a)) * 2", "-sum(a) * 2"),
        ("-(sum(a) * 2)", "-(sum(a) * 2)"),
        ("1 - -2", "1 - -2"),
        ("100.0*count(signup)/count(visit)", "100 * count(signup) / count(visit)"),
        ("1e3 + 0.50 + 1e20", "1000 + 0.5 + 1e+20"),
        ('sum(x{b!="2",a="1"})', 'sum(x{a="1", b!="2"})'),
        (r'sum(x{a="q\"\\"})', r'sum(x{a="q\"\\"})'),
    ],
)
def test_format_expression(text: str, canonical: str) -> None:
    assert format_expression(parse_expression(text)) == canonical


metric_names = st.from_regex(r"[a-z][a-z0-9_.]{0,12}", fullmatch=True)
label_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
matchers = st.builds(Matcher, label_names, st.sampled_from(["=", "!="]), st.text(max_size=6))
aggregation_nodes = st.builds(
    Aggregation,
    st.sampled_from(FUNCTIONS),
    metric_names,
    st.lists(matchers, max_size=3).map(tuple),
)
numbers = st.builds(
    Number, st.floats(min_value=0, allow_nan=False, allow_infinity=False)
) | st.builds(Number, st.integers(min_value=0, max_value=10**6))
expressions: st.SearchStrategy[Expr] = st.recursive(
    numbers | aggregation_nodes,
    lambda inner: (
        st.builds(BinaryOp, st.sampled_from(["+", "-", "*", "/"]), inner, inner)
        | st.builds(Negate, inner)
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(expressions)
def test_parse_format_round_trip(expr: Expr) -> None:
    text = format_expression(expr)
    parsed = parse_expression(text)
    assert parsed == expr
    assert format_expression(parsed) == text


# --------------------------------------------------------------------------- analysis


def test_aggregations_and_metrics() -> None:
    expr = parse_expression(
        'sum(revenue{region="eu"}) - sum(cost{region="eu"}) + 0 * sum(revenue{region="eu"})'
    )
    eu = (Matcher("region", "=", "eu"),)
    assert aggregations(expr) == {Aggregation("sum", "revenue", eu), Aggregation("sum", "cost", eu)}
    assert metrics(expr) == {"revenue", "cost"}
    assert metrics(parse_expression("1 + 2")) == frozenset()


def test_matcher_semantics_like_promql() -> None:
    not_email = Matcher("channel", "!=", "email")
    assert not_email.matches({"channel": "web"})
    assert not not_email.matches({"channel": "email"})
    assert not_email.matches({}), "!= matches when the label is absent"
    assert Matcher("channel", "=", "").matches({})
    assert not Matcher("channel", "=", "web").matches({})


def test_aggregation_matches_metric_and_all_matchers() -> None:
    selector = agg("sum", "revenue", Matcher("region", "=", "eu"), Matcher("tier", "!=", "free"))
    assert selector.matches("revenue", {"region": "eu", "tier": "pro"})
    assert selector.matches("revenue", {"region": "eu"})
    assert not selector.matches("revenue", {"region": "eu", "tier": "free"})
    assert not selector.matches("revenue", {"region": "us"})
    assert not selector.matches("cost", {"region": "eu"})


# --------------------------------------------------------------------------- evaluation


def test_evaluate_arithmetic() -> None:
    expr = parse_expression("100 * count(signup) / count(visit) - -1")
    values = {agg("count", "signup"): 5.0, agg("count", "visit"): 20.0}
    assert evaluate_expression(expr, values) == 26.0


def test_division_by_zero_yields_no_value() -> None:
    expr = parse_expression("100 * count(signup) / count(visit)")
    assert (
        evaluate_expression(expr, {agg("count", "signup"): 5.0, agg("count", "visit"): 0.0}) is None
    )
    assert evaluate_expression(parse_expression("1 / 0"), {}) is None
    assert evaluate_expression(parse_expression("0 / 1"), {}) == 0.0


def test_none_propagates() -> None:
    expr = parse_expression("sum(revenue) - sum(cost)")
    assert evaluate_expression(expr, {REVENUE: 10.0, COST: None}) is None
    assert evaluate_expression(expr, {REVENUE: 10.0}) is None, "a missing value counts as None"
    assert evaluate_expression(parse_expression("-sum(cost)"), {COST: None}) is None
    assert evaluate_expression(expr, {REVENUE: 10.0, COST: 4.0}) == 6.0


def test_non_finite_results_yield_no_value() -> None:
    assert evaluate_expression(parse_expression("sum(revenue) * 10"), {REVENUE: 1e308}) is None
    assert evaluate_expression(parse_expression("sum(revenue) / 1e-300"), {REVENUE: 1e300}) is None
    assert evaluate_expression(REVENUE, {REVENUE: math.nan}) is None
