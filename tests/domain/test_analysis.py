"""Breakdown and drivers (SPEC §13): shapes of expressions, exact additive splits, the
rate/mix identity, and the accuracy of finding a planted cause."""

import itertools
import math
import random
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from northstar.domain.aggregation import Summary
from northstar.domain.analysis import (
    DriverMethod,
    GroupStates,
    NoGapError,
    ReferenceKind,
    breakdown,
    choose_dimension,
    driver_method,
    is_additive,
    merge_groups,
    peer_levels,
    split_gap,
    value_of,
)
from northstar.domain.expressions import Aggregation, aggregations, parse_expression

T = datetime(2025, 1, 1, tzinfo=UTC)


def summary(*values: float) -> Summary:
    return Summary.of((T, v) for v in values)


def states_for(expr_text: str, per_metric: dict[str, list[float]]) -> dict[Aggregation, Summary]:
    expr = parse_expression(expr_text)
    from northstar.domain.expressions import aggregations

    return {agg: summary(*per_metric.get(agg.metric, [])) for agg in aggregations(expr)}


@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("sum(revenue)", DriverMethod.ADDITIVE),
        ("count(order)", DriverMethod.ADDITIVE),
        ("sum(revenue) - sum(cost)", DriverMethod.ADDITIVE),
        ("sum(revenue) / 100", DriverMethod.ADDITIVE),
        ("-2 * sum(revenue)", DriverMethod.ADDITIVE),
        ("sum(revenue) + 5", DriverMethod.GROUP_DIFFERENCE),
        ("100 * count(signup) / count(visit)", DriverMethod.RATE_MIX),
        ("avg(csat)", DriverMethod.RATE_MIX),
        ("avg(csat) * 20", DriverMethod.RATE_MIX),
        ("sum(revenue) / count(order)", DriverMethod.RATE_MIX),
        ("p95(delivery_hours)", DriverMethod.GROUP_DIFFERENCE),
        ("max(latency)", DriverMethod.GROUP_DIFFERENCE),
        ("sum(a) * sum(b)", DriverMethod.GROUP_DIFFERENCE),
    ],
)
def test_the_method_follows_the_expression_shape(text: str, method: DriverMethod) -> None:
    assert driver_method(parse_expression(text)) is method
    assert is_additive(parse_expression(text)) == (method is DriverMethod.ADDITIVE)


def test_breakdown_of_a_sum_has_top_rows_other_and_total() -> None:
    expr = parse_expression("sum(revenue)")
    agg = Aggregation("sum", "revenue")
    groups: dict[tuple[str, ...], GroupStates] = {
        ("eu",): {agg: summary(50, 50)},
        ("us",): {agg: summary(300)},
        ("apac",): {agg: summary(20)},
        ("latam",): {agg: summary(30)},
    }
    result = breakdown(expr, ["region"], groups, limit=2)
    assert [(r.dimensions, r.value) for r in result.items] == [
        ({"region": "us"}, 300),
        ({"region": "eu"}, 100),
    ]
    assert result.other is not None and result.other.value == 50
    assert result.total == 450
    assert result.additive
    assert math.isclose(sum(r.share or 0 for r in result.items) + (result.other.share or 0), 1)


def test_breakdown_of_a_ratio_evaluates_within_each_group() -> None:
    expr = parse_expression("100 * count(signup) / count(visit)")
    signup, visit = Aggregation("count", "signup"), Aggregation("count", "visit")
    groups: dict[tuple[str, ...], GroupStates] = {
        ("eu",): {signup: summary(1, 1), visit: summary(*[1] * 10)},  # 20 %
        ("us",): {signup: summary(1), visit: summary(*[1] * 40)},  # 2.5 %
        ("apac",): {signup: summary(1, 1, 1), visit: summary(1, 1, 1, 1)},  # 75 %
    }
    result = breakdown(expr, ["region"], groups, limit=2)
    assert not result.additive
    # Ranked by events read, not by the rate.
    assert [r.dimensions["region"] for r in result.items] == ["us", "eu"]
    assert result.items[1].value == pytest.approx(20)
    assert result.other is not None and result.other.value == pytest.approx(75)
    assert result.total == pytest.approx(100 * 6 / 54)


