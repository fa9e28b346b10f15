"""The judging pass's one query for every KPI value (`KpiValueReader.prefetch`, built
by `batched_sql`), against a real PostgreSQL: each aggregation's state over each range
equals the summary of the very events in it, computed in Python, and the one-at-a-time
read (`KpiValueReader.state`) gives the same.

The ranges end in the middle of a minute, as "up to now" does: once with no event later
than the range in that minute (the minute is read from its `rollup_1m` rows) and once
with later events in it (read from the raw events), plus a range within a single minute
and an empty one. Several aggregations share a metric and range with and without label
matchers, as the benchmark's KPIs do."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from northstar.db.engine import create_engine
from northstar.domain.aggregation import QUANTILES, Summary
from northstar.domain.expressions import Aggregation, aggregations, parse_expression
from northstar.events.model import MetricEvent
from northstar.rollups import reader
from northstar.rollups.batch import PreparedBatch
from northstar.rollups.reader import KpiValueReader
from northstar.rollups.writer import MeasurementWriter
from tests.pipeline.test_grouped_reads import START, _events

EXPRESSIONS = [
    "sum(revenue) + count(revenue) + max(revenue) + min(revenue)",
    'avg(revenue{region="eu"}) + count(orders{channel!="app"})',
    "last(orders) + sum(orders)",
    "p90(revenue)",
]
# "Now" of the judging passes: mid-minute, the minute holding events up to it.
QUIET_END = START + timedelta(days=3, hours=10, minutes=20, seconds=30, microseconds=5)
BUSY_END = START + timedelta(days=9, hours=1, minutes=44, seconds=12)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _edge_events(rng: random.Random) -> list[MetricEvent]:
    """Events in the minutes of both ends: up to and at QUIET_END (none after it in its
    minute), and on both sides of BUSY_END."""
    out = []
    offsets = [(QUIET_END, -s) for s in (29, 17, 4, 0)] + [(BUSY_END, s) for s in (-9, -1, 3, 40)]
    for n, (end, seconds) in enumerate(offsets * 3):
        out.append(
            MetricEvent(
                uuid.uuid4().hex,
                "shop",
                ("orders", "revenue")[n % 2],
                round(rng.lognormvariate(3, 1), 6) + n * 1e-7,
                # Distinct times ("the latest value" has one answer); one exactly at the end.
                end + timedelta(seconds=seconds, microseconds=0 if n == 3 else -n),
                {"region": rng.choice(["eu", "na"]), "channel": rng.choice(["web", "app"])},
            )
        )
    return out


def _want(events: list[MetricEvent], agg: Aggregation, start: datetime, end: datetime) -> Summary:
    return Summary.of(
        (e.timestamp, e.value)
        for e in sorted(events, key=lambda e: e.timestamp)
        if start <= e.timestamp <= end and agg.matches(e.metric, e.dimensions)
    )


def _assert_same(got: Summary, want: Summary, where: str) -> None:
    assert got.count == want.count, where
    assert math.isclose(got.sum, want.sum, rel_tol=1e-12), where
    assert (got.min, got.max, got.last_ts, got.last_value) == (
        want.min,
        want.max,
        want.last_ts,
        want.last_value,
    ), where


async def test_one_query_reads_every_kpi_state_of_a_judging_pass(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(29)
    quiet_minute = (_minute(QUIET_END), _minute(QUIET_END) + timedelta(minutes=1))
    events = [
        e
        for e in _events(rng, 3000, [QUIET_END, BUSY_END])
        if not quiet_minute[0] <= e.timestamp < quiet_minute[1]
    ] + _edge_events(rng)
    # The quiet minute's latest event is at the end of the range itself (inclusive).
    assert max(e.timestamp for e in events if e.timestamp < quiet_minute[1]) == QUIET_END
    assert any(_minute(BUSY_END) <= e.timestamp and e.timestamp > BUSY_END for e in events)
    ranges = [
        (START + timedelta(hours=5, minutes=3, seconds=7), QUIET_END),
        (START + timedelta(days=2, seconds=1), BUSY_END),
        (_minute(QUIET_END), QUIET_END),  # one minute so far, from its start
        (_minute(BUSY_END), BUSY_END),
        (BUSY_END, QUIET_END),  # empty
    ]
    pending = PreparedBatch()
    pending.add(events)
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            writer = MeasurementWriter()
            stored = await writer.store(conn, pending, received_at=datetime.now(UTC))
            assert not stored.refused
            await writer.fold(conn, stored.fresh.summary(), START)
        exprs = [parse_expression(text) for text in EXPRESSIONS]
        async with engine.connect() as conn:
            batched = KpiValueReader(conn)
            await batched.prefetch((expr, start, end) for expr in exprs for start, end in ranges)
            # The same, split into queries of at most two (metric, range) reads.
            monkeypatch.setattr(reader, "PREFETCH_READS", 2)
            chunked = KpiValueReader(conn)
            await chunked.prefetch((expr, start, end) for expr in exprs for start, end in ranges)
            single = KpiValueReader(conn)
            for expr in exprs:
                for start, end in ranges:
                    for agg in aggregations(expr):
                        where = f"{agg} over [{start}, {end}]"
                        want = _want(events, agg, start, end)
                        if agg.func not in QUANTILES:
                            # Answered from the prefetch, with no query of its own.
                            assert (agg, start, end) in batched._cache, where
                        _assert_same(await batched.state(agg, start, end), want, where)
                        _assert_same(await chunked.state(agg, start, end), want, where)
                        _assert_same(await single.state(agg, start, end), want, where)
                        if agg.func in QUANTILES:
                            got = (await single.state(agg, start, end)).sketch.to_dict()
                            assert got == want.sketch.to_dict(), where
    finally:
        await engine.dispose()
    # The ranges hold events from both readers' paths, not only empty states.
    assert _want(events, Aggregation("count", "orders"), *ranges[2]).count > 0
    assert _want(events, Aggregation("count", "orders"), *ranges[3]).count > 0
