"""Mergeable aggregation state: Summary and QuantileSketch."""

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from northstar.domain.aggregation import RELATIVE_ACCURACY, QuantileSketch, Summary
from northstar.domain.expressions import FUNCTIONS

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --------------------------------------------------------------------------- Summary


def test_summary_values() -> None:
    summary = Summary.of([(at(0), 4.0), (at(2), 1.0), (at(1), 10.0)])
    assert summary.value("sum") == 15.0
    assert summary.value("count") == 3.0
    assert summary.value("avg") == 5.0
    assert summary.value("min") == 1.0
    assert summary.value("max") == 10.0
    assert summary.value("last") == 1.0, "last is the value with the latest timestamp"
    assert summary.value("p50") == pytest.approx(4.0, rel=RELATIVE_ACCURACY)


@pytest.mark.parametrize("func", FUNCTIONS)
def test_empty_summary(func: str) -> None:
    expected = 0.0 if func in ("sum", "count") else None
    assert Summary().value(func) == expected


def test_last_ties_go_to_the_later_added_value() -> None:
    assert Summary.of([(at(1), 1.0), (at(1), 2.0)]).value("last") == 2.0
    first, second = Summary.of([(at(1), 1.0)]), Summary.of([(at(1), 2.0)])
    assert first.merge(second).value("last") == 2.0
    assert second.merge(first).value("last") == 1.0


def test_percentiles_of_a_constant_are_exact() -> None:
    summary = Summary.of([(at(i), 100.0) for i in range(10)])
    for func in ("p50", "p90", "p95", "p99"):
        assert summary.value(func) == 100.0


def test_merge_leaves_inputs_alone() -> None:
    a = Summary.of([(at(0), 1.0)])
    b = Summary.of([(at(1), 2.0)])
    merged = a.merge(b)
    assert merged.count == 2
    assert (a.count, b.count) == (1, 1)
    assert a.sketch.count == 1


def test_summary_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="finite"):
        Summary().add(T0, math.nan)
    with pytest.raises(ValueError, match="timezone-aware"):
        Summary().add(datetime(2025, 1, 1), 1.0)
    with pytest.raises(ValueError, match="unknown function"):
        Summary().value("median")


def test_summary_json_round_trip() -> None:
    summary = Summary.of([(at(i), v) for i, v in enumerate([3.0, -2.5, 0.0, 7.25, 1e6])])
    restored = Summary.from_dict(json.loads(json.dumps(summary.to_dict())))
    assert restored == summary
    for func in FUNCTIONS:
        assert restored.value(func) == summary.value(func)
    assert Summary.from_dict(Summary().to_dict()) == Summary()


def test_summary_reads_a_rollup_row() -> None:
    row = {
        "count": 2,
        "sum": 3.0,
        "min": 1.0,
        "max": 2.0,
        "last_time": at(5),
        "last_value": 2.0,
        "sketch": Summary.of([(at(0), 1.0), (at(5), 2.0)]).sketch.to_dict(),
    }
    summary = Summary.from_dict(row)
    assert summary == Summary.of([(at(0), 1.0), (at(5), 2.0)])
    assert summary.to_dict()["last_time"] == at(5).isoformat()


def test_summary_from_dict_rejects_malformed_data() -> None:
    with pytest.raises(ValueError, match="malformed"):
        Summary.from_dict({"sum": 1.0})
    with pytest.raises(ValueError, match="malformed"):
        Summary.from_dict({"count": 0, "sum": 0.0, "min": 1.0, "max": 1.0})
    with pytest.raises(ValueError, match="sketch holds"):
        Summary.from_dict({**Summary.of([(T0, 1.0)]).to_dict(), "count": 2})


points = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=100).map(at),
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    ),
    max_size=20,
)


def _totals(summary: Summary) -> tuple[int, float | None, float | None, float | None]:
    return summary.count, summary.min, summary.max, summary.value("sum")


@settings(max_examples=150)
@given(points, points, points)
def test_summary_merge_is_associative_and_order_independent(
    a_points: list[tuple[datetime, float]],
    b_points: list[tuple[datetime, float]],
    c_points: list[tuple[datetime, float]],
) -> None:
    a, b, c = Summary.of(a_points), Summary.of(b_points), Summary.of(c_points)
    whole = Summary.of(a_points + b_points + c_points)
    groupings = [
        a.merge(b).merge(c),
        a.merge(b.merge(c)),
        c.merge(a).merge(b),
        Summary.combine([b, c, a]),
    ]
    for merged in groupings:
        count, low, high, total = _totals(merged)
        assert (count, low, high) == (whole.count, whole.min, whole.max)
        assert total == pytest.approx(whole.value("sum"), rel=1e-9, abs=1e-6)
        assert merged.sketch == whole.sketch
        assert merged.last_ts == whole.last_ts


@settings(max_examples=150)
@given(st.lists(points, max_size=6))
def test_combine_is_absorbing_each_in_turn(parts: list[list[tuple[datetime, float]]]) -> None:
    """`combine` keeps its running state in locals (breakdowns merge a thousand groups):
    it must give exactly what absorbing the summaries one after another gives, including
    the float sum's rounding, the later of equal last timestamps, and the sketch."""
    summaries = [Summary.of(p) for p in parts]
    expected = Summary()
    for summary in summaries:
        expected.absorb(summary)
    combined = Summary.combine(summaries)
    assert combined == expected
    assert math.copysign(1.0, combined.sum) == math.copysign(1.0, expected.sum)
    assert [s.count for s in summaries] == [len(p) for p in parts], "inputs left alone"


