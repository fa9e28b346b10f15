"""The cardinality caps in the writer, against the real PostgreSQL: replicas writing one
metric at once take turns under the catalogue row lock, so a cap is never overshot, but
(in the evaluator's mode, the admission in its own transaction) only for the admission,
not for their whole batches; and migration 0011 counts the sets already stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.db.engine import create_engine
from northstar.domain.cardinality import CardinalityLimits, Limit
from northstar.events.model import MetricEvent
from northstar.rollups.batch import PreparedBatch
from northstar.rollups.writer import MeasurementWriter, Stored
from tests.support import alembic

NOW = datetime.now(UTC)
WRITER = MeasurementWriter(CardinalityLimits(max_keys=4, max_sets=3))


def _batch(*regions: str, prefix: str, shard: int = 0) -> PreparedBatch:
    pending = PreparedBatch()
    pending.add(
        [
            MetricEvent(f"{prefix}-{i}", "test", "orders", 1.0, NOW, {"region": region})
            for i, region in enumerate(regions)
        ],
        shard=shard,
    )
    return pending


async def _seed(engine: AsyncEngine) -> None:
    """Store and fold `orders` in `eu` and `na`: two of the cap's three sets."""
    async with engine.begin() as conn:
        fresh = (await WRITER.store(conn, _batch("eu", "na", prefix="a"), received_at=NOW)).fresh
        await WRITER.fold(conn, fresh.summary(), NOW)


async def test_two_writers_at_once_never_overshoot_the_set_cap(database_url: str) -> None:
    first_engine = create_engine(database_url, pool_size=1)
    second_engine = create_engine(database_url, pool_size=1)
    try:
        await _seed(first_engine)

        release = asyncio.Event()

        async def first() -> Stored:
            async with first_engine.begin() as conn:
                stored = await WRITER.store(conn, _batch("apac", prefix="b"), received_at=NOW)
                await WRITER.fold(conn, stored.fresh.summary(), NOW)
                await release.wait()  # holds the catalogue row while the second starts
            return stored

        async def second() -> Stored:
            async with second_engine.begin() as conn:
                stored = await WRITER.store(
                    conn, _batch("latam", "eu", prefix="c"), received_at=NOW
                )
                await WRITER.fold(conn, stored.fresh.summary(), NOW)
            return stored

        first_task = asyncio.create_task(first())
        await asyncio.sleep(0.3)
        second_task = asyncio.create_task(second())
        await asyncio.sleep(0.7)
        assert not second_task.done()  # waiting for the first's row lock
        release.set()
        taken, refused = await first_task, await second_task
    finally:
        await first_engine.dispose()
        await second_engine.dispose()

    assert len(taken.fresh) == 1 and not taken.refused
    # The second saw the first's set: `latam` would be a fourth, `eu` is known.
    assert [(r.event_id, r.refusal.limit) for r in refused.refused] == [
        ("c-0", Limit.DIMENSION_SETS)
    ]
    assert len(refused.fresh) == 1
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT dimension_sets, (SELECT sum(event_count) FROM metric_activity) AS events "
            "FROM metrics WHERE name = 'orders'"
        )
        assert (row["dimension_sets"], row["events"]) == (3, 4)
        assert await conn.fetchval("SELECT count(*) FROM metric_dimension_sets") == 3
        assert await conn.fetchval("SELECT count(*) FROM event_keys WHERE event_id = 'c-0'") == 0
    finally:
        await conn.close()


