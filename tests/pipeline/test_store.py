"""The measurement store against a real PostgreSQL: dedupe on both paths (COPY into the
ledger, and the fallback when the ledger refuses it), and rollups that equal what SQL
computes from the stored raw events."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from northstar.db.engine import create_engine
from northstar.domain.aggregation import sketch_key
from northstar.events.model import MetricEvent
from northstar.rollups.batch import PreparedBatch
from northstar.rollups.levels import LEVELS
from northstar.rollups.writer import MeasurementWriter

# A Wednesday 20 minutes before midnight: the events' two hours cross a day and an
# epoch week (which begins on a Thursday).
START = datetime(2026, 6, 3, 23, 40, tzinfo=UTC)

# The rollups as SQL computes them from `measurements`, at each level ($1: its width;
# buckets are counted from the epoch).
_FROM_RAW = """
WITH keyed AS (
    SELECT metric, date_bin($1, time, TIMESTAMPTZ 'epoch') AS bucket, dimensions,
           northstar_sketch_key(value) AS key, count(*) AS n
    FROM measurements GROUP BY 1, 2, 3, 4
), sketches AS (
    SELECT metric, bucket, dimensions, jsonb_object_agg(key, n) AS sketch
    FROM keyed GROUP BY 1, 2, 3
)
SELECT m.metric, date_bin($1, m.time, TIMESTAMPTZ 'epoch') AS bucket,
       m.dimensions::text AS dimensions, count(*) AS count,
       round(sum(m.value)::numeric, 6) AS sum, min(m.value) AS min,
       max(m.value) AS max, max(m.time) AS last_time,
       (array_agg(m.value ORDER BY m.time DESC, m.value DESC))[1] AS last_value,
       s.sketch::text AS sketch
FROM measurements m
JOIN sketches s ON s.metric = m.metric AND s.bucket = date_bin($1, m.time, TIMESTAMPTZ 'epoch')
     AND s.dimensions = m.dimensions
GROUP BY 1, 2, 3, s.sketch ORDER BY 1, 2, 3
"""
_ROLLUP = """
SELECT metric, bucket, dimensions::text AS dimensions, count, round(sum::numeric, 6) AS sum,
       min, max, last_time, last_value, sketch::text AS sketch
FROM {table} ORDER BY 1, 2, 3
"""


def _events(rng: random.Random, count: int) -> list[MetricEvent]:
    return [
        MetricEvent(
            uuid.uuid4().hex,
            rng.choice(["crm", "shop"]),
            rng.choice(["orders", "revenue"]),
            # Distinct values, so "the value with the latest time" has one answer even
            # where two events share a timestamp.
            round(rng.lognormvariate(2, 2), 6) + i * 1e-7,
            START + timedelta(seconds=rng.randrange(0, 2 * 3600)),
            {"region": rng.choice(["eu", "na"]), "channel": rng.choice(["web", "app"])},
        )
        for i in range(count)
    ]


async def _store(database_url: str, events: list[MetricEvent]) -> int:
    engine = create_engine(database_url, pool_size=1)
    repository = MeasurementWriter()
    pending = PreparedBatch()
    pending.add(events)
    try:
        async with engine.begin() as conn:
            fresh = (await repository.store(conn, pending, received_at=datetime.now(UTC))).fresh
            await repository.fold(conn, fresh.summary(), datetime.now(UTC))
    finally:
        await engine.dispose()
    return len(fresh)


async def test_redelivered_and_overlapping_batches_store_each_event_once(
    database_url: str,
) -> None:
    rng = random.Random(3)
    first, second = _events(rng, 400), _events(rng, 300)
    assert await _store(database_url, first) == 400
    # All of `first` again (a redelivery) plus new events: the ledger refuses the COPY,
    # and the fallback stores exactly the new ones.
    assert await _store(database_url, first[::3] + second + first[1::3]) == 300
    assert await _store(database_url, first) == 0

    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM measurements") == 700
        assert await conn.fetchval("SELECT count(*) FROM event_keys") == 700
        assert await conn.fetchval("SELECT sum(event_count) FROM metric_activity") == 700
        for level in LEVELS:
            table = level.table
            rollups = [dict(r) for r in await conn.fetch(_ROLLUP.format(table=table))]
            from_raw = [dict(r) for r in await conn.fetch(_FROM_RAW, level.width)]
            assert len(rollups) == len(from_raw) > 0
            assert len({r["bucket"] for r in rollups}) >= 2, table  # a boundary crossed
            for got, want in zip(rollups, from_raw, strict=True):
                # A level without sketches (weeks) keeps `{}`; percentiles read finer ones.
                sketch = orjson.loads(want.pop("sketch"))
                if not level.sketches:
                    sketch = {}
                assert orjson.loads(got.pop("sketch")) == sketch, table
                assert got == want, table
    finally:
        await conn.close()


async def test_a_failed_batch_leaves_nothing_behind(database_url: str) -> None:
    """The savepoint around the ledger COPY belongs to the batch's transaction: when the
    batch fails later, its ledger keys are rolled back with everything else."""
    engine = create_engine(database_url, pool_size=1)
    events = _events(random.Random(4), 50)
    pending = PreparedBatch()
    pending.add(events)
    try:
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await MeasurementWriter().store(conn, pending, received_at=datetime.now(UTC))
                raise RuntimeError("the batch fails after storing")
    finally:
        await engine.dispose()
    assert await _store(database_url, events) == 50


async def test_python_and_sql_put_every_value_in_the_same_sketch_bucket(
    database_url: str,
) -> None:
    gamma = 1.01 / 0.99
    rng = random.Random(9)
    values = [0.0, 1.0, -1.0, 1e-300, 1e300, -5e-324]
    for k in range(-400, 400, 7):  # at and next to bucket edges, where rounding bites
        edge = gamma**k
        values += [edge, math.nextafter(edge, 0), math.nextafter(edge, math.inf), -edge]
    values += [rng.lognormvariate(0, 6) for _ in range(3000)]
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT v, northstar_sketch_key(v) AS key FROM unnest($1::float8[]) AS v", values
        )
    finally:
        await conn.close()
    mismatches = [
        (r["v"], r["key"], sketch_key(r["v"])) for r in rows if r["key"] != sketch_key(r["v"])
    ]
    assert mismatches == []
