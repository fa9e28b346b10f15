"""Analysis: a KPI split by dimension, and a goal's gap split into drivers (SPEC §13).

Everything here works on *group states*: for each group of events (one value of a
dimension, or one combination of values), the :class:`~northstar.domain.aggregation.Summary`
of every aggregation the KPI expression reads, restricted to that group. The groups
partition the events (an event without the dimension falls in the group ``""``, as a
label matcher reads a missing label), so merging the states of all groups gives the
KPI's states over the whole range, and a group's value is the expression evaluated on
its own states: ratios and percentiles come out right, not as sums of parts.

Three ways to split a gap, named in :class:`DriverMethod`:

- ``additive`` — the expression is a linear combination of ``sum`` and ``count``
  (``sum(revenue) - sum(cost)``, ``count(order) / 100``). A group's contribution is its
  actual minus its reference; contributions add up to the gap.
- ``rate_mix`` — the expression is a ratio of two additive expressions
  (``100 * count(signup) / count(visit)``, ``avg(x)`` = ``sum(x) / count(x)``). The total is
  ``R = Σ wᵢ·rᵢ`` with ``rᵢ`` the group's rate and ``wᵢ`` its share of the denominator, and
  the change is split per group into a rate effect and a mix effect with midpoint weights:
  ``cᵢ = w̄ᵢ·(r₁ᵢ − r₀ᵢ) + (r̄ᵢ − R̄)·(w₁ᵢ − w₀ᵢ)``. That identity is exact, so
  contributions again add up to the gap.
- ``group_difference`` — anything else (percentiles, min, max, last, products of
  aggregations): each group's difference to its reference weighted by its share of the
  events. These rank the groups but do not add up to the gap.

What each group is held to, named in :class:`ReferenceKind`: the previous period; the
expected value spread as the previous period was; or, with no history to spread it by,
the expected value shared among peers — each value held up to the median of the other
values, so one value far below its peers concentrates the gap (docs/analysis.md argues
the choice).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from northstar.domain.aggregation import Summary
from northstar.domain.expressions import (
    Aggregation,
    BinaryOp,
    Expr,
    Negate,
    Number,
    aggregations,
    evaluate_expression,
)

GroupKey = tuple[str, ...]
"""The dimension values that name a group, in the order of the dimensions asked for."""

GroupStates = Mapping[Aggregation, Summary]
"""The state of every aggregation of an expression within one group of events."""

_ADDITIVE_FUNCTIONS = frozenset({"sum", "count"})


class DriverMethod(StrEnum):
    """How a gap was split into contributions (see the module docstring)."""

    ADDITIVE = "additive"
    RATE_MIX = "rate_mix"
    GROUP_DIFFERENCE = "group_difference"


class ReferenceKind(StrEnum):
    """What the actual was compared with, and how the reference was spread over the values
    of a dimension."""

    PREVIOUS = "previous"
    """The previous period of the same length, value by value."""
    EXPECTED_BY_HISTORY = "expected_by_history"
    """The expected value, spread over the values as the previous period was."""
    EXPECTED_BY_PEERS = "expected_by_peers"
    """The expected value with no history to spread it by: each value is held up to its
    peers (:func:`peer_levels`)."""


class Compare(StrEnum):
    """What a goal's actual is compared with: its expected pace now, or the previous
    period of the same length."""

    EXPECTED = "expected"
    PREVIOUS = "previous"


# --------------------------------------------------------------------------- expression shape


def _is_constant(expr: Expr) -> bool:
    return not aggregations(expr)


def is_additive(expr: Expr) -> bool:
    """Whether the expression's value over a union of disjoint event sets is the sum of
    its values over each: a linear combination of ``sum``/``count`` aggregations with no
    constant term (``sum(a) + 5`` is not: the 5 would be counted once per group)."""
    if isinstance(expr, Aggregation):
        return expr.func in _ADDITIVE_FUNCTIONS
    if isinstance(expr, Number):
        return False
    if isinstance(expr, Negate):
        return is_additive(expr.operand)
    if expr.op in ("+", "-"):
        return is_additive(expr.left) and is_additive(expr.right)
    if expr.op == "*":
        return (_is_constant(expr.left) and is_additive(expr.right)) or (
            _is_constant(expr.right) and is_additive(expr.left)
        )
    return _is_constant(expr.right) and is_additive(expr.left)


def ratio_form(expr: Expr) -> tuple[Expr, Expr] | None:
    """``(numerator, denominator)``, both additive, when the expression is their ratio
    (up to constant factors); ``avg(m{…})`` is ``sum(m{…}) / count(m{…})``. ``None`` for
    any other shape."""
    if isinstance(expr, Aggregation):
        if expr.func == "avg":
            return (
                Aggregation("sum", expr.metric, expr.matchers),
                Aggregation("count", expr.metric, expr.matchers),
            )
        return None
    if isinstance(expr, Number):
        return None
    if isinstance(expr, Negate):
        inner = ratio_form(expr.operand)
        return None if inner is None else (Negate(inner[0]), inner[1])
    if expr.op == "/":
        if is_additive(expr.left) and is_additive(expr.right):
            return expr.left, expr.right
        if _is_constant(expr.right):
            inner = ratio_form(expr.left)
            return None if inner is None else (BinaryOp("/", inner[0], expr.right), inner[1])
        return None
    if expr.op == "*":
        for constant, other in ((expr.left, expr.right), (expr.right, expr.left)):
            if _is_constant(constant):
                inner = ratio_form(other)
                if inner is not None:
                    return BinaryOp("*", constant, inner[0]), inner[1]
    return None


def driver_method(expr: Expr) -> DriverMethod:
    """The decomposition that fits the expression's shape."""
    if is_additive(expr):
        return DriverMethod.ADDITIVE
    if ratio_form(expr) is not None:
        return DriverMethod.RATE_MIX
    return DriverMethod.GROUP_DIFFERENCE


