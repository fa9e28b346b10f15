"""Pulled against pushed: a SQL source returning `ROWS` rows in one run, from query to
stored, against the same rows pushed as JSON through ingest, in the same run.

Both go through the same stack (ingest or the collector → Kafka → the evaluator →
PostgreSQL), so their ratio says what pulling costs per row whatever the machine's
load. Each is timed from the first request (run now, or the first POST) until the last
of its rows is in `measurements`.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import orjson

from bench.infra import Infrastructure, insert_api_key
from bench.results import Row

ROWS = 100_000
JSON_BATCH = 10_000
METRIC = "bench_pulled"


async def _shop(infra: Infrastructure, now: datetime) -> str:
    """A database of a shop with `ROWS` orders in the last hour."""
    url = await infra.database_plain("bench_shop")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE TABLE orders (id int PRIMARY KEY, at timestamptz NOT NULL, "
            "total double precision NOT NULL, region text NOT NULL)"
        )
        rng = random.Random(5)
        await conn.copy_records_to_table(
            "orders",
            records=[
                (
                    i,
                    now - timedelta(seconds=rng.random() * 3000),
                    round(rng.lognormvariate(3, 1), 2),
                    rng.choice(("eu", "us", "apac")),
                )
                for i in range(ROWS)
            ],
        )
    finally:
        await conn.close()
    return url


async def _stored(database_url: str, source: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM measurements WHERE source = $1", source)
        )
    finally:
        await conn.close()


async def _wait_stored(database_url: str, source: str, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while await _stored(database_url, source) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{source}: not all {count} rows stored within {within:.0f} s")
        await asyncio.sleep(0.2)


async def run(infra: Infrastructure) -> list[Row]:
    now = datetime.now(UTC)
    database_url = await infra.database("bench_sources")
    shop_url = await _shop(infra, now)
    key = await insert_api_key(database_url, "bench-push", ["events:write"])
    env = {
        **infra.service_env(database_url, "bench-sources."),
        "NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "NORTHSTAR_SOURCE_POLL_SECONDS": "0.2",
    }
    admin = {"Authorization": f"Bearer {infra.admin_key}"}
    with infra.services(env, "api", "ingest", "evaluator", "collector") as services:
        async with httpx.AsyncClient(timeout=300) as client:
            # Pulled: one run of a source returning every row.
            response = await client.post(
                f"{services['api'].url}/v1/sources",
                headers=admin,
                json={
                    "name": "bench",
                    "kind": "sql",
                    "connection": {"url": shop_url},
                    "query": "SELECT at AS time, total AS value, region FROM orders "
                    "WHERE at >= :start AND at < :end",
                    "metric": METRIC,
                    "schedule": {"every": "P1D"},
                    "timeout_seconds": 300,
                    "max_rows": ROWS,
                    "cursor": {"lookback": "PT2H"},
                },
            )
            response.raise_for_status()
            source_id = response.json()["id"]
            started = time.perf_counter()
            response = await client.post(
                f"{services['api'].url}/v1/sources/{source_id}/runs", headers=admin
            )
            response.raise_for_status()
            await _wait_stored(database_url, "pull:bench", ROWS, within=600)
            pulled_seconds = time.perf_counter() - started

            # Pushed: the same rows as JSON events through ingest.
            conn = await asyncpg.connect(shop_url)
            try:
                rows = await conn.fetch("SELECT id, at, total, region FROM orders ORDER BY id")
            finally:
                await conn.close()
            events = [
                {
                    "event_id": f"push-{r['id']}-{uuid.uuid4().hex[:6]}",
                    "metric": METRIC,
                    "value": r["total"],
                    "timestamp": r["at"].isoformat(),
                    "dimensions": {"region": r["region"]},
                }
                for r in rows
            ]
            bodies = [
                orjson.dumps({"events": events[i : i + JSON_BATCH]})
                for i in range(0, len(events), JSON_BATCH)
            ]
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            started = time.perf_counter()
            for body in bodies:
                answer = await client.post(
                    f"{services['ingest'].url}/v1/events", content=body, headers=headers
                )
                if answer.status_code != 202:
                    raise RuntimeError(f"push failed: {answer.status_code} {answer.text[:300]}")
            await _wait_stored(database_url, "bench-push", ROWS, within=600)
            pushed_seconds = time.perf_counter() - started
    pulled, pushed = ROWS / pulled_seconds, ROWS / pushed_seconds
    return [
        Row(
            "sources",
            f"pulled rows/s, query to stored ({ROWS:,}-row SQL run)",
            pulled,
            "rows/s",
            "≥ 50 % of pushing the same rows",
            pulled >= 0.5 * pushed,
            ceiling=pushed,
            note=f"the same {ROWS:,} rows pushed as JSON batches of {JSON_BATCH:,} to ingest, "
            f"timed to stored the same way: {pushed:,.0f} events/s (pulled/pushed "
            f"{pulled / pushed:.2f})",
        )
    ]
