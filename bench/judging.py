"""One judging pass of the end-to-end benchmark's 100 goals, timed in isolation.

The state `bench/endtoend.py` judges in the middle of its run: the 32 benchmark KPIs
(`bench.workload.kpis`) with 100 goals on them (period from a day ago to 30 days ahead),
and events at a steady rate up to the judging moment, so the current minute holds the
raw events of its first `--into-minute` seconds. Each pass is `GoalJudge.judge` of the
100 goals in a transaction that is rolled back (every pass judges the same state: the
first pass, not measured, is committed, so statuses and alerts are set as in the
benchmark after its first batches), as
the evaluator does after a batch (`forecasts=False`). Prints the p50/p95/mean ms.

`python -m bench.judging [--rate 2500] [--into-minute 40] [--passes 30]`
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bench.infra import Infrastructure, insert_kpis_and_goals
from bench.workload import CHANNELS, METRICS, REGIONS, kpis
from northstar.db.engine import create_engine
from northstar.evaluation.judge import GoalJudge
from northstar.events.model import MetricEvent
from northstar.rollups.batch import PreparedBatch
from northstar.rollups.writer import MeasurementWriter

GOALS = 100
STORE_CHUNK = 20_000


def _events(rng: random.Random, since: datetime, now: datetime, rate: int) -> list[MetricEvent]:
    span = (now - since).total_seconds()
    count = int(span * rate)
    return [
        MetricEvent(
            uuid.uuid4().hex,
            "bench",
            METRICS[i % len(METRICS)],
            round(rng.lognormvariate(3.0, 1.0), 3),
            since + timedelta(seconds=span * i / count),
            {"region": rng.choice(REGIONS), "channel": rng.choice(CHANNELS)},
        )
        for i in range(count)
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> None:
    infra = Infrastructure(log_dir=Path(tempfile.mkdtemp(prefix="bench-judging-")))
    infra.postgres.start()
    try:
        await infra.migrate_template()
        url = await infra.database("bench_judging")
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        now = minute + timedelta(seconds=args.into_minute)
        conn = await asyncpg.connect(url)
        try:
            goal_ids = await insert_kpis_and_goals(
                conn, kpis(), GOALS, start=now - timedelta(days=1), due=now + timedelta(days=30)
            )
        finally:
            await conn.close()
        events = _events(random.Random(2), now - timedelta(seconds=args.history), now, args.rate)
        engine = create_engine(url, pool_size=2)
        try:
            writer = MeasurementWriter()
            started = time.perf_counter()
            for i in range(0, len(events), STORE_CHUNK):
                pending = PreparedBatch()
                pending.add(events[i : i + STORE_CHUNK], salt=0, shard=0)
                async with engine.begin() as c:
                    stored = await writer.store(c, pending, received_at=now)
                    await writer.fold(c, stored.fresh.summary(), now)
            async with engine.begin() as c:
                await c.exec_driver_sql("ANALYZE")
            print(f"stored {len(events):,} events in {time.perf_counter() - started:.1f} s")
            judge = GoalJudge()
            times: list[float] = []
            for n in range(args.passes + 3):
                async with engine.connect() as c:
                    tx = await c.begin()
                    began = time.perf_counter()
                    judgement = await judge.judge(c, goal_ids, now, forecasts=False)
                    elapsed = (time.perf_counter() - began) * 1000
                    # The first pass is kept (statuses set, alerts opened, as after the
                    # benchmark's first batches); the measured ones change nothing.
                    await (tx.commit() if n == 0 else tx.rollback())
                if n >= 3:  # warm-up: connections, statement caches, parsed expressions
                    times.append(elapsed)
            assert len(judgement.outcomes) == GOALS
            print(
                f"judging {GOALS} goals, {args.passes} passes: "
                f"p50 {percentile(times, 0.5):.1f} ms, p95 {percentile(times, 0.95):.1f} ms, "
                f"mean {statistics.fmean(times):.1f} ms"
            )
        finally:
            await engine.dispose()
    finally:
        infra.postgres.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.judging", description=__doc__)
    parser.add_argument("--rate", type=int, default=2500, help="events/s stored before the pass")
    parser.add_argument("--history", type=float, default=160, help="seconds of events stored")
    parser.add_argument("--into-minute", type=float, default=40, help="seconds of the minute")
    parser.add_argument("--passes", type=int, default=30)
    asyncio.run(main(parser.parse_args()))
