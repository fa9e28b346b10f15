"""Evaluator throughput from a pre-filled topic, and the bare COPY ceiling; then 2 and 4
replicas on fresh copies of the same backlog.

The evaluator replicas join their consumer group on an empty topic, are suspended
(SIGSTOP) while the topic is filled, and resumed together, so the figure is the
evaluator's own pace (poll → decode → COPY + dedupe + rollups → evaluate 100 goals →
commit → commit offsets), not the producer's, every replica on the same backlog from
the start. Progress is read from the evaluator's own
`northstar_evaluator_events_total{outcome="stored"}` counter.

Each run also measures what scaling out costs (issue 28): the time evaluator sessions
spent waiting for a lock held by another (`pg_stat_activity.wait_event_type = 'Lock'`,
sampled every 10 ms and summed over the sessions: seconds of waiting), and the events
stored per CPU-second of the evaluator processes (psutil `cpu_times`, user + system,
from when they are ready until the backlog is stored and no judgement requested of a
goal's owner is left). The 2- and 4-replica rows give each figure against the
1-replica run's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import psutil  # type: ignore[import-untyped]

from bench.infra import Infrastructure, RssSampler, insert_kpis_and_goals
from bench.results import Row
from bench.workload import kpis, metric_events
from devstack.broker import create_topics
from devstack.processes import ServiceProcess
from northstar.config import KafkaSettings
from northstar.events.model import MetricEvent
from northstar.kafka import Topics, producer, send_events

TARGET = 100_000.0
GOALS = 100
PREFIX = "bench-eval."
STALL_S = 60.0


PARTITIONS = 12


class _Recorder:
    """Stands in for the producer to `send_events`: records the messages (value, key,
    partition, headers) ingest's code makes, so they can be sent later in one go."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))

    async def send(self, topic: str, value: bytes, **kwargs: Any) -> asyncio.Future[None]:
        self.sent.append({"topic": topic, "value": value, **kwargs})
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def encode(events: list[MetricEvent], prefix: str) -> list[dict[str, Any]]:
    """The messages ingest's own code (`send_events`: keys, partitions, format) makes of
    `events`, ready to send."""
    recorder = _Recorder()
    await send_events(recorder, Topics.with_prefix(prefix).events, events)
    return recorder.sent


async def prefill(bootstrap: str, messages: list[dict[str, Any]], prefix: str) -> None:
    topics = Topics.with_prefix(prefix)
    await create_topics(bootstrap, {topics.events: PARTITIONS, topics.dlq: 1, topics.alerts: 3})
    # ingest's producer settings; a long timeout, as the whole topic is sent at once.
    settings = KafkaSettings(kafka_bootstrap=bootstrap, kafka_request_timeout_ms=60_000)
    kafka = producer(settings, client_id="bench-prefill")
    await kafka.start()
    try:
        deliveries = [await kafka.send(**message) for message in messages]
        await asyncio.gather(*deliveries)
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


async def _requests_judged(database_url: str) -> bool:
    """No judgement requested of a goal's owner is left (one owner per goal tree,
    `services/evaluator/ownership.py`), so the figures include judging every goal; true
    at once on a schema without the table (a run of an older commit)."""
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT to_regclass('goal_judge_requests')") is None:
            return True
        return not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM goal_judge_requests)")
    finally:
        await conn.close()


REPLICAS = (1, 2, 4)
_RUNS = itertools.count()
LOCK_SAMPLE_S = 0.01
# Keyed by what is waited for (`wait_event`: a row's `tuple` or `transactionid`, a
# relation's `extend`, …) and the start of the statement.
_LOCK_WAITERS = """
SELECT wait_event || ': ' || regexp_replace(left(query, 60), '\\s+', ' ', 'g') AS query
FROM pg_stat_activity
WHERE datname = $1 AND wait_event_type = 'Lock' AND application_name LIKE 'northstar-evaluator%'
"""


