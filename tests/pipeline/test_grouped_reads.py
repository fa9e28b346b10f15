"""The per-dimension rollup reads behind breakdown and drivers (SPEC §13), against a real
PostgreSQL: every aggregation of an expression, in two periods, per value of each
dimension on its own (one query with grouping sets) and per combination of values,
equal to the summary of the very events each group holds, computed in Python.

The periods start and end off the day, hour and minute, so each is read from day, hour
and minute buckets and raw edge events together, and the longer one from a week bucket
too; the expression has a label matcher, a
percentile (sketches merged per group) and `last` (the latest value per group)."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from northstar.db.engine import create_engine
from northstar.domain.aggregation import QUANTILES, Summary
from northstar.domain.expressions import Aggregation, aggregations, parse_expression
from northstar.events.model import MetricEvent
from northstar.rollups.batch import PreparedBatch
from northstar.rollups.levels import WEEK, decompose
from northstar.rollups.reader import grouped_states, split_states
from northstar.rollups.writer import MeasurementWriter

START = datetime(2026, 5, 30, 0, 0, tzinfo=UTC)  # a Saturday; epoch weeks begin on Thursdays
DAYS = 17
EXPRESSION = 'sum(revenue) / count(orders{channel!="app"}) + p90(revenue) + last(orders)'
DIMENSIONS = ("region", "channel", "team")


def _events(rng: random.Random, count: int, edges: Sequence[datetime]) -> list[MetricEvent]:
    """`count` events over `DAYS` days, a tenth of them within 90 s of an edge."""
    events = []
    for i in range(count):
        if i % 10 == 0:
            at = rng.choice(edges) + timedelta(seconds=rng.uniform(-90, 90))
        else:
            at = START + timedelta(seconds=rng.randrange(0, DAYS * 86_400))
        dimensions = {"region": rng.choice(["eu", "na", "apac"])}
        if rng.random() < 0.8:  # the rest have no channel: the group ""
            dimensions["channel"] = rng.choice(["web", "app", "store"])
        dimensions["team"] = rng.choice([f"t{n}" for n in range(7)])
        events.append(
            MetricEvent(
                uuid.uuid4().hex,
                "shop",
                rng.choice(["orders", "revenue"]),
                # Distinct values and times: "the latest value" has one answer.
                round(rng.lognormvariate(3, 1), 6) + i * 1e-7,
                at + timedelta(microseconds=i),
                dimensions,
            )
        )
    return events


def _truth(
    events: Sequence[MetricEvent], agg: Aggregation, start: datetime, end: datetime
) -> dict[tuple[str, ...], list[MetricEvent]]:
    """The events of `agg` in `[start, end]`, by (region, channel, team) as read."""
    groups: dict[tuple[str, ...], list[MetricEvent]] = {}
    for e in sorted(events, key=lambda e: e.timestamp):
        if start <= e.timestamp <= end and agg.matches(e.metric, e.dimensions):
            key = tuple(e.dimensions.get(d, "") for d in DIMENSIONS)
            groups.setdefault(key, []).append(e)
    return groups


def _assert_same(got: Summary, agg: Aggregation, events: Sequence[MetricEvent], where: str) -> None:
    want = Summary.of((e.timestamp, e.value) for e in events)
    assert got.count == want.count > 0, where
    assert math.isclose(got.sum, want.sum, rel_tol=1e-12), where
    assert (got.min, got.max, got.last_ts) == (want.min, want.max, want.last_ts), where
    # The expression reads `last`, so every group's latest value is read.
    assert got.last_value == want.last_value, where
    # Sketches are read for percentiles only.
    sketch = want.sketch.to_dict() if agg.func in QUANTILES else {}
    assert got.sketch.to_dict() == sketch, where


async def test_grouped_reads_equal_the_summaries_of_each_groups_events(database_url: str) -> None:
    cut = START + timedelta(days=1, hours=3, minutes=17, seconds=5, microseconds=300)
    ranges = [
        (cut, START + timedelta(days=16, hours=2, minutes=1, seconds=30)),
        (START + timedelta(minutes=7, seconds=41), cut),
    ]
    # The first period holds the whole week from Thursday 4 June: read from `rollup_1w`.
    assert WEEK.table in {piece.source for piece in decompose(*ranges[0])}
    events = _events(random.Random(15), 3000, [moment for r in ranges for moment in r])
    pending = PreparedBatch()
    pending.add(events)
    expr = parse_expression(EXPRESSION)
    aggs = sorted(aggregations(expr), key=repr)
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            writer = MeasurementWriter()
            stored = await writer.store(conn, pending, received_at=datetime.now(UTC))
            assert not stored.refused
            await writer.fold(conn, stored.fresh.summary(), START)
        async with engine.connect() as conn:
            setting = "SHOW max_parallel_workers_per_gather"
            before = (await conn.exec_driver_sql(setting)).scalar()
            split = await split_states(conn, expr, DIMENSIONS, ranges)
            combined = await grouped_states(conn, expr, ("region", "channel"), *ranges[0])
            # The reads run serial (reader._fetch_serial) and leave the setting as it was.
            assert (await conn.exec_driver_sql(setting)).scalar() == before
    finally:
        await engine.dispose()

    for p, (start, end) in enumerate(ranges):
        for d, dimension in enumerate(DIMENSIONS):
            seen = set()
            for agg in aggs:
                by_value: dict[str, list[MetricEvent]] = {}
                for key, members in _truth(events, agg, start, end).items():
                    by_value.setdefault(key[d], []).extend(members)
                for value, members in by_value.items():
                    members.sort(key=lambda e: e.timestamp)
                    where = f"period {p}, {dimension}={value}, {agg}"
                    _assert_same(split[p][d][value][agg], agg, members, where)
                seen |= set(by_value)
            # Every value the events hold, and no other; "" (no channel) among them.
            assert set(split[p][d]) == seen
        assert "" in split[p][1]
        # A value one aggregation never saw still has its (empty) state.
        assert all(len(states) == len(aggs) for states in split[p][0].values())

    start, end = ranges[0]
    expected_keys = set()
    for agg in aggs:
        by_pair: dict[tuple[str, ...], list[MetricEvent]] = {}
        for key, members in _truth(events, agg, start, end).items():
            by_pair.setdefault(key[:2], []).extend(members)
        for pair, members in by_pair.items():
            members.sort(key=lambda e: e.timestamp)
            _assert_same(combined[pair][agg], agg, members, f"{pair}, {agg}")
        expected_keys |= set(by_pair)
    assert set(combined) == expected_keys


async def test_an_empty_range_reads_no_groups(database_url: str) -> None:
    expr = parse_expression("sum(revenue)")
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            assert await split_states(conn, expr, ["region"], [(START, START)]) == [[{}]]
            later = START + timedelta(days=1)
            assert await grouped_states(conn, expr, ["region"], later, START) == {}
    finally:
        await engine.dispose()