# --------------------------------------------------------------------------- group states


def _states_value(
    expr: Expr, states: GroupStates, aggs: Iterable[Aggregation] | None = None
) -> float | None:
    values: dict[Aggregation, float | None] = {}
    for agg in aggregations(expr) if aggs is None else aggs:
        summary = states.get(agg)
        if summary is None:
            # An additive part of a ratio (`sum(x)` of `avg(x)`) reads the state of the
            # aggregation it was derived from: same metric and matchers, any function.
            summary = next(
                (
                    s
                    for a, s in states.items()
                    if a.metric == agg.metric and a.matchers == agg.matchers
                ),
                Summary(),
            )
        values[agg] = summary.value(agg.func)
    return evaluate_expression(expr, values)


def _group_value(expr: Expr, states: GroupStates, aggs: Iterable[Aggregation]) -> float | None:
    """`_states_value`, with a lone aggregation (`sum(revenue)`) read straight from its
    state rather than through the evaluator (and, as there, a value that is not finite
    is no value)."""
    if isinstance(expr, Aggregation):
        own = states.get(expr)
        if own is not None:
            value = own.value(expr.func)
            return None if value is None or not math.isfinite(value) else float(value)
    return _states_value(expr, states, aggs)


def value_of(expr: Expr, states: GroupStates) -> float | None:
    """The expression evaluated on one group's states (``None``: no value, e.g. an
    average of no events or a division by zero)."""
    return _states_value(expr, states)


def events_in(states: GroupStates) -> int:
    """Events the expression reads in this group (an event read by two aggregations
    counts twice)."""
    return sum(s.count for s in states.values())


def merge_groups(groups: Iterable[GroupStates]) -> dict[Aggregation, Summary]:
    """The states of the union of the groups."""
    parts: dict[Aggregation, list[Summary]] = {}
    for states in groups:
        for agg, summary in states.items():
            same = parts.get(agg)
            if same is None:
                parts[agg] = [summary]
            else:
                same.append(summary)
    return {agg: Summary.combine(summaries) for agg, summaries in parts.items()}