class LockWaitSampler:
    """Seconds evaluator sessions spent waiting for locks, sampled from `pg_stat_activity`."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self.seconds = 0.0
        self.samples = 0
        # Seconds waited, by the start of the waiting statement.
        self.by_statement: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        conn = await asyncpg.connect(self._url)
        try:
            name = await conn.fetchval("SELECT current_database()")
            last = time.monotonic()
            while True:
                waiting = await conn.fetch(_LOCK_WAITERS, name)
                now = time.monotonic()
                self.seconds += len(waiting) * (now - last)
                for row in waiting:
                    statement = row["query"].strip()
                    self.by_statement[statement] = (
                        self.by_statement.get(statement, 0.0) + now - last
                    )
                self.samples += 1
                last = now
                await asyncio.sleep(LOCK_SAMPLE_S)
        finally:
            await conn.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def worst(self) -> str:
        """The statements waited on longest."""
        ranked = sorted(self.by_statement.items(), key=lambda item: -item[1])[:2]
        return ", ".join(f"{seconds:.2f} s in `{statement}…`" for statement, seconds in ranked)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes and their children so far."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    total += times.user + times.system
    return total


_ASSIGNED = re.compile(r"partitions assigned\s+partitions=\[([\d, ]*)\]")


async def _settled(replicas: list[ServiceProcess], partitions: int = PARTITIONS) -> None:
    """Wait until the replicas' last assignments (from their logs) share out every
    partition of the events topic, none twice."""
    give_up = time.monotonic() + 90
    while True:
        owned = []
        for process in replicas:
            found = _ASSIGNED.findall(process.log_path.read_text(errors="replace"))
            owned.append({int(p) for p in found[-1].split(",") if p.strip()} if found else set())
        if all(owned) and sum(map(len, owned)) == len(set().union(*owned)) == partitions:
            return
        if time.monotonic() > give_up:
            raise RuntimeError(f"the consumer group did not settle: {owned}")
        await asyncio.sleep(0.2)


def _suspend(pids: list[int], suspend: bool) -> None:
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            for proc in [process, *process.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    if suspend:
                        proc.suspend()
                    else:
                        proc.resume()


@dataclass(frozen=True, slots=True)
class Scaling:
    replicas: int
    rate: float
    lock_wait_s: float
    events_per_cpu_s: float
    row: Row


async def run(
    infra: Infrastructure,
    *,
    events: int,
    max_poll_records: int | None,
    replicas: tuple[int, ...] = REPLICAS,
) -> list[Row]:
    """One evaluator (the headline figure, against the COPY ceiling), then 2 and 4
    replicas in one consumer group on fresh copies of the same data; for each, the lock
    waits and the events per CPU-second, against the single replica's."""
    runs = [
        await _run(infra, events=events, max_poll_records=max_poll_records, replicas=n)
        for n in replicas
    ]
    one = runs[0]
    rows: list[Row] = []
    for r in runs:
        rows.append(r.row)
        if r.replicas == 1:
            against = ""
        else:
            against = (
                f"; against 1 replica: events/s ×{r.rate / one.rate:.2f}, "
                f"events per CPU-second ×{r.events_per_cpu_s / one.events_per_cpu_s:.2f}, "
                f"lock wait {r.lock_wait_s:.2f} s against {one.lock_wait_s:.2f} s"
            )
        rows.append(
            Row(
                "evaluator",
                f"lock wait, {r.replicas} replica{'s' if r.replicas > 1 else ''}",
                r.lock_wait_s * 1000,
                "ms",
                "≈ 0",
                r.lock_wait_s < 0.05 * events / max(r.rate, 1.0),
                note="seconds evaluator sessions waited for a lock (pg_stat_activity, "
                f"sampled every {LOCK_SAMPLE_S * 1000:.0f} ms) while storing the backlog" + against,
            )
        )
        rows.append(
            Row(
                "evaluator",
                f"events per CPU-second, {r.replicas} replica{'s' if r.replicas > 1 else ''}",
                r.events_per_cpu_s,
                "events/CPU-s",
                "flat as replicas are added",
                r.events_per_cpu_s >= 0.8 * one.events_per_cpu_s,
                note="events stored / (user + system CPU seconds of the evaluator processes)",
            )
        )
    return rows