def test_breakdown_of_a_percentile_is_the_group_percentile_not_a_sum() -> None:
    expr = parse_expression("max(latency)")
    agg = Aggregation("max", "latency")
    groups: dict[tuple[str, ...], GroupStates] = {
        ("a",): {agg: summary(1, 9)},
        ("b",): {agg: summary(4)},
    }
    result = breakdown(expr, ["host"], groups, limit=5)
    assert [r.value for r in result.items] == [9, 4]
    assert result.total == 9
    assert result.other is None


@pytest.mark.parametrize("func", ["sum", "count", "avg", "min", "max", "last", "p95"])
def test_a_lone_aggregation_breaks_down_as_the_evaluator_computes_it(func: str) -> None:
    """A lone aggregation is read straight from each group's state: the same values, in
    the same order, as through the expression evaluator (`… * 1`), a sum that overflows
    to infinity included (no value, as the evaluator says)."""
    lone = parse_expression(f"{func}(revenue)")
    through_evaluator = parse_expression(f"{func}(revenue) * 1")
    assert isinstance(lone, Aggregation)
    agg = lone
    rng = random.Random(15)
    groups: dict[tuple[str, ...], GroupStates] = {
        (f"c{i:02d}",): {agg: summary(*(rng.uniform(-50, 50) for _ in range(rng.randint(0, 5))))}
        for i in range(40)
    }
    groups[("huge",)] = {agg: Summary(count=1, sum=math.inf, min=1.0, max=1.0)}
    for limit in (1, 10, 100):
        fast = breakdown(lone, ["customer"], groups, limit)
        slow = breakdown(through_evaluator, ["customer"], groups, limit)
        assert [(r.dimensions, r.value, r.events) for r in fast.items] == [
            (r.dimensions, r.value, r.events) for r in slow.items
        ]
        assert fast.total == slow.total
        assert fast.other == slow.other
    values = {
        r.dimensions["customer"]: r.value for r in breakdown(lone, ["customer"], groups, 100).items
    }
    if func == "sum":
        assert values["huge"] is None


def test_breakdown_leaves_out_groups_without_events_and_rejects_a_zero_limit() -> None:
    expr = parse_expression('sum(revenue{region="eu"})')
    agg = Aggregation("sum", "revenue", ())
    eu_only = parse_expression('sum(revenue{region="eu"})')
    from northstar.domain.expressions import aggregations

    (agg,) = aggregations(eu_only)
    groups: dict[tuple[str, ...], GroupStates] = {
        ("eu",): {agg: summary(5)},
        ("us",): {agg: Summary()},
    }
    result = breakdown(expr, ["region"], groups, limit=5)
    assert [r.dimensions for r in result.items] == [{"region": "eu"}]
    with pytest.raises(ValueError, match="limit"):
        breakdown(expr, ["region"], groups, limit=0)


def _random_groups(
    rng: random.Random, keys: list[str], aggs: list[Aggregation], empty_chance: float = 0.1
) -> dict[str, GroupStates]:
    out: dict[str, GroupStates] = {}
    for key in keys:
        if rng.random() < empty_chance:
            continue
        out[key] = {
            agg: summary(*[round(rng.uniform(0, 100), 2) for _ in range(rng.randint(1, 5))])
            for agg in aggs
        }
    return out