# --------------------------------------------------------------------------- breakdown


@dataclass(frozen=True)
class BreakdownRow:
    """One group: its dimension values, the expression's value within it, and its share
    (of the total for additive expressions, of the events read otherwise)."""

    dimensions: dict[str, str]
    value: float | None
    share: float | None
    events: int


@dataclass(frozen=True)
class Breakdown:
    """The top groups, everything else as one ``other`` row, and the total."""

    items: list[BreakdownRow]
    other: BreakdownRow | None
    total: float | None
    additive: bool


def _share(part: float | None, whole: float | None) -> float | None:
    if part is None or whole is None or whole == 0:
        return None
    share = part / whole
    return share if math.isfinite(share) else None


def breakdown(
    expr: Expr, dimensions: Sequence[str], groups: Mapping[GroupKey, GroupStates], limit: int
) -> Breakdown:
    """The KPI per group, ranked, cut at ``limit`` groups.

    Additive expressions rank by absolute value and their ``share`` is value / total, so
    shares of the items and ``other`` add up to 1. Other expressions (a conversion rate,
    a p95) rank by how many events a group holds, since a rate of a tiny group says
    little, and their ``share`` is the group's share of the events. Groups in which the
    expression reads no event are left out. Ties are broken by the dimension values, so
    the answer is stable. ``other`` is the expression evaluated over all groups beyond
    the limit (``None`` when there are none), ``total`` over all groups.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    additive = is_additive(expr)
    aggs = aggregations(expr)
    rows: list[tuple[GroupKey, float | None, int]] = []
    # One pass over the groups (a thousand per request for a breakdown by customer); a
    # lone aggregation (`sum(revenue)`) is its state's value, without the evaluator.
    for key, states in groups.items():
        events = 0
        for state in states.values():
            events += state.count
        if events > 0:
            rows.append((key, _group_value(expr, states, aggs), events))
    if additive:
        rows.sort(key=lambda r: (-abs(r[1] or 0.0), r[0]))
    else:
        rows.sort(key=lambda r: (-r[2], r[0]))
    # The groups beyond the limit are merged once, for `other`, and the total is that
    # merge plus the listed groups (groups without events add nothing to it).
    rest = rows[limit:]
    merged_rest = merge_groups(groups[key] for key, _, _ in rest)
    total = value_of(expr, merge_groups([merged_rest, *(groups[k] for k, _, _ in rows[:limit])]))
    all_events = sum(r[2] for r in rows)

    def row(key: GroupKey | None, value: float | None, events: int) -> BreakdownRow:
        share = _share(value, total) if additive else _share(float(events), float(all_events))
        names = dict(zip(dimensions, key, strict=True)) if key is not None else {}
        return BreakdownRow(names, value, share, events)

    items = [row(key, value, events) for key, value, events in rows[:limit]]
    other = None
    if rest:
        other = row(None, value_of(expr, merged_rest), sum(r[2] for r in rest))
    return Breakdown(items, other, total, additive)


# --------------------------------------------------------------------------- drivers


@dataclass(frozen=True)
class DriverItem:
    """One dimension value's part in the gap."""

    value: str
    actual: float | None
    reference: float | None
    contribution: float
    share_of_gap: float | None


@dataclass(frozen=True)
class DriverSplit:
    """A gap split over the values of one dimension, ranked by absolute contribution.

    ``concentration`` says how much the gap sits in a few particular values: the
    Jensen–Shannon divergence (base 2, within [0, 1]) between how the reference and the
    actual distribute over the values — the "surprise" of Adtributor (Bhagwan et al.,
    NSDI 2014); for ratios the mean of the numerator's and the denominator's — times
    ``top_share``, the largest absolute contribution's share of all absolute
    contributions. The divergence ignores a uniform shortfall; the share prefers the
    succinct answer: a dimension that refines another (customers within regions) has at
    least the same divergence, but spreads the gap over many values. Where
    distributions say nothing (percentiles) it is ``top_share`` alone. ``reference_kind``
    says what the reference was (:class:`ReferenceKind`).
    """

    dimension: str
    method: DriverMethod
    reference_kind: ReferenceKind
    actual: float
    reference: float
    gap: float
    items: list[DriverItem]
    concentration: float
    top_share: float


