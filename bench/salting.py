"""What salting a hot series costs its reads (`make bench`, or `python -m bench.salting`).

The same events of one hot series (one metric, one dimension set, a week of
timestamps) are stored twice on a real PostgreSQL, in two databases: once as one
series, once dealt over salts 1–4 with a fifth of them unsalted (the events from before
it turned hot), each slice in its own batches as the replicas owning its partitions
would store them (`northstar.events.routing`). Then the readers the goals and charts use
read both: a KPI value over the week (week, day, hour and minute buckets and raw edges)
and an hourly chart over the week. Same values either way
(`tests/pipeline/test_salted_reads.py`); this measures the time, median of repeated reads.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.infra import Infrastructure
from bench.results import Row
from northstar.db.engine import create_engine
from northstar.domain.expressions import parse_expression
from northstar.events.model import MetricEvent
from northstar.rollups.batch import PreparedBatch
from northstar.rollups.reader import KpiValueReader
from northstar.rollups.series import step_series
from northstar.rollups.writer import MeasurementWriter

START = datetime(2026, 6, 1, tzinfo=UTC)
SALTS = 4


def _events(count: int) -> list[MetricEvent]:
    step = timedelta(days=7) / count
    return [
        MetricEvent(uuid.uuid4().hex, "bench", "hot", float(i % 97), START + i * step, {"k": "v"})
        for i in range(count)
    ]


async def _store(database_url: str, events: list[MetricEvent], *, salted: bool) -> None:
    engine = create_engine(database_url, pool_size=1)
    writer = MeasurementWriter()
    try:
        for begin in range(0, len(events), 20_000):
            slices: dict[int, list[MetricEvent]] = {}
            for i, event in enumerate(events[begin : begin + 20_000]):
                salt = (0 if i % 5 == 0 else 1 + i % SALTS) if salted else 0
                slices.setdefault(salt, []).append(event)
            for salt, part in slices.items():
                pending = PreparedBatch()
                pending.add(part, salt=salt, shard=salt)
                async with engine.begin() as conn:
                    stored = await writer.store(conn, pending, received_at=START)
                    await writer.fold(conn, stored.fresh.summary(), START)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()


async def _reads(database_url: str, repeats: int) -> tuple[float, float]:
    """Median ms of a week's KPI value and of a week's hourly chart."""
    expr = parse_expression("sum(hot) + p90(hot)")
    start, end = START + timedelta(minutes=7, seconds=3), START + timedelta(days=7, hours=-2)
    engine = create_engine(database_url, pool_size=1)
    value, chart = [], []
    try:
        async with engine.connect() as conn:
            for _ in range(repeats):
                started = time.perf_counter()
                await KpiValueReader(conn).value(expr, start, end)
                value.append(time.perf_counter() - started)
                started = time.perf_counter()
                await step_series(conn, expr, START, START + timedelta(days=7), timedelta(hours=1))
                chart.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return statistics.median(value) * 1000, statistics.median(chart) * 1000


async def run(infra: Infrastructure, *, events: int = 200_000, repeats: int = 30) -> list[Row]:
    """The template is migrated by the caller."""
    data = _events(events)
    figures = {}
    for salted in (False, True):
        url = await infra.database(f"bench_salting_{'salted' if salted else 'plain'}")
        await _store(url, data, salted=salted)
        figures[salted] = await _reads(url, repeats)
    rows = []
    for index, what in enumerate(("KPI value over a week", "hourly chart over a week")):
        plain, spread = figures[False][index], figures[True][index]
        rows.append(
            Row(
                "salting",
                f"{what}, hot series over {SALTS} salts",
                spread,
                "ms",
                "reported",
                True,
                note=f"the same series unsalted {plain:.1f} ms (salted/unsalted "
                f"{spread / plain:.2f}); {events:,} events over 7 days, median of {repeats}",
            )
        )
    return rows


async def _main() -> None:
    infra = Infrastructure(Path(tempfile.mkdtemp(prefix="northstar-bench-salting-")))
    infra.start()
    try:
        await infra.migrate_template()
        for row in await run(infra):
            print(f"{row.measure}: {row.value:.1f} ms; {row.note}")
    finally:
        infra.stop()


if __name__ == "__main__":
    asyncio.run(_main())
