"""Ingest throughput over HTTP, and the bare producer ceiling on the same broker.

The service under test is `python -m services.ingest` with its default settings (the
worker count is the service's own default unless `NORTHSTAR_WORKERS` is given to the
bench); the load comes from `bench.loadgen` in another process.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta

import orjson

from bench import csv_import
from bench.infra import Infrastructure, insert_api_key, python
from bench.results import Row
from bench.workload import metric_events
from devstack.broker import create_topics
from northstar.config import KafkaSettings
from northstar.kafka import Topics, producer, send_events

TARGET = 100_000.0
BATCH = 1000


async def producer_ceiling(bootstrap: str, seconds: float) -> float:
    """Events/s a bare aiokafka producer moves to the broker: ingest's own messages
    (codec, key, headers, lz4, acks=all), `BATCH` events per send round, several rounds
    in flight, as ingest has with concurrent requests."""
    topics = Topics.with_prefix("bench-ceiling.")
    await create_topics(bootstrap, {topics.events: 12})
    rng = random.Random(7)
    now = datetime.now(UTC)
    events = metric_events(rng, BATCH, start=now, spread=timedelta(seconds=30), id_prefix="c")
    kafka = producer(KafkaSettings(kafka_bootstrap=bootstrap), client_id="bench-ceiling")
    await kafka.start()
    sent = 0
    try:

        async def one_round() -> None:
            nonlocal sent
            await send_events(kafka, topics.events, events)
            sent += len(events)

        async def lane(until: float) -> None:
            while time.monotonic() < until:
                await one_round()

        await asyncio.gather(*(lane(time.monotonic() + 1.0) for _ in range(8)))  # warm-up
        sent = 0
        started = time.monotonic()
        await asyncio.gather(*(lane(started + seconds) for _ in range(8)))
        elapsed = time.monotonic() - started
    finally:
        await kafka.stop()
    return sent / elapsed


async def run(
    infra: Infrastructure,
    *,
    seconds: float,
    connections: int,
    workers: int | None,
    csv_files: int = 4,  # files of csv_import.ROWS_PER_FILE rows; a failed import raises
) -> list[Row]:
    database_url = await infra.database("bench_ingest")
    key = await insert_api_key(database_url, "bench", ["events:write"])
    env = infra.service_env(database_url, "bench-ingest.")
    extra = {"ingest": {"NORTHSTAR_WORKERS": str(workers)}} if workers else {}
    with infra.services(env, "ingest", extra=extra) as services:
        ingest = services["ingest"]
        proc = await asyncio.create_subprocess_exec(
            python(),
            "-m",
            "bench.loadgen",
            "--url",
            ingest.url,
            "--key",
            key,
            "--connections",
            str(connections),
            "--batch",
            str(BATCH),
            "--duration",
            str(seconds),
            "--warmup",
            "3",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), seconds + 120)
        if proc.returncode != 0:
            raise RuntimeError(f"the load generator failed with exit code {proc.returncode}")
        # A tree from before `text/csv` (a `--baseline`) measures JSON only.
        csv = csv_files > 0 and infra.tree.has("services/ingest/spreadsheet.py")
        if csv:
            csv_rate, json_rate = await csv_import.rates(ingest.url, key, files=csv_files)
    result = orjson.loads(out)
    ceiling = await producer_ceiling(infra.broker.bootstrap, seconds)
    rate = float(result["events_per_second"])
    failed = int(result["failed"])
    note = (
        f"{result['requests']} requests of {BATCH} events over {connections} connections, "
        f"request p50 {result['p50_ms']:.0f} ms / p95 {result['p95_ms']:.0f} ms"
        + (f", {failed} failed {result['statuses']}" if failed else "")
    )
    rows = [
        Row(
            "ingest",
            "events/s accepted (HTTP, acks=all)",
            rate,
            "events/s",
            "≥ 100,000 events/s",
            rate >= TARGET,
            ceiling=ceiling,
            note=note,
        )
    ]
    if not csv:
        return rows
    return [
        *rows,
        Row(
            "ingest",
            "CSV import rows/s (text/csv, one client)",
            csv_rate,
            "rows/s",
            f"a {csv_import.ROWS_PER_FILE:,}-row file per request",
            True,
            note=f"{csv_files} files of {csv_import.ROWS_PER_FILE:,} rows; the same rows as JSON "
            f"batches of {csv_import.JSON_BATCH:,} by the same client: {json_rate:,.0f} events/s "
            f"(CSV/JSON {csv_rate / json_rate:.2f})",
        ),
    ]