def test_combine_takes_the_last_of_equal_timestamps_from_the_later_summary() -> None:
    first, second = Summary.of([(at(1), 1.0)]), Summary.of([(at(1), 2.0)])
    assert Summary.combine([first, second]).value("last") == 2.0
    assert Summary.combine([second, first]).value("last") == 1.0
    assert Summary.combine([first, Summary(), second]).last_value == 2.0


# --------------------------------------------------------------------------- QuantileSketch


def test_sketch_handles_negative_zero_and_positive_values() -> None:
    sketch = QuantileSketch()
    for value in (-10.0, -1.0, 0.0, 0.0, 1.0, 10.0, 100.0):
        sketch.add(value)
    assert sketch.count == 7
    assert sketch.quantile(0) == pytest.approx(-10.0, rel=RELATIVE_ACCURACY)
    assert sketch.quantile(0, low=-10.0, high=100.0) == -10.0
    assert sketch.quantile(1) == pytest.approx(100.0, rel=RELATIVE_ACCURACY)
    assert sketch.quantile(1, low=-10.0, high=100.0) == 100.0
    assert sketch.quantile(0.5) == 0.0
    assert sketch.quantile(1 / 6) == pytest.approx(-1.0, rel=RELATIVE_ACCURACY)
    assert sketch.quantile(5 / 6) == pytest.approx(10.0, rel=RELATIVE_ACCURACY)


def test_sketch_add_with_count_and_empty() -> None:
    sketch = QuantileSketch()
    assert sketch.quantile(0.5) is None
    sketch.add(5.0, count=3)
    sketch.add(7.0, count=0)
    assert sketch.count == 3
    with pytest.raises(ValueError):
        sketch.add(1.0, count=-1)
    with pytest.raises(ValueError):
        sketch.add(math.inf)
    with pytest.raises(ValueError):
        sketch.quantile(1.5)


def test_sketch_json_is_flat_and_round_trips() -> None:
    sketch = QuantileSketch()
    assert sketch.to_dict() == {}
    for value in range(-50, 1000):
        sketch.add(float(value))
    data = json.loads(json.dumps(sketch.to_dict()))
    assert data["z"] == 1
    assert all(key == "z" or key[0] in "pn" for key in data)
    assert all(isinstance(count, int) and count > 0 for count in data.values())
    assert len(data) < 800
    assert QuantileSketch.from_dict(data) == sketch
    for bad in ({"x1": 1}, {"p": 1}, {"p1": -1}, {"p1": 1.5}, {"z": "1"}):
        with pytest.raises(ValueError, match="malformed"):
            QuantileSketch.from_dict(bad)


def _add_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """What the store's SQL merge (northstar_sketch_merge) does: add counts per key."""
    return {key: a.get(key, 0) + b.get(key, 0) for key in a.keys() | b.keys()}


def test_sketch_json_merges_by_adding_counts_per_key() -> None:
    left, right = QuantileSketch(), QuantileSketch()
    for value in (-3.0, 0.0, 1.5, 2.0):
        left.add(value)
    for value in (-3.0, 0.0, 0.0, 2.0, 1e6):
        right.add(value)
    merged = QuantileSketch.from_dict(_add_counts(left.to_dict(), right.to_dict()))
    assert merged == left.merge(right)


def test_sketch_extreme_magnitudes() -> None:
    sketch = QuantileSketch()
    for value in (5e-324, 1e-300, 1.7e308, -1.7e308):
        sketch.add(value)
    assert sketch.quantile(1) == pytest.approx(1.7e308, rel=RELATIVE_ACCURACY)
    assert sketch.quantile(0) == pytest.approx(-1.7e308, rel=RELATIVE_ACCURACY)
    assert sketch.quantile(2 / 3) == pytest.approx(1e-300, rel=RELATIVE_ACCURACY)
    assert math.isfinite(QuantileSketch({10**6: 1}).quantile(0.5) or math.inf)


sample_values = st.lists(
    st.one_of(
        st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
        st.floats(min_value=1e-6, max_value=1e-3),
        st.just(0.0),
    ),
    min_size=1,
    max_size=300,
)


@settings(max_examples=150)
@given(sample_values, st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=10))
def test_sketch_quantiles_within_relative_accuracy(values: list[float], qs: list[float]) -> None:
    sketch = QuantileSketch()
    half = len(values) // 2
    left, right = QuantileSketch(), QuantileSketch()
    for value in values[:half]:
        left.add(value)
    for value in values[half:]:
        right.add(value)
    for value in values:
        sketch.add(value)
    assert left.merge(right) == sketch
    ordered = sorted(values)
    for q in [*qs, 0.5, 0.9, 0.95, 0.99]:
        exact = ordered[math.floor(q * (len(ordered) - 1))]
        answer = sketch.quantile(q)
        assert answer is not None
        assert abs(answer - exact) <= RELATIVE_ACCURACY * abs(exact) * (1 + 1e-9)