class NoGapError(ValueError):
    """The gap cannot be computed: the KPI has no value now, or no reference."""


def _ranked(
    dimension: str,
    method: DriverMethod,
    kind: ReferenceKind,
    actual: float,
    reference: float,
    rows: Sequence[tuple[str, float | None, float | None, float]],
    divergence: float | None = None,
) -> DriverSplit:
    gap = actual - reference
    rows = sorted(rows, key=lambda r: (-abs(r[3]), r[0]))
    items = [
        DriverItem(value, a, ref, contribution, _share(contribution, gap))
        for value, a, ref, contribution in rows
    ]
    magnitude = math.fsum(abs(r[3]) for r in rows)
    top_share = abs(rows[0][3]) / magnitude if rows and magnitude > 0 else 0.0
    concentration = top_share if divergence is None else divergence * top_share
    return DriverSplit(
        dimension, method, kind, actual, reference, gap, items, concentration, top_share
    )


def divergence(before: Mapping[str, float], after: Mapping[str, float]) -> float | None:
    """Jensen–Shannon divergence (base 2) between two distributions over the same keys,
    given as non-negative weights; ``None`` when either has no weight."""
    p_total = math.fsum(abs(v) for v in before.values())
    q_total = math.fsum(abs(v) for v in after.values())
    if p_total == 0 or q_total == 0:
        return None
    result = 0.0
    for key in set(before) | set(after):
        p = abs(before.get(key, 0.0)) / p_total
        q = abs(after.get(key, 0.0)) / q_total
        middle = (p + q) / 2
        if p > 0:
            result += p * math.log2(p / middle) / 2
        if q > 0:
            result += q * math.log2(q / middle) / 2
    return min(max(result, 0.0), 1.0)


def _scaled(values: Mapping[str, float], total: float, target: float) -> dict[str, float] | None:
    """``values`` rescaled so that they add up to ``target`` instead of ``total``."""
    if total == 0 or not math.isfinite(target / total):
        return None
    factor = target / total
    return {key: value * factor for key, value in values.items()}


def peer_levels(levels: Mapping[str, float]) -> dict[str, float]:
    """Each value's level held up to its peers: ``max(own, median of the other values)``.

    This is the reference of a group when there is no history to say what it should be:
    a value below most of its peers is expected to do as they do, a value at or above
    them keeps its own level (being large is not a shortfall). The median, not the mean,
    so that the one value that collapsed does not drag its own bar down, nor one large
    value push everyone else's up. The group ``""`` (events without the dimension) is no
    value of the dimension: it keeps its own level and is nobody's peer. A value without
    peers keeps its own level.
    """
    ordered = sorted((level, key) for key, level in levels.items() if key != "")
    out = dict(levels)
    peers = len(ordered) - 1
    if peers < 1:
        return out
    for index, (level, key) in enumerate(ordered):
        # The median of the list without this value, read from the sorted whole: the
        # others' j-th is the whole's j-th before `index` and its (j+1)-th from there on.
        low, high = (peers - 1) // 2, peers // 2
        median = (
            ordered[low if low < index else low + 1][0]
            + ordered[high if high < index else high + 1][0]
        ) / 2
        out[key] = max(level, median)
    return out