@given(st.integers(0, 10**9), st.sampled_from(["sum(revenue)", "sum(revenue) - 2 * sum(cost)"]))
def test_additive_contributions_sum_to_the_gap(seed: int, text: str) -> None:
    rng = random.Random(seed)
    expr = parse_expression(text)
    from northstar.domain.expressions import aggregations

    aggs = sorted(aggregations(expr), key=str)
    keys = [f"v{i}" for i in range(rng.randint(1, 12))]
    current = _random_groups(rng, keys, aggs)
    previous = _random_groups(rng, keys, aggs)
    if not current or not previous:
        return
    expected = rng.uniform(-500, 500)
    for before, reference in ((previous, None), (previous, expected), ({}, expected)):
        split = split_gap(expr, "region", current, before, expected=reference)
        assert split.method is DriverMethod.ADDITIVE
        total = math.fsum(i.contribution for i in split.items)
        scale = max(1.0, math.fsum(abs(i.contribution) for i in split.items))
        assert abs(total - split.gap) <= 1e-9 * scale
        assert [abs(i.contribution) for i in split.items] == sorted(
            (abs(i.contribution) for i in split.items), reverse=True
        )


@given(
    st.integers(0, 10**9),
    st.sampled_from(
        ["100 * count(signup) / count(visit)", "avg(csat)", "sum(revenue) / count(order)"]
    ),
)
def test_rate_mix_contributions_sum_to_the_gap(seed: int, text: str) -> None:
    rng = random.Random(seed)
    expr = parse_expression(text)
    from northstar.domain.expressions import aggregations

    aggs = sorted(aggregations(expr), key=str)
    keys = [f"v{i}" for i in range(rng.randint(1, 12))]
    current = _random_groups(rng, keys, aggs)
    previous = _random_groups(rng, keys, aggs)
    if not current or not previous:
        return
    expected = rng.uniform(1, 90)
    for before, reference in ((previous, None), (previous, expected), ({}, expected)):
        try:
            split = split_gap(expr, "region", current, before, expected=reference)
        except NoGapError:
            continue
        assert split.method is DriverMethod.RATE_MIX
        total = math.fsum(i.contribution for i in split.items)
        scale = max(1.0, abs(split.actual), abs(split.reference))
        assert abs(total - split.gap) <= 1e-9 * scale


def test_rate_mix_separates_a_rate_drop_from_a_mix_shift() -> None:
    """EU converts as before but its traffic doubled at a low rate (mix); US's rate halved
    (rate). Both lower the total; the US rate drop is named the larger driver."""
    expr = parse_expression("count(signup) / count(visit)")
    signup, visit = Aggregation("count", "signup"), Aggregation("count", "visit")

    def group(signups: int, visits: int) -> GroupStates:
        return {signup: summary(*[1] * signups), visit: summary(*[1] * visits)}

    previous = {"eu": group(5, 100), "us": group(20, 100)}
    current = {"eu": group(10, 200), "us": group(10, 100)}
    split = split_gap(expr, "region", current, previous)
    assert split.gap == pytest.approx(20 / 300 - 25 / 200)
    assert [i.value for i in split.items] == ["us", "eu"]
    assert math.fsum(i.contribution for i in split.items) == pytest.approx(split.gap, rel=1e-12)
    assert split.items[0].actual == pytest.approx(0.1)
    assert split.items[0].reference == pytest.approx(0.2)


def test_compare_expected_distributes_the_expected_value_by_the_previous_mix() -> None:
    expr = parse_expression("sum(revenue)")
    agg = Aggregation("sum", "revenue")
    previous = {"eu": {agg: summary(60)}, "us": {agg: summary(40)}}
    current = {"eu": {agg: summary(30)}, "us": {agg: summary(60)}}
    split = split_gap(expr, "region", current, previous, expected=150)
    assert split.gap == -60
    eu = next(i for i in split.items if i.value == "eu")
    assert eu.reference == pytest.approx(90)
    assert eu.contribution == pytest.approx(-60)
    assert eu.share_of_gap == pytest.approx(1)


def test_no_value_now_is_a_no_gap_error() -> None:
    expr = parse_expression("avg(csat)")
    with pytest.raises(NoGapError):
        split_gap(expr, "region", {}, {}, expected=3)


