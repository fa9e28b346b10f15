"""The week level (`rollup_1w`, migration 0012) against the real PostgreSQL: the
migration's backfill from the day rows gives exactly the week rows the evaluator folds
(without quantile sketches, which the level does not keep), so a database upgraded with
history answers as one that had the level from the start."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from northstar.db.engine import create_engine
from northstar.events.model import MetricEvent
from northstar.rollups.batch import PreparedBatch
from northstar.rollups.writer import MeasurementWriter
from tests.support import alembic

START = datetime(2026, 5, 26, 13, 5, tzinfo=UTC)  # a Tuesday: 30 days touch 6 epoch weeks
_WEEKS = "SELECT * FROM rollup_1w ORDER BY metric, bucket, dimensions::text"


def _events(rng: random.Random, count: int) -> list[MetricEvent]:
    return [
        MetricEvent(
            uuid.uuid4().hex,
            "shop",
            rng.choice(["orders", "revenue"]),
            round(rng.lognormvariate(3, 1.5), 6) + i * 1e-7,  # distinct: one latest value
            START + timedelta(seconds=rng.randrange(0, 30 * 86_400)),
            {"region": rng.choice(["eu", "na", "apac"])},
        )
        for i in range(count)
    ]


def _rows(records: list[asyncpg.Record]) -> list[dict[str, object]]:
    rows = []
    for record in records:
        row = dict(record)
        row["sketch"] = orjson.loads(row["sketch"])
        rows.append(row)
    return rows


async def test_migration_0012_backfills_the_week_rows_the_evaluator_folds(
    database_url: str,
) -> None:
    rng = random.Random(12)
    engine = create_engine(database_url, pool_size=1)
    try:
        # Several batches, so the week rows are folded into as well as inserted.
        for _ in range(3):
            pending = PreparedBatch()
            pending.add(_events(rng, 700))
            async with engine.begin() as conn:
                writer = MeasurementWriter()
                stored = await writer.store(conn, pending, received_at=datetime.now(UTC))
                await writer.fold(conn, stored.fresh.summary(), datetime.now(UTC))
    finally:
        await engine.dispose()

    conn = await asyncpg.connect(database_url)
    try:
        folded = _rows(await conn.fetch(_WEEKS))
        weeks = {row["bucket"] for row in folded}
        assert len(weeks) == 6
        # Every week bucket starts on a Thursday at midnight UTC (the epoch's weekday).
        assert all(w.weekday() == 3 and w == w.replace(hour=0, minute=0) for w in weeks)
        assert sum(row["count"] for row in folded) == 2100  # type: ignore[misc]
        assert all(row["sketch"] == {} for row in folded)
    finally:
        await conn.close()

    await alembic(database_url, "downgrade", "0011")
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('rollup_1w')") is None
    finally:
        await conn.close()
    await alembic(database_url, "upgrade", "head")

    conn = await asyncpg.connect(database_url)
    try:
        backfilled = _rows(await conn.fetch(_WEEKS))
    finally:
        await conn.close()
    assert len(backfilled) == len(folded)
    for got, want in zip(backfilled, folded, strict=True):
        # Sums are added in another order: equal to the last few bits.
        assert math.isclose(got.pop("sum"), want.pop("sum"), rel_tol=1e-12)  # type: ignore[arg-type]
        assert got == want