def split_gap(
    expr: Expr,
    dimension: str,
    current: Mapping[str, GroupStates],
    previous: Mapping[str, GroupStates],
    *,
    expected: float | None = None,
) -> DriverSplit:
    """Split the gap between the KPI now and its reference over one dimension's values.

    ``current`` and ``previous`` are the group states per dimension value in this period
    and in the previous one of the same length. Without ``expected`` the reference is the
    previous period (``compare=previous``). With it (``compare=expected``), the reference
    total is the goal's expected value, and it is distributed over the groups as the
    previous period was (each group keeps its share, or its rate for ratios); without any
    previous data, by peers: each group is held up to the median of the other groups
    (:func:`peer_levels`), scaled so that the references add up to the expected value.
    Raises :class:`NoGapError` when the KPI has no value now or the reference has none.
    """
    method = driver_method(expr)
    keys = sorted(set(current) | set(previous))
    actual = value_of(expr, merge_groups(current.values()))
    if actual is None:
        raise NoGapError("the KPI has no value in this period")
    if method is DriverMethod.ADDITIVE:
        return _split_additive(expr, dimension, keys, current, previous, actual, expected)
    if method is DriverMethod.RATE_MIX:
        return _split_rate_mix(expr, dimension, keys, current, previous, actual, expected)
    return _split_difference(expr, dimension, keys, current, previous, actual, expected)


def _group_values(
    expr: Expr, keys: Sequence[str], groups: Mapping[str, GroupStates]
) -> dict[str, float]:
    aggs = aggregations(expr)
    return {
        key: _states_value(expr, groups[key], aggs) or 0.0 if key in groups else 0.0 for key in keys
    }


def _split_additive(
    expr: Expr,
    dimension: str,
    keys: Sequence[str],
    current: Mapping[str, GroupStates],
    previous: Mapping[str, GroupStates],
    actual: float,
    expected: float | None,
) -> DriverSplit:
    now = _group_values(expr, keys, current)
    before = _group_values(expr, keys, previous)
    if expected is None:
        reference_value = value_of(expr, merge_groups(previous.values()))
        if reference_value is None:
            raise NoGapError("the KPI has no value in the previous period")
        kind, reference = ReferenceKind.PREVIOUS, before
    else:
        reference_value = expected
        kind = ReferenceKind.EXPECTED_BY_HISTORY
        scaled = _scaled(before, math.fsum(before.values()), expected) if previous else None
        if scaled is None:
            kind = ReferenceKind.EXPECTED_BY_PEERS
            levels = peer_levels(now)
            scaled = _scaled(levels, math.fsum(levels.values()), expected)
        reference = scaled or {key: expected / len(keys) for key in keys}
    rows = [
        (
            key,
            now[key] if key in current else None,
            reference[key],
            now[key] - reference[key],
        )
        for key in keys
    ]
    # The parts add up to the whole for an additive expression; the rounding left over
    # (ulps) is not worth a correction.
    shift = divergence(reference, now)
    return _ranked(dimension, DriverMethod.ADDITIVE, kind, actual, reference_value, rows, shift)


@dataclass(frozen=True)
class _Rates:
    numerators: dict[str, float]
    weights: dict[str, float]
    rates: dict[str, float | None]
    total: float | None


def _rates(
    numerator: Expr,
    denominator: Expr,
    keys: Sequence[str],
    groups: Mapping[str, GroupStates],
) -> _Rates:
    nums = _group_values(numerator, keys, groups)
    dens = _group_values(denominator, keys, groups)
    whole = math.fsum(dens.values())
    weights = {key: dens[key] / whole if whole else 0.0 for key in keys}
    rates = {key: nums[key] / dens[key] if dens[key] else None for key in keys}
    total = math.fsum(nums.values()) / whole if whole else None
    return _Rates(nums, weights, rates, total)