def test_group_difference_ranks_percentile_groups() -> None:
    expr = parse_expression("p95(delivery_hours)")
    (agg,) = list(__import__("northstar.domain.expressions", fromlist=["x"]).aggregations(expr))
    previous = {"a": {agg: summary(*[10] * 20)}, "b": {agg: summary(*[10] * 20)}}
    current = {"a": {agg: summary(*[10] * 20)}, "b": {agg: summary(*[30] * 20)}}
    split = split_gap(expr, "warehouse", current, previous)
    assert split.method is DriverMethod.GROUP_DIFFERENCE
    assert split.items[0].value == "b"


# --------------------------------------------------------------------------- accuracy


def _planted_case(rng: random.Random) -> tuple[dict[str, list[str]], tuple[str, str], list, list]:
    """Events of three dimensions with 3-20 values each; one value drops by 30-70 % in the
    current period, everything else moves by noise."""
    dims = {
        name: [f"{name}{i}" for i in range(rng.randint(3, 20))]
        for name in ("region", "channel", "product")
    }
    weight = {name: {v: rng.uniform(0.5, 2.0) for v in values} for name, values in dims.items()}
    cause_dim = rng.choice(list(dims))
    cause_value = rng.choice(dims[cause_dim])
    drop = rng.uniform(0.3, 0.7)
    before, after = [], []
    for r in dims["region"]:
        for c in dims["channel"]:
            for p in dims["product"]:
                cell = {"region": r, "channel": c, "product": p}
                base = 100 * weight["region"][r] * weight["channel"][c] * weight["product"][p]
                before.append((cell, base * rng.uniform(0.9, 1.1)))
                factor = 1 - drop if cell[cause_dim] == cause_value else 1.0
                after.append((cell, base * factor * rng.uniform(0.9, 1.1)))
    return dims, (cause_dim, cause_value), before, after


def _by(dim: str, cells: list, agg: Aggregation) -> dict[str, GroupStates]:
    sums: dict[str, Summary] = defaultdict(Summary)
    for cell, value in cells:
        sums[cell[dim]].add(T, value)
    return {key: {agg: s} for key, s in sums.items()}


@pytest.mark.parametrize("compare", ["previous", "expected"])
def test_drivers_find_the_planted_cause_in_at_least_95_of_100_cases(compare: str) -> None:
    rng = random.Random(20261129)
    expr = parse_expression("sum(revenue)")
    agg = Aggregation("sum", "revenue")
    found = 0
    for _ in range(100):
        dims, (cause_dim, cause_value), before, after = _planted_case(rng)
        previous_total = math.fsum(v for _, v in before)
        expected = previous_total * rng.uniform(0.98, 1.05) if compare == "expected" else None
        splits = [
            split_gap(expr, dim, _by(dim, after, agg), _by(dim, before, agg), expected=expected)
            for dim in dims
        ]
        for split in splits:
            total = math.fsum(i.contribution for i in split.items)
            assert abs(total - split.gap) <= 1e-9 * abs(split.gap)
        best = choose_dimension(splits)[0]
        if best.dimension == cause_dim and best.items[0].value == cause_value:
            found += 1
    assert found >= 95


def test_a_single_valued_dimension_is_never_chosen_over_a_real_one() -> None:
    expr = parse_expression("sum(revenue)")
    agg = Aggregation("sum", "revenue")
    flat = split_gap(expr, "tenant", {"x": {agg: summary(5)}}, {"x": {agg: summary(10)}})
    spread = split_gap(
        expr,
        "region",
        {"a": {agg: summary(2)}, "b": {agg: summary(3)}},
        {"a": {agg: summary(5)}, "b": {agg: summary(5)}},
    )
    assert choose_dimension([flat, spread])[0].dimension == "region"
    assert value_of(expr, {agg: summary(1, 2)}) == 3


