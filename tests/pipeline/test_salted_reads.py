"""A hot series spread over salted sub-series reads the same values as unsalted
(`northstar.events.routing`): the same events are stored once as plain series and once
dealt over salts 1–4 (and 0, the events from before the series turned hot), each slice
from its own shard in its own transaction as replicas would, and every reader gives the
same answers: a KPI's value (the evaluator's goal evaluation), breakdowns and drivers,
chart steps and period-to-date points, over ranges read from week, day, hour and minute
buckets and raw edge events."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.db.engine import create_engine
from northstar.domain.aggregation import Summary
from northstar.domain.expressions import parse_expression
from northstar.events.model import MetricEvent
from northstar.rollups.batch import PreparedBatch
from northstar.rollups.reader import KpiValueReader, grouped_states, split_states
from northstar.rollups.series import daily_period_to_date, step_series
from northstar.rollups.writer import MeasurementWriter
from tests.pipeline.test_grouped_reads import DAYS, DIMENSIONS, EXPRESSION, START, _events

EXPRESSIONS = [
    EXPRESSION,
    "sum(revenue)",
    'avg(orders{region="eu"})',
    "min(revenue) + max(orders)",
    "p50(revenue)",
    "last(revenue)",
    "count(orders)",
]


async def _store(engine: AsyncEngine, events: Sequence[MetricEvent], *, salted: bool) -> None:
    slices: dict[int, list[MetricEvent]] = {}
    for i, event in enumerate(events):
        salt = (0 if i % 5 == 0 else 1 + i % 4) if salted else 0
        slices.setdefault(salt, []).append(event)
    writer = MeasurementWriter()
    for salt, part in sorted(slices.items()):
        pending = PreparedBatch()
        pending.add(part, salt=salt, shard=salt)
        async with engine.begin() as conn:
            stored = await writer.store(conn, pending, received_at=START)
            await writer.fold(conn, stored.fresh.summary(), START)


async def _read_everything(engine: AsyncEngine, ranges: list[tuple[datetime, datetime]]) -> Any:
    out: dict[str, Any] = {}
    async with engine.connect() as conn:
        for text in EXPRESSIONS:
            expr = parse_expression(text)
            for start, end in ranges:
                reader = KpiValueReader(conn)  # no cache shared between the ranges
                out[f"value {text} {start}"] = await reader.value(expr, start, end)
            out[f"hourly {text}"] = await step_series(
                conn, expr, START, START + timedelta(days=2), timedelta(hours=1)
            )
            out[f"daily {text}"] = await step_series(
                conn, expr, START, START + timedelta(days=DAYS), timedelta(days=1)
            )
            out[f"weekly {text}"] = await step_series(
                conn, expr, START, START + timedelta(days=DAYS), timedelta(days=7)
            )
            out[f"to date {text}"] = await daily_period_to_date(
                conn, expr, START, START + timedelta(days=DAYS)
            )
        expr = parse_expression(EXPRESSION)
        out["split"] = await split_states(conn, expr, DIMENSIONS, ranges)
        out["grouped"] = await grouped_states(conn, expr, ("region", "channel"), *ranges[0])
    return out


def _assert_same(salted: Any, plain: Any, where: str) -> None:
    """Equal, but sums may differ in the last bits (added in another order)."""
    if isinstance(plain, Summary):
        assert isinstance(salted, Summary), where
        assert salted.count == plain.count, where
        assert math.isclose(salted.sum, plain.sum, rel_tol=1e-12), where
        assert (salted.min, salted.max, salted.last_ts, salted.last_value) == (
            plain.min,
            plain.max,
            plain.last_ts,
            plain.last_value,
        ), where
        assert salted.sketch.to_dict() == plain.sketch.to_dict(), where
    elif isinstance(plain, float):
        assert math.isclose(salted, plain, rel_tol=1e-12), (where, salted, plain)
    elif isinstance(plain, dict):
        assert salted.keys() == plain.keys(), where
        for key in plain:
            _assert_same(salted[key], plain[key], f"{where}/{key}")
    elif isinstance(plain, list | tuple):
        assert len(salted) == len(plain), where
        for i, (s, p) in enumerate(zip(salted, plain, strict=True)):
            _assert_same(s, p, f"{where}[{i}]")
    else:
        assert salted == plain, (where, salted, plain)


async def test_a_salted_series_reads_the_same_values_as_unsalted(database_url: str) -> None:
    cut = START + timedelta(days=1, hours=3, minutes=17, seconds=5, microseconds=300)
    ranges = [
        (cut, START + timedelta(days=16, hours=2, minutes=1, seconds=30)),
        (START + timedelta(minutes=7, seconds=41), cut),
    ]
    events = _events(random.Random(28), 3000, [moment for r in ranges for moment in r])
    engine = create_engine(database_url, pool_size=2)
    try:
        await _store(engine, events, salted=False)
        plain = await _read_everything(engine, ranges)
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "TRUNCATE measurements, event_keys, rollup_1m, rollup_1h, rollup_1d, "
                "rollup_1w, metric_activity, metric_dimension_sets, metrics"
            )
        await _store(engine, events, salted=True)
        async with engine.connect() as conn:
            # The salts are really there: one series, several rows per bucket.
            salts = await conn.exec_driver_sql("SELECT count(DISTINCT salt) FROM rollup_1d")
            assert salts.scalar() == 5
            shards = await conn.exec_driver_sql("SELECT count(*) FROM metric_activity")
            assert shards.scalar() == 2 * 5  # two metrics, five shards
        salted = await _read_everything(engine, ranges)
    finally:
        await engine.dispose()
    assert plain["value " + EXPRESSION + f" {ranges[0][0]}"][1] > 0
    _assert_same(salted, plain, "reads")
