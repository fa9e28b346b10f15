"""Evaluator throughput from a pre-filled topic, and the bare COPY ceiling.

The topic is filled before the evaluator starts, so the figure is the evaluator's own
pace (poll → decode → COPY + dedupe + rollups → evaluate 100 goals → commit → commit
offsets), not the producer's. Progress is read from the evaluator's own
`northstar_evaluator_events_total{outcome="stored"}` counter.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import orjson

from bench.infra import Infrastructure, RssSampler, insert_kpis_and_goals
from bench.results import Row
from bench.workload import kpis, metric_events
from devstack.broker import create_topics
from northstar.config import KafkaSettings
from northstar.events.codec import MAX_EVENTS_PER_MESSAGE
from northstar.events.model import MetricEvent
from northstar.kafka import Topics, producer, send_events

TARGET = 100_000.0
GOALS = 100
PREFIX = "bench-eval."
STALL_S = 60.0


async def prefill(bootstrap: str, events: list[MetricEvent], prefix: str) -> None:
    topics = Topics.with_prefix(prefix)
    await create_topics(bootstrap, {topics.events: 12, topics.dlq: 1, topics.alerts: 3})
    # ingest's own producer and message format; a long timeout, as the whole topic is
    # sent at once.
    settings = KafkaSettings(kafka_bootstrap=bootstrap, kafka_request_timeout_ms=60_000)
    kafka = producer(settings, client_id="bench-prefill")
    await kafka.start()
    try:
        await send_events(kafka, topics.events, events)
    finally:
        await kafka.stop()


def _records(events: list[MetricEvent]) -> list[tuple[object, ...]]:
    """The rows the evaluator's store COPYs, as it builds them."""
    return [
        (e.timestamp, e.metric, e.value, orjson.dumps(e.dimensions).decode(), e.source, e.event_id)
        for e in events
    ]


async def copy_ceiling(database_url: str, events: list[MetricEvent], chunk: int) -> float:
    """Rows/s of bare asyncpg COPY of the same rows into a plain table (no indexes),
    one transaction per `chunk` rows like the evaluator's batches."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "CREATE TABLE bench_copy (time timestamptz NOT NULL, metric text NOT NULL, "
            "value double precision NOT NULL, dimensions jsonb NOT NULL, source text NOT NULL, "
            "event_id text NOT NULL)"
        )
        started = time.monotonic()
        for start in range(0, len(events), chunk):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "bench_copy", records=_records(events[start : start + chunk])
                )
        elapsed = time.monotonic() - started
    finally:
        await conn.close()
    return len(events) / elapsed


async def _stored(client: httpx.AsyncClient, url: str) -> float:
    text = (await client.get(f"{url}/metrics")).text
    for line in text.splitlines():
        if line.startswith('northstar_evaluator_events_total{outcome="stored"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def run(infra: Infrastructure, *, events: int, max_poll_records: int | None) -> list[Row]:
    """One evaluator (the headline figure, against the COPY ceiling), then two replicas
    in one consumer group on fresh copies of the same data."""
    rows = [await _run(infra, events=events, max_poll_records=max_poll_records, replicas=1)]
    rows.append(await _run(infra, events=events, max_poll_records=max_poll_records, replicas=2))
    return rows


async def _run(
    infra: Infrastructure, *, events: int, max_poll_records: int | None, replicas: int
) -> Row:
    suffix = "" if replicas == 1 else f"_{replicas}"
    prefix = PREFIX if replicas == 1 else f"{PREFIX.rstrip('.')}{replicas}."
    database_url = await infra.database(f"bench_evaluator{suffix}")
    now = datetime.now(UTC)
    conn = await asyncpg.connect(database_url)
    try:
        await insert_kpis_and_goals(
            conn, kpis(), GOALS, start=now - timedelta(days=1), due=now + timedelta(days=30)
        )
    finally:
        await conn.close()

    rng = random.Random(11)
    batch = metric_events(
        rng, events, start=now - timedelta(hours=1), spread=timedelta(hours=1), id_prefix="ev"
    )
    await prefill(infra.broker.bootstrap, batch, prefix)

    env = infra.service_env(database_url, prefix)
    extra = (
        {"evaluator": {"NORTHSTAR_MAX_POLL_RECORDS": str(max_poll_records)}}
        if max_poll_records
        else {}
    )
    samples: list[tuple[float, float]] = []
    with (
        infra.services(env, "evaluator", extra=extra, replicas={"evaluator": replicas}) as services,
        RssSampler({n: p.pid for n, p in services.items() if p.pid is not None}) as rss,
    ):
        async with httpx.AsyncClient(timeout=10) as client:
            progress_at = time.monotonic()
            while True:
                stored = sum([await _stored(client, process.url) for process in services.values()])
                now_s = time.monotonic()
                if samples and stored > samples[-1][1]:
                    progress_at = now_s
                samples.append((now_s, stored))
                if stored >= events:
                    break
                if now_s - progress_at > STALL_S:
                    raise RuntimeError(
                        f"the evaluator stored nothing for {STALL_S:.0f} s "
                        f"({stored:,.0f} of {events:,}); see {services['evaluator'].log_path}"
                    )
                await asyncio.sleep(0.05)
    first = next((s for s in samples if s[1] > 0), None)
    last = samples[-1]
    if first is None or last[1] <= first[1]:
        rate = 0.0
    else:
        rate = (last[1] - first[1]) / (last[0] - first[0])

    note = (
        f"{events:,} events in {events // MAX_EVENTS_PER_MESSAGE:,} messages, {GOALS} goals on "
        f"{len(kpis())} KPIs; stored {last[1]:,.0f}; peak RSS while catching up "
        f"{max(rss.peak.values()):.0f} MB per replica"
    )
    if replicas == 1:
        return Row(
            "evaluator",
            "events/s stored + evaluated",
            rate,
            "events/s",
            "≥ 100,000 events/s",
            rate >= TARGET,
            ceiling=await copy_ceiling(database_url, batch, 100_000),
            note=note,
        )
    return Row(
        "evaluator",
        f"events/s stored + evaluated, {replicas} replicas",
        rate,
        "events/s",
        "≥ 100,000 events/s",
        rate >= TARGET,
        note=f"{note}; one consumer group, the second replica joins while the first runs",
    )
