"""End-to-end latency at a steady load, and the services' memory under it.

ingest, evaluator and api run as processes; `bench.loadgen` pushes a steady 5,000
events/s over the benchmark metrics (100 goals on them). Meanwhile probes go through
the whole pipeline one at a time: one `bench_probe` event with a rising value, posted
to ingest; the latency runs from its 202 to the moment the probe goal's `goal_state`
(KPI `max(bench_probe)`) holds that value. Resident memory of every service process is
sampled throughout.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import orjson

from bench.infra import Infrastructure, RssSampler, insert_api_key, insert_kpis_and_goals, python
from bench.results import Row
from bench.workload import PROBE_KPI, PROBE_METRIC, kpis

RATE = 5000
GOALS = 100
P95_TARGET_MS = 250.0
MEMORY_TARGET_MB = 200.0
POLL_S = 0.002


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def _probe(
    client: httpx.AsyncClient, conn: asyncpg.Connection, goal_id: object, key: str, value: int
) -> float:
    """Seconds from the probe's 202 to the goal state showing it."""
    body = {
        "events": [{"event_id": f"probe-{value}", "metric": PROBE_METRIC, "value": float(value)}]
    }
    response = await client.post(
        "/v1/events",
        content=orjson.dumps(body),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    accepted = time.monotonic()
    if response.status_code != 202:
        raise RuntimeError(f"probe rejected: {response.status_code} {response.text[:200]}")
    give_up = accepted + 30
    while time.monotonic() < give_up:
        actual = await conn.fetchval("SELECT actual FROM goal_state WHERE goal_id = $1", goal_id)
        if actual is not None and actual >= value:
            return time.monotonic() - accepted
        await asyncio.sleep(POLL_S)
    raise RuntimeError(f"probe {value} not reflected after 30 s")


# The evaluator's per-batch steps in the order a record goes through them (the
# "batch committed" log line, services/evaluator/consumer.py).
STEPS = (
    "wait_poll",
    "decode",
    "wait_writer",
    "prepare",
    "store",
    "fold",
    "judge",
    "commit",
    "commit_offsets",
)


def batch_steps(log_path: Path, *, since: float) -> str:
    """p50/p95 of each step over the batches committed after `since` (wall clock)."""
    values: dict[str, list[float]] = {step: [] for step in ("ms", *STEPS)}
    with log_path.open("rb") as lines:
        for line in lines:
            if not line.startswith(b"{"):
                continue
            entry = orjson.loads(line)
            if entry.get("msg") != "batch committed":
                continue
            if datetime.fromisoformat(entry["ts"]).timestamp() < since:
                continue
            for step, seen in values.items():
                if step in entry:
                    seen.append(float(entry[step]))
    batches = len(values["ms"])
    parts = [
        f"{step} {percentile(seen, 0.5):.0f}/{percentile(seen, 0.95):.0f}"
        for step, seen in values.items()
        if seen and step != "ms"
    ]
    return f"{batches} batches; " + ", ".join(parts)


async def run(
    infra: Infrastructure, *, seconds: float, workers: int | None, fetch_wait_ms: int | None = None
) -> list[Row]:
    database_url = await infra.database("bench_e2e")
    key = await insert_api_key(database_url, "bench", ["events:write"])
    now = datetime.now(UTC)
    conn = await asyncpg.connect(database_url)
    try:
        start, due = now - timedelta(days=1), now + timedelta(days=30)
        await insert_kpis_and_goals(conn, kpis(), GOALS, start=start, due=due)
        [probe_goal] = await insert_kpis_and_goals(conn, [PROBE_KPI], 1, start=start, due=due)
    finally:
        await conn.close()

    env = infra.service_env(database_url, "bench-e2e.")
    extra: dict[str, dict[str, str]] = {
        # The evaluator logs each committed batch with its steps' times (JSON, INFO).
        "evaluator": {"NORTHSTAR_LOG_FORMAT": "json", "NORTHSTAR_LOG_LEVEL": "INFO"}
    }
    if fetch_wait_ms is not None:
        extra["evaluator"]["NORTHSTAR_CONSUMER_FETCH_MAX_WAIT_MS"] = str(fetch_wait_ms)
    if workers:
        extra["ingest"] = {"NORTHSTAR_WORKERS": str(workers)}
    latencies: list[float] = []
    with infra.services(env, "api", "ingest", "evaluator", extra=extra) as services:
        load = await asyncio.create_subprocess_exec(
            python(),
            "-m",
            "bench.loadgen",
            "--url",
            services["ingest"].url,
            "--key",
            key,
            "--connections",
            "2",
            "--batch",
            "500",
            "--rate",
            str(RATE),
            "--warmup",
            "3",
            "--duration",
            str(seconds),
            "--seed",
            "2",
            stdout=asyncio.subprocess.PIPE,
        )
        pids = {name: p.pid for name, p in services.items() if p.pid is not None}
        with RssSampler(pids) as rss:
            conn = await asyncpg.connect(database_url)
            try:
                async with httpx.AsyncClient(base_url=services["ingest"].url, timeout=10) as client:
                    await asyncio.sleep(4)  # the load's warm-up
                    measuring_since = time.time()
                    value = 0
                    stop_at = time.monotonic() + seconds - 2
                    while time.monotonic() < stop_at:
                        value += 1
                        latencies.append(await _probe(client, conn, probe_goal, key, value))
                        await asyncio.sleep(0.05)
            finally:
                await conn.close()
            out, _ = await asyncio.wait_for(load.communicate(), seconds + 60)
        load_result = orjson.loads(out)
        steps = batch_steps(services["evaluator"].log_path, since=measuring_since)
    p95 = percentile(latencies, 0.95) * 1000
    p50 = percentile(latencies, 0.50) * 1000
    rows = [
        Row(
            "end to end",
            "202 → goal status, p95",
            p95,
            "ms",
            f"p95 ≤ {P95_TARGET_MS:.0f} ms",
            p95 <= P95_TARGET_MS,
            note=(
                f"{len(latencies)} probes at {load_result['events_per_second']:,.0f} events/s "
                f"background load; p50 {p50:.0f} ms, max {max(latencies) * 1000:.0f} ms; "
                f"evaluator batches, p50/p95 ms per step: {steps}"
            ),
        )
    ]
    for name in ("ingest", "evaluator", "api"):
        peak = rss.peak[name]
        procs = rss.processes[name]
        rows.append(
            Row(
                "memory",
                f"{name} RSS under load" + (f" ({procs} processes)" if procs > 1 else ""),
                peak,
                "MB",
                "≤ 200 MB each",
                peak <= MEMORY_TARGET_MB,
                note="summed over the supervisor and its workers" if procs > 1 else "",
            )
        )
    return rows