def _split_rate_mix(
    expr: Expr,
    dimension: str,
    keys: Sequence[str],
    current: Mapping[str, GroupStates],
    previous: Mapping[str, GroupStates],
    actual: float,
    expected: float | None,
) -> DriverSplit:
    form = ratio_form(expr)
    assert form is not None  # driver_method chose RATE_MIX
    numerator, denominator = form
    now = _rates(numerator, denominator, keys, current)
    before = _rates(numerator, denominator, keys, previous)
    if expected is None:
        if before.total is None:
            raise NoGapError("the KPI has no value in the previous period")
        kind = ReferenceKind.PREVIOUS
        weights, rates, reference_value = before.weights, before.rates, before.total
    elif before.total:
        kind = ReferenceKind.EXPECTED_BY_HISTORY
        factor = expected / before.total
        weights = before.weights
        rates = {k: None if r is None else r * factor for k, r in before.rates.items()}
        reference_value = expected
    else:
        # No usable history: today's mix, each group's rate held up to its peers' and
        # scaled so that the mix of those rates is the expected value (every group held
        # to the expected rate when that is impossible: all rates 0).
        kind, weights, reference_value = ReferenceKind.EXPECTED_BY_PEERS, now.weights, expected
        levels = peer_levels({k: r for k, r in now.rates.items() if r is not None})
        mixed = math.fsum(now.weights[k] * level for k, level in levels.items())
        scale = expected / mixed if mixed and math.isfinite(expected / mixed) else None
        rates = {
            k: (levels[k] * scale if scale is not None else expected) if k in levels else None
            for k in keys
        }
    mean_total = (actual + reference_value) / 2
    rows = []
    for key in keys:
        w1, w0 = now.weights[key], weights[key]
        r1, r0 = now.rates[key], rates[key]
        # A group absent from one period takes its rate from the other: no rate effect,
        # all mix.
        r1_used = r1 if r1 is not None else (r0 if r0 is not None else 0.0)
        r0_used = r0 if r0 is not None else r1_used
        contribution = (w1 + w0) / 2 * (r1_used - r0_used) + (
            (r1_used + r0_used) / 2 - mean_total
        ) * (w1 - w0)
        rows.append((key, r1, r0, contribution))
    shift = None
    if kind is ReferenceKind.EXPECTED_BY_PEERS:
        # Same mix, so only the numerators can move: their divergence, halved as below.
        held = {k: now.weights[k] * (r or 0.0) for k, r in rates.items()}
        moved = divergence(held, {k: now.weights[k] * (r or 0.0) for k, r in now.rates.items()})
        shift = None if moved is None else moved / 2
    elif before.total is not None:
        numerators = divergence(before.numerators, now.numerators)
        denominators = divergence(before.weights, now.weights)
        if numerators is not None and denominators is not None:
            shift = (numerators + denominators) / 2
    return _ranked(dimension, DriverMethod.RATE_MIX, kind, actual, reference_value, rows, shift)


def _split_difference(
    expr: Expr,
    dimension: str,
    keys: Sequence[str],
    current: Mapping[str, GroupStates],
    previous: Mapping[str, GroupStates],
    actual: float,
    expected: float | None,
) -> DriverSplit:
    if expected is None:
        reference_value = value_of(expr, merge_groups(previous.values()))
        if reference_value is None:
            raise NoGapError("the KPI has no value in the previous period")
        kind = ReferenceKind.PREVIOUS
    else:
        # Every value is held to the expected value itself, as each of its peers is: a
        # p95 per warehouse against the expected p95 (history does not enter).
        reference_value = expected
        kind = ReferenceKind.EXPECTED_BY_PEERS
    events_now = {key: events_in(current[key]) if key in current else 0 for key in keys}
    all_events = sum(events_now.values()) or 1
    rows = []
    for key in keys:
        a = value_of(expr, current[key]) if key in current else None
        if expected is None:
            ref = value_of(expr, previous[key]) if key in previous else None
        else:
            ref = expected
        contribution = 0.0
        if a is not None and ref is not None:
            contribution = events_now[key] / all_events * (a - ref)
        rows.append((key, a, ref, contribution))
    return _ranked(dimension, DriverMethod.GROUP_DIFFERENCE, kind, actual, reference_value, rows)


def choose_dimension(splits: Sequence[DriverSplit]) -> list[DriverSplit]:
    """The splits ordered best first: the dimension that concentrates the gap most.

    A dimension with fewer than two values cannot point anywhere (its one value holds
    everything), so those come last whatever their concentration.
    """
    return sorted(
        splits, key=lambda s: (len(s.items) < 2, -s.concentration, -s.top_share, s.dimension)
    )
