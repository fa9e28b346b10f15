"""API read latencies: the goal tree with 1,000 goals, and a goal's status and KPI
value with 10 million stored events.

The 10 million measurements are generated in PostgreSQL (`INSERT … SELECT
generate_series`, two connections in parallel) over the last 30 days; the rollups are
then folded from them by the evaluator's own summariser and fold SQL, one day per
transaction, so raw events and rollups agree by construction. Every goal is evaluated
once (`judge`) so the tree and the status carry real values.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from sqlalchemy import text

from bench.infra import Infrastructure, KpiSpec, insert_api_key, insert_kpis_and_goals
from bench.results import Row
from northstar.db.engine import create_engine, driver
from northstar.domain.expressions import Expr, parse_expression
from northstar.evaluation.judge import GoalJudge
from northstar.rollups.batch import BatchSummariser
from northstar.rollups.reader import KpiValueReader
from northstar.rollups.writer import MeasurementWriter

METRIC = "bench_api_orders"
DAYS = 30
TREE_P95_MS = 50.0
STATUS_P95_MS = 20.0
KPIS = [
    KpiSpec("a_sum", f"sum({METRIC})", (METRIC,)),
    KpiSpec("a_eu_avg", f'avg({METRIC}{{region="eu"}})', (METRIC,)),
    KpiSpec("a_p95", f"p95({METRIC})", (METRIC,)),
    KpiSpec("a_margin", f'100 * sum({METRIC}{{channel="web"}}) / sum({METRIC})', (METRIC,)),
]

# Values 1..50 (so quantile sketches stay realistic in size), 16 dimension sets.
_GENERATE = """
INSERT INTO measurements (time, metric, value, dimensions, source, event_id)
SELECT $1::timestamptz + (i * $2::double precision) * interval '1 microsecond',
       $3, 1 + (i * 7919) % 50,
       jsonb_build_object('region', (ARRAY['eu','na','apac','latam'])[1 + i % 4],
                          'channel', (ARRAY['web','mobile','partner','retail'])[1 + (i / 4) % 4]),
       'bench', 'api-' || i
FROM generate_series($4::bigint, $5::bigint - 1) AS i
"""


async def _generate(database_url: str, events: int, start: datetime) -> None:
    step_us = DAYS * 86_400 * 1_000_000 / events
    halves = [(0, events // 2), (events // 2, events)]

    async def part(low: int, high: int) -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(_GENERATE, start, step_us, METRIC, low, high, timeout=None)
        finally:
            await conn.close()

    await asyncio.gather(*(part(low, high) for low, high in halves))


_DAY_OF_EVENTS = """
SELECT time, metric, value, dimensions::text AS dimensions FROM measurements
WHERE time >= $1 AND time < $2
"""


async def _fold(database_url: str, start: datetime) -> None:
    """Fold the measurements into the rollups the way the evaluator does (its
    `BatchSummariser` and its fold SQL), one UTC day per transaction, two days at a time
    (days do not share a rollup row at any level)."""
    engine = create_engine(database_url, pool_size=2)
    repository = MeasurementWriter()
    first_day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    days = list(range(DAYS + 1))

    async def worker(mine: list[int]) -> None:
        for day in mine:
            low = first_day + timedelta(days=day)
            async with engine.begin() as conn:
                raw = await driver(conn)
                rows = await raw.fetch(_DAY_OF_EVENTS, low, low + timedelta(days=1))
                summariser = BatchSummariser()
                summariser.add(
                    (r["time"], r["metric"], r["value"], r["dimensions"], "", "") for r in rows
                )
                await repository.fold_rollups(conn, summariser.finish())

    try:
        await asyncio.gather(worker(days[0::2]), worker(days[1::2]))
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO metrics (name, dimensions) SELECT DISTINCT metric, "
                    "ARRAY['channel', 'region'] FROM measurements"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO metric_activity (metric, shard, first_seen, last_seen, "
                    "last_received, event_count) SELECT metric, 0, min(time), max(time), now(), "
                    "count(*) FROM measurements GROUP BY metric"
                )
            )
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


async def _timed(call: Callable[[], Awaitable[object]], count: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        await call()
    out = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(infra: Infrastructure, *, events: int) -> list[Row]:
    database_url = await infra.database("bench_api")
    now = datetime.now(UTC)
    start = now - timedelta(days=DAYS)

    loaded = time.monotonic()
    await _generate(database_url, events, start)
    generated = time.monotonic() - loaded
    await _fold(database_url, start)
    folded = time.monotonic() - loaded - generated

    conn = await asyncpg.connect(database_url)
    try:
        # Goals on every KPI but the percentile (see `bench.workload.kpis` for why).
        leaves = await insert_kpis_and_goals(
            conn,
            [k for k in KPIS if not k.key.endswith("p95")],
            1000,
            start=start,
            due=now + timedelta(days=30),
            fanout=(10, 10),
        )
    finally:
        await conn.close()
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as sa_conn:
            await GoalJudge().judge(sa_conn, leaves, datetime.now(UTC))

        # KPI evaluation over the goal's period, a fresh reader (no cache) per call.
        kpi_ms: dict[str, list[float]] = {}
        for kpi in KPIS:
            expr = parse_expression(kpi.expression)

            async def kpi_value(expr: Expr = expr) -> None:
                async with engine.connect() as sa_conn:
                    await KpiValueReader(sa_conn).value(expr, start, datetime.now(UTC))

            kpi_ms[kpi.key] = await _timed(kpi_value, 50, 5)
    finally:
        await engine.dispose()

    key = await insert_api_key(database_url, "bench-reader", ["read"])
    env = infra.service_env(database_url, "bench-api.")
    goal_id: uuid.UUID = leaves[0]
    with infra.services(env, "api") as services:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=services["api"].url, headers=headers) as client:

            async def tree() -> None:
                response = await client.get("/v1/goals/tree")
                response.raise_for_status()

            async def status() -> None:
                response = await client.get(f"/v1/goals/{goal_id}/status")
                response.raise_for_status()

            tree_ms = await _timed(tree, 100, 10)
            status_ms = await _timed(status, 300, 20)

    all_kpi_ms = [ms for values in kpi_ms.values() for ms in values]
    load_note = (
        f"{events:,} events generated in {generated:.0f} s, rollups folded in {folded:.0f} s"
    )
    return [
        Row(
            "api",
            "GET /v1/goals/tree (1,000 goals), p95",
            _p(tree_ms, 0.95),
            "ms",
            "p95 ≤ 50 ms",
            _p(tree_ms, 0.95) <= TREE_P95_MS,
            note=f"p50 {_p(tree_ms, 0.5):.1f} ms over {len(tree_ms)} requests",
        ),
        Row(
            "api",
            f"GET /v1/goals/{{id}}/status ({events / 1e6:.0f}M events), p95",
            _p(status_ms, 0.95),
            "ms",
            "p95 ≤ 20 ms",
            _p(status_ms, 0.95) <= STATUS_P95_MS,
            note=f"p50 {_p(status_ms, 0.5):.1f} ms over {len(status_ms)} requests; {load_note}",
        ),
        Row(
            "api",
            f"KPI value over 30 days ({events / 1e6:.0f}M events), p95",
            _p(all_kpi_ms, 0.95),
            "ms",
            "p95 ≤ 20 ms",
            _p(all_kpi_ms, 0.95) <= STATUS_P95_MS,
            note="KpiValueReader.value, fresh reader each call; p95 per KPI: "
            + ", ".join(
                f"{KPIS[i].expression} {_p(v, 0.95):.1f} ms" for i, v in enumerate(kpi_ms.values())
            ),
        ),
    ]