def test_a_region_drop_is_not_blamed_on_the_customers_inside_it() -> None:
    """Customers belong to regions: the finer dimension has as much divergence as the
    region, but the region explains the gap with one value."""
    expr = parse_expression("sum(revenue)")
    agg = Aggregation("sum", "revenue")
    rng = random.Random(1)
    regions = ("eu", "na", "apac", "latam")
    before, after = [], []
    for c in range(400):
        cell = {"customer": f"c{c}", "region": regions[c % 4], "channel": f"ch{(c // 4) % 4}"}
        base = rng.uniform(50, 150)
        before.append((cell, base))
        after.append((cell, base * (0.6 if c % 4 == 0 else 1.0) * rng.uniform(0.97, 1.03)))
    splits = [
        split_gap(expr, dim, _by(dim, after, agg), _by(dim, before, agg))
        for dim in ("customer", "region", "channel")
    ]
    best = choose_dimension(splits)[0]
    assert (best.dimension, best.items[0].value) == ("region", "eu")


# --------------------------------------------------------------------------- no history


def test_peer_levels_hold_a_value_up_to_the_median_of_the_others() -> None:
    assert peer_levels({"a": 10, "b": 10, "c": 1}) == {"a": 10, "b": 10, "c": 10}
    # Two values: each one's peer is the other.
    assert peer_levels({"a": 10, "b": 1}) == {"a": 10, "b": 10}
    # Being large is no shortfall: 50 keeps its level. The 1's peers are 4, 6, 8 and 50
    # (median 7), the 6's are 1, 4, 8 and 50 (median 6).
    assert peer_levels({"a": 1, "b": 4, "c": 6, "d": 8, "e": 50}) == {
        "a": 7,
        "b": 7,
        "c": 6,
        "d": 8,
        "e": 50,
    }
    # Events without the dimension are no value of it: own level, nobody's peer.
    assert peer_levels({"": 1000, "x": 5}) == {"": 1000, "x": 5}
    assert peer_levels({"": 1, "x": 5, "y": 1}) == {"": 1, "x": 5, "y": 5}
    assert peer_levels({}) == {}


def test_without_history_the_expected_value_is_shared_by_peers() -> None:
    """The issue's case: regions split the gap evenly, while one product sells at a tenth
    of its peers. Spread in proportion to today's actuals (the old reference) every
    dimension looked alike and the two-valued one won; held to their peers, the product
    concentrates the gap."""
    expr = parse_expression("sum(revenue)")
    agg = Aggregation("sum", "revenue")
    products = {"p1": 100.0, "p2": 100.0, "p3": 100.0, "p4": 10.0}
    cells = [
        ({"region": region, "product": product}, value / 2)
        for region in ("eu", "us")
        for product, value in products.items()
    ]
    expected = 400.0
    splits = [
        split_gap(expr, dim, _by(dim, cells, agg), {}, expected=expected)
        for dim in ("region", "product")
    ]
    for split in splits:
        assert split.reference_kind is ReferenceKind.EXPECTED_BY_PEERS
        assert math.fsum(i.contribution for i in split.items) == pytest.approx(split.gap)
    best = choose_dimension(splits)[0]
    assert best.dimension == "product"
    assert best.items[0].value == "p4"
    assert best.items[0].reference == pytest.approx(100)
    assert best.items[0].contribution == pytest.approx(-90)
    assert best.items[0].share_of_gap == pytest.approx(1)


def test_the_reference_kind_names_history_or_peers() -> None:
    expr = parse_expression("sum(revenue)")
    agg = Aggregation("sum", "revenue")
    now = {"a": {agg: summary(5)}, "b": {agg: summary(10)}}
    before = {"a": {agg: summary(10)}, "b": {agg: summary(10)}}
    assert split_gap(expr, "x", now, before).reference_kind is ReferenceKind.PREVIOUS
    with_history = split_gap(expr, "x", now, before, expected=20)
    assert with_history.reference_kind is ReferenceKind.EXPECTED_BY_HISTORY
    assert split_gap(expr, "x", now, {}, expected=20).reference_kind is (
        ReferenceKind.EXPECTED_BY_PEERS
    )
    # A previous period whose total is 0 gives no shares to spread by.
    empty = {"a": {agg: summary(0)}}
    assert split_gap(expr, "x", now, empty, expected=20).reference_kind is (
        ReferenceKind.EXPECTED_BY_PEERS
    )
    p95 = parse_expression("p95(latency)")
    (latency,) = aggregations(p95)
    groups = {"a": {latency: summary(3)}}
    assert split_gap(p95, "x", groups, {}, expected=2).reference_kind is (
        ReferenceKind.EXPECTED_BY_PEERS
    )


