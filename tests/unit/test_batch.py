"""The evaluator's batch summaries equal the domain's `Summary` of the same events."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from northstar.domain.aggregation import QuantileSketch, Summary, sketch_key
from northstar.events.model import MetricEvent
from northstar.rollups.batch import (
    PreparedBatch,
    Record,
    RollupRows,
    canonical_dimensions,
    summarise,
)
from northstar.rollups.levels import DAY, HOUR, MINUTE

START = datetime(2026, 3, 28, 22, 50, tzinfo=UTC)
ZONES = (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7)))


def _truncate(at: datetime, unit: str) -> datetime:
    at = at.astimezone(UTC)
    if unit == "minute":
        return at.replace(second=0, microsecond=0)
    if unit == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def iter_rows(rows: RollupRows) -> Iterator[tuple[object, ...]]:
    return zip(*rows.columns(), strict=True)


def _records(events: list[MetricEvent]) -> list[Record]:
    return [
        (e.timestamp, e.metric, e.value, canonical_dimensions(e.dimensions), e.source, e.event_id)
        for e in events
    ]


def _expected(events: list[MetricEvent], unit: str) -> dict[tuple[str, datetime, str], Summary]:
    groups: dict[tuple[str, datetime, str], Summary] = defaultdict(Summary)
    for event in events:
        key = (
            event.metric,
            _truncate(event.timestamp, unit),
            canonical_dimensions(event.dimensions),
        )
        groups[key].add(event.timestamp, event.value)
    return groups


def _actual(rows: RollupRows) -> dict[tuple[str, datetime, str], Summary]:
    out = {}
    for row in iter_rows(rows):
        metric, bucket, dims, count, total, low, high, last_time, last_value, sketch, salt = row
        assert salt == 0
        out[(metric, bucket, dims)] = Summary(
            count=count,  # type: ignore[arg-type]
            sum=total,  # type: ignore[arg-type]
            min=low,  # type: ignore[arg-type]
            max=high,  # type: ignore[arg-type]
            last_ts=last_time,  # type: ignore[arg-type]
            last_value=last_value,  # type: ignore[arg-type]
            sketch=QuantileSketch.from_dict(orjson.loads(sketch)),  # type: ignore[arg-type]
        )
    return out


def _close(a: Summary, b: Summary) -> bool:
    """Equal, with sums compared to float rounding (they are added in another order)."""
    return (
        a.count == b.count
        and abs(a.sum - b.sum) <= 1e-9 * max(1.0, abs(a.sum))
        and (a.min, a.max, a.last_ts, a.last_value, a.sketch)
        == (b.min, b.max, b.last_ts, b.last_value, b.sketch)
    )


events_strategy = st.lists(
    st.builds(
        lambda metric, seconds, zone, value, region, channel: MetricEvent(
            "",
            "s",
            metric,
            value,
            (START + timedelta(seconds=seconds)).astimezone(zone),
            {"region": region, "channel": channel} if channel else {"region": region},
        ),
        st.sampled_from(["orders", "revenue"]),
        # Up to three days around midnight, at millisecond resolution, including ties.
        st.integers(0, 3 * 86400 * 10).map(lambda n: n / 10),
        st.sampled_from(ZONES),
        st.one_of(
            st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
            st.sampled_from([0.0, 1.0, -1.0, 1.0202020202020203]),
        ),
        st.sampled_from(["eu", "na"]),
        st.sampled_from(["", "web"]),
    ),
    max_size=300,
)


@settings(max_examples=200, deadline=None)
@given(events_strategy)
def test_every_level_equals_the_domain_summary_of_its_events(events: list[MetricEvent]) -> None:
    summary = summarise(_records(events))
    for rows, unit in (
        (summary.rollups[MINUTE], "minute"),
        (summary.rollups[HOUR], "hour"),
        (summary.rollups[DAY], "day"),
    ):
        actual, expected = _actual(rows), _expected(events, unit)
        assert actual.keys() == expected.keys()
        for key, want in expected.items():
            assert _close(actual[key], want), (unit, key, actual[key], want)


@settings(max_examples=100, deadline=None)
@given(events_strategy)
def test_metric_totals_cover_the_batch(events: list[MetricEvent]) -> None:
    summary = summarise(_records(events))
    by_metric: dict[str, list[MetricEvent]] = defaultdict(list)
    for event in events:
        by_metric[event.metric].append(event)
    assert [m.metric for m in summary.metrics] == sorted(by_metric)
    for totals in summary.metrics:
        mine = by_metric[totals.metric]
        assert totals.count == len(mine)
        assert totals.first == min(e.timestamp for e in mine)
        assert totals.last == max(e.timestamp for e in mine)
        assert totals.shard == 0


def test_one_group_per_dimension_set_whatever_the_key_order() -> None:
    at = START
    events = [
        MetricEvent("a", "s", "orders", 1.0, at, {"region": "eu", "channel": "web"}),
        MetricEvent("b", "s", "orders", 2.0, at, {"channel": "web", "region": "eu"}),
    ]
    pending = PreparedBatch()
    pending.add(events)
    assert len(pending.summary().rollups[MINUTE]) == 1
    assert pending.records[0][3] == pending.records[1][3] == '{"channel":"web","region":"eu"}'


def test_pending_events_skip_a_repeated_key_and_only_resummarises() -> None:
    at = START
    pending = PreparedBatch()
    pending.add([MetricEvent(str(i), "s", "orders", float(i), at, {}) for i in range(5)])
    pending.add([MetricEvent("3", "s", "orders", 99.0, at, {})])  # same (source, event_id)
    assert len(pending) == 5
    assert pending.summary().rollups[MINUTE].sum == [10.0]
    subset = pending.only({("s", "1"), ("s", "4")})
    assert [r[5] for r in subset.records] == ["1", "4"] and subset.keys == [("s", "1"), ("s", "4")]
    assert subset.summary().rollups[MINUTE].sum == [5.0]
    assert subset.summary().rollups[MINUTE].count == [2]


def test_sketch_key_matches_the_sketch_buckets() -> None:
    rng = random.Random(5)
    for value in [rng.lognormvariate(0, 5) * rng.choice((1, -1)) for _ in range(2000)] + [0.0]:
        sketch = QuantileSketch()
        sketch.add(value)
        assert list(sketch.to_dict()) == [sketch_key(value)]