async def test_a_batch_of_known_sets_takes_no_catalogue_lock_and_a_new_set_does(
    database_url: str,
) -> None:
    """Replicas writing sets the store has must not queue on the catalogue row before
    their COPY (issue 10's two-replica cost): only a batch that brings a new set waits."""
    engine = create_engine(database_url, pool_size=2)
    try:
        await _seed(engine)

        holder = await asyncpg.connect(database_url)
        try:
            locked = holder.transaction()
            await locked.start()
            await holder.execute("SELECT 1 FROM metrics WHERE name = 'orders' FOR UPDATE")

            async def store(pending: PreparedBatch) -> Stored:
                async with engine.begin() as conn:
                    return await WRITER.store(conn, pending, received_at=NOW)

            known = await asyncio.wait_for(store(_batch("na", "eu", prefix="b")), 10)
            assert len(known.fresh) == 2 and not known.refused
            new = asyncio.create_task(store(_batch("eu", "apac", prefix="c")))
            await asyncio.sleep(0.5)
            assert not new.done()  # waiting for the catalogue row: `apac` is new
            await locked.rollback()
            added = await asyncio.wait_for(new, 10)
            assert len(added.fresh) == 2 and not added.refused
        finally:
            await holder.close()
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT dimension_sets FROM metrics WHERE name = 'orders'") == 3
        assert await conn.fetchval("SELECT count(*) FROM metric_dimension_sets") == 3
    finally:
        await conn.close()


async def test_new_sets_admitted_apart_hold_the_catalogue_row_only_for_the_admission(
    database_url: str,
) -> None:
    """The evaluator's mode (`admission=engine.begin`): a replica whose batch brought a
    new set and has not committed yet does not hold up another replica bringing a new
    set of the same metric; the cap is still kept (the third new set is refused)."""
    first_engine = create_engine(database_url, pool_size=2)
    second_engine = create_engine(database_url, pool_size=2)
    try:
        await _seed(first_engine)
        async with first_engine.begin() as first:
            taken = await WRITER.store(
                first,
                _batch("apac", prefix="b", shard=1),
                received_at=NOW,
                admission=first_engine.begin,
            )
            await WRITER.fold(first, taken.fresh.summary(), NOW)
            # `first` is still open. Without the separate admission the second would wait
            # for it here (see the test above). The replicas own different partitions, so
            # their activity rows (shards) differ too, as their series' rollup rows do.
            async with second_engine.begin() as second:
                refused = await asyncio.wait_for(
                    WRITER.store(
                        second,
                        _batch("latam", "eu", prefix="c", shard=2),
                        received_at=NOW,
                        admission=second_engine.begin,
                    ),
                    10,
                )
                await WRITER.fold(second, refused.fresh.summary(), NOW)
    finally:
        await first_engine.dispose()
        await second_engine.dispose()
    assert len(taken.fresh) == 1 and not taken.refused
    assert [(r.event_id, r.refusal.limit) for r in refused.refused] == [
        ("c-0", Limit.DIMENSION_SETS)
    ]
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT dimension_sets FROM metrics WHERE name = 'orders'") == 3
        assert await conn.fetchval("SELECT count(*) FROM metric_dimension_sets") == 3
        assert await conn.fetchval("SELECT sum(event_count) FROM metric_activity") == 4
    finally:
        await conn.close()


async def test_a_metric_whose_every_event_is_refused_leaves_no_catalogue_row(
    database_url: str,
) -> None:
    pending = PreparedBatch()
    pending.add(
        [MetricEvent("w", "test", "wide", 1.0, NOW, {k: "v" for k in "abcde"})]  # 5 keys > 4
    )
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            stored = await WRITER.store(conn, pending, received_at=NOW)
    finally:
        await engine.dispose()
    assert not stored.fresh and stored.refused[0].refusal.limit is Limit.DIMENSION_KEYS
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM metrics") == 0
        assert await conn.fetchval("SELECT count(*) FROM measurements") == 0
    finally:
        await conn.close()


async def test_migration_0011_counts_the_sets_already_in_the_rollups(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            stored = await MeasurementWriter().store(
                conn, _batch("eu", "na", "eu", "apac", prefix="m"), received_at=NOW
            )
            await WRITER.fold(conn, stored.fresh.summary(), NOW)
    finally:
        await engine.dispose()
    await alembic(database_url, "downgrade", "0009")
    await alembic(database_url, "upgrade", "head")
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT dimension_sets FROM metrics WHERE name = 'orders'") == 3
        rows = await conn.fetch("SELECT dimensions FROM metric_dimension_sets ORDER BY 1")
        assert sorted(r["dimensions"] for r in rows) == sorted(
            ['{"region": "eu"}', '{"region": "na"}', '{"region": "apac"}']
        )
    finally:
        await conn.close()