_SIGNUP, _VISIT = Aggregation("sum", "signup"), Aggregation("sum", "visit")
_REVENUE = Aggregation("sum", "revenue")


def _planted_states(
    sizes: dict[str, int], cause: tuple[str, int], drop: float, *, rate: bool, dropped: bool
) -> dict[str, dict[str, GroupStates]]:
    """Per dimension, per value, the states of a grid of cells (one per combination of
    values) that are all alike, but for the cells of the cause value when `dropped`."""
    sums: dict[str, dict[str, dict[Aggregation, Summary]]] = {
        dim: defaultdict(lambda: defaultdict(Summary)) for dim in sizes
    }
    for combination in itertools.product(*(range(n) for n in sizes.values())):
        cell = dict(zip(sizes, combination, strict=True))
        factor = 1 - drop if dropped and cell[cause[0]] == cause[1] else 1.0
        parts = {_SIGNUP: 20.0 * factor, _VISIT: 100.0} if rate else {_REVENUE: 100.0 * factor}
        for dim, index in cell.items():
            for agg, value in parts.items():
                sums[dim][f"{dim}{index}"][agg].add(T, value)
    return {
        dim: {value: dict(states) for value, states in per.items()} for dim, per in sums.items()
    }


@settings(deadline=None)  # a grid of up to 625 cells: no timing in tests
@given(
    sizes=st.lists(st.integers(2, 5), min_size=2, max_size=4),
    cause_dimension=st.integers(0, 3),
    cause_value=st.integers(0, 4),
    drop=st.floats(0.2, 0.9),
    behind=st.floats(1.0, 1.2),
    growth=st.floats(1.0, 1.25),
    history=st.sampled_from(["previous", "expected_by_history", "expected_by_peers"]),
    rate=st.booleans(),
)
def test_a_planted_cause_is_ranked_first_with_and_without_history(
    sizes: list[int],
    cause_dimension: int,
    cause_value: int,
    drop: float,
    behind: float,
    growth: float,
    history: str,
    rate: bool,
) -> None:
    """One value of one dimension drops; every other value of every dimension splits
    evenly. Against the previous period, against the expected value spread by history,
    and with no history at all (the expected value shared by peers), that dimension is
    chosen and that value is ranked first. The goal is behind: the expected value is at
    least what the KPI would be without the drop."""
    dims = {f"d{i}": n for i, n in enumerate(sizes)}
    cause_dim = f"d{cause_dimension % len(sizes)}"
    cause = (cause_dim, cause_value % dims[cause_dim])
    expr = parse_expression("sum(signup) / sum(visit)" if rate else "sum(revenue)")
    current = _planted_states(dims, cause, drop, rate=rate, dropped=True)
    untouched = _planted_states(dims, cause, drop, rate=rate, dropped=False)
    no_drop = value_of(expr, merge_groups(untouched[cause_dim].values()))
    assert no_drop is not None
    if history == "expected_by_peers":
        previous: dict[str, dict[str, GroupStates]] = {dim: {} for dim in dims}
        expected: float | None = no_drop * behind
    else:
        # The previous period: every cell alike, the whole higher by `growth`.
        previous = {
            dim: {
                value: {
                    agg: Summary.of([(T, s.sum * (growth if agg != _VISIT else 1.0))])
                    for agg, s in states.items()
                }
                for value, states in per.items()
            }
            for dim, per in untouched.items()
        }
        expected = None if history == "previous" else no_drop * growth * behind
    splits = [split_gap(expr, dim, current[dim], previous[dim], expected=expected) for dim in dims]
    assert {s.reference_kind.value for s in splits} == {history}
    best = choose_dimension(splits)[0]
    assert best.dimension == cause_dim
    assert best.items[0].value == f"{cause_dim}{cause[1]}"
    assert best.items[0].contribution < 0