async def _run(
    infra: Infrastructure, *, events: int, max_poll_records: int | None, replicas: int
) -> Scaling:
    suffix = "" if replicas == 1 else f"_{replicas}"
    prefix = PREFIX if replicas == 1 else f"{PREFIX.rstrip('.')}{replicas}."
    # Every run of a bench process fills topics of its own: a topic is never emptied, and
    # with `--baseline` the section runs more than once.
    run = next(_RUNS)
    if run:
        prefix = f"{prefix.rstrip('.')}-{run}."
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
    # Encoded before the replicas are suspended: only sending happens while they are
    # (within their session timeout).
    messages = await encode(batch, prefix)

    env = infra.service_env(database_url, prefix)
    # INFO: the replicas' "partitions assigned" lines tell when the group has settled.
    evaluator_env = {"NORTHSTAR_LOG_LEVEL": "INFO"}
    if max_poll_records:
        evaluator_env["NORTHSTAR_MAX_POLL_RECORDS"] = str(max_poll_records)
    samples: list[tuple[float, float]] = []
    locks = LockWaitSampler(database_url)
    with (
        infra.services(
            env, "evaluator", extra={"evaluator": evaluator_env}, replicas={"evaluator": replicas}
        ) as services,
        RssSampler({n: p.pid for n, p in services.items() if p.pid is not None}) as rss,
    ):
        # Every replica starts on the same backlog at once: they join the group on an
        # empty topic, are suspended (SIGSTOP) while the backlog is produced, and resumed
        # together; otherwise the first would store much of it while the others start.
        await _settled(list(services.values()))
        pids = [p.pid for p in services.values() if p.pid is not None]
        _suspend(pids, True)
        try:
            await prefill(infra.broker.bootstrap, messages, prefix)
        finally:
            cpu_before = _cpu_seconds(pids)
            _suspend(pids, False)
            resumed_at = time.monotonic()
        locks.start()
        async with httpx.AsyncClient(timeout=10) as client:
            progress_at = time.monotonic()
            while True:
                stored = sum([await _stored(client, process.url) for process in services.values()])
                now_s = time.monotonic()
                if samples and stored > samples[-1][1]:
                    progress_at = now_s
                samples.append((now_s, stored))
                if stored >= events and await _requests_judged(database_url):
                    break
                if now_s - progress_at > STALL_S:
                    raise RuntimeError(
                        f"the evaluator stored nothing for {STALL_S:.0f} s "
                        f"({stored:,.0f} of {events:,}); see {services['evaluator'].log_path}"
                    )
                await asyncio.sleep(0.05)
        cpu = _cpu_seconds(pids) - cpu_before
        await locks.stop()
    # From the moment the replicas were resumed until the poll that saw every event
    # stored: polling a busy replica's /metrics can take a while, so the first sample
    # with progress is no start to count from.
    last = samples[-1]
    rate = last[1] / (last[0] - resumed_at) if last[0] > resumed_at else 0.0

    note = (
        f"{events:,} events in {len(messages):,} messages, {GOALS} goals on "
        f"{len(kpis())} KPIs; stored {last[1]:,.0f}; peak RSS while catching up "
        f"{max(rss.peak.values()):.0f} MB per replica"
    )
    per_cpu = last[1] / cpu if cpu > 0 else 0.0
    note += (
        f"; lock wait {locks.seconds:.2f} s ({locks.samples:,} samples"
        + (f": {locks.worst()}" if locks.by_statement else "")
        + "); "
        f"{cpu:.1f} CPU-s of evaluator processes"
    )
    if replicas == 1:
        row = Row(
            "evaluator",
            "events/s stored + evaluated",
            rate,
            "events/s",
            "≥ 100,000 events/s",
            rate >= TARGET,
            ceiling=await copy_ceiling(database_url, batch, 100_000),
            note=note,
        )
        return Scaling(replicas, rate, locks.seconds, per_cpu, row)
    row = Row(
        "evaluator",
        f"events/s stored + evaluated, {replicas} replicas",
        rate,
        "events/s",
        "≥ 100,000 events/s",
        rate >= TARGET,
        note=f"{note}; one consumer group, every replica on the backlog from the start",
    )
    return Scaling(replicas, rate, locks.seconds, per_cpu, row)
