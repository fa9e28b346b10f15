"""Two collector replicas scheduling against one database never run a source twice in a
slot: due slots and queued runs are claimed with FOR UPDATE SKIP LOCKED, and a slot is
one run (unique (source_id, slot)). The replicas here only claim; nothing is fetched."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from northstar.crypto import SecretBox
from northstar.db.engine import create_engine
from northstar.events.model import MetricEvent
from services.collector.scheduler import Scheduler
from services.collector.settings import CollectorSettings
from tests.support import fetch, fetchval

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _never(events: Sequence[MetricEvent]) -> None:
    raise AssertionError("nothing is published in this test")


async def test_two_replicas_never_claim_one_slot_twice(database_url: str) -> None:
    now = START
    engine = create_engine(database_url, pool_size=10)
    box = SecretBox(["a test key of sixteen+ chars"])
    try:
        async with engine.begin() as conn:
            for n in range(3):
                await conn.exec_driver_sql(
                    "INSERT INTO sources (id, name, kind, connection, connection_host, query, "
                    "metric, schedule, timeout_seconds, max_rows, lookback, settle, "
                    "next_run_at) VALUES ($1, $2, 'sql', $3, 'db:5432', 'SELECT 1', 'm', "
                    """'{"every": "PT1M"}', 5, 100, interval '1 hour', interval '0', $4)""",
                    (uuid.uuid4(), f"s{n}", box.encrypt('{"url": "postgresql://x/y"}'), START),
                )

        def replica(name: str) -> Scheduler:
            settings = CollectorSettings(
                database_url=database_url, kafka_bootstrap="127.0.0.1:9", collector_id=name
            )
            return Scheduler(settings, engine, publish=_never, box=box, clock=lambda: now)

        replicas = [replica("a"), replica("b")]
        claimed: list[uuid.UUID] = []
        for minute in range(5):
            now = START + timedelta(minutes=minute, seconds=1)
            # Each replica polls several times within the slot, all at once.
            rounds = [r.queue_due(now) for r in replicas for _ in range(3)]
            await asyncio.gather(*rounds)
            runs = await asyncio.gather(*(r.claim(now, 10) for r in replicas for _ in range(3)))
            claimed += [run.id for batch in runs for run in batch]

        rows = await fetch(
            database_url,
            "SELECT source_id, slot, count(*) AS n, min(claimed_by) AS by FROM source_runs "
            "GROUP BY source_id, slot",
        )
        assert len(rows) == 3 * 5  # every source, every slot
        assert {row["n"] for row in rows} == {1}  # one run each
        assert len(claimed) == len(set(claimed)) == 15  # each claimed once, by one replica
        assert await fetchval(database_url, "SELECT count(DISTINCT claimed_by) FROM source_runs")
    finally:
        await engine.dispose()


async def test_a_run_lost_with_its_collector_fails_and_counts_as_a_failure(
    database_url: str,
) -> None:
    engine = create_engine(database_url, pool_size=4)
    box = SecretBox(["a test key of sixteen+ chars"])
    source_id, run_id = uuid.uuid4(), uuid.uuid4()
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO sources (id, name, kind, connection, connection_host, query, "
                "metric, schedule, timeout_seconds, max_rows, lookback, settle, "
                "next_run_at) VALUES ($1, 'lost', 'sql', $2, 'db:5432', 'SELECT 1', 'm', "
                """'{"every": "PT1H"}', 5, 100, interval '1 hour', interval '0', $3)""",
                (source_id, box.encrypt('{"url": "postgresql://x/y"}'), START + timedelta(hours=1)),
            )
            await conn.exec_driver_sql(
                "INSERT INTO source_runs (id, source_id, trigger, status, started_at, "
                "lease_until, claimed_by) VALUES ($1, $2, 'manual', 'running', $3, $4, 'gone')",
                (run_id, source_id, START, START + timedelta(seconds=35)),
            )
        settings = CollectorSettings(
            database_url=database_url, kafka_bootstrap="127.0.0.1:9", collector_id="a"
        )
        now = START + timedelta(seconds=30)
        scheduler = Scheduler(settings, engine, publish=_never, box=box, clock=lambda: now)
        assert await scheduler.expire_lost(now) == 0  # its lease still runs
        now = START + timedelta(seconds=36)
        assert await scheduler.expire_lost(now) == 1
        run = (await fetch(database_url, "SELECT status, error FROM source_runs"))[0]
        assert run["status"] == "failed" and "stopped before it finished" in run["error"]
        assert await fetchval(database_url, "SELECT consecutive_failures FROM sources") == 1
    finally:
        await engine.dispose()
