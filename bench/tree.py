"""`python -m bench.tree`: the goal-tree read of `bench/api.py` on its own, for profiling
and before/after comparisons without generating 10 million events.

The same cascade as the api benchmark (1,000 goals, `fanout=(10, 10)`, the same three
KPIs), every goal with a status like the evaluator's (actuals, scores, forecasts), a real
api process, and the same timing: sequential requests over one keep-alive connection
after a warm-up. `--rejudge` gives every goal's state a new version before each request
(outside the timing), as an evaluator judging all goals between two requests would.
`--rounds` repeats the measurement against the same process; `--py-spy OUT` records the
api with py-spy during an extra, sustained round (py-spy must be installed in the venv;
it is not a dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from bench.api import KPIS
from bench.infra import Infrastructure, insert_api_key, insert_kpis_and_goals


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# Statuses as the evaluator leaves them after judging the cascade over 30 days of data:
# KPI goals with actual, expected, score, progress and a forecast; roll-ups with a score.
# Written directly, so this benchmark does not depend on how events are stored or folded.
_STATES = """
UPDATE goal_state s SET
    status = (ARRAY['on_track', 'at_risk', 'off_track'])[1 + abs(hashtext(g.title)) % 3],
    actual = CASE WHEN g.kpi_key IS NOT NULL THEN 1000 + abs(hashtext(g.title)) % 900000 END,
    expected = CASE WHEN g.kpi_key IS NOT NULL THEN 500000.0 + abs(hashtext(g.title)) % 7 END,
    target = g.target,
    score = (abs(hashtext(g.title)) % 1200) / 1000.0 + 0.000123456789,
    progress = CASE WHEN g.kpi_key IS NOT NULL THEN (abs(hashtext(g.title)) % 1000) / 997.0 END,
    forecast_value = CASE WHEN g.kpi_key IS NOT NULL
        THEN 1000000.0 * (abs(hashtext(g.title)) % 1500) / 1000.0 END,
    forecast_status = CASE WHEN g.kpi_key IS NOT NULL THEN
        (ARRAY['likely_achieved', 'likely_missed'])[1 + abs(hashtext(g.title)) % 2] END,
    evaluated_at = now(), status_since = now()
FROM goals g WHERE g.id = s.goal_id
"""


async def _seed(database_url: str, goals: int) -> None:
    """KPIs, the goal cascade of the api benchmark, and a judged status for every goal."""
    now = datetime.now(UTC)
    conn = await asyncpg.connect(database_url)
    try:
        await insert_kpis_and_goals(
            conn,
            [k for k in KPIS if not k.key.endswith("p95")],
            goals,
            start=now - timedelta(days=30),
            due=now + timedelta(days=30),
            fanout=(10, 10),
        )
        await conn.execute(_STATES)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


# What the evaluator does to every goal it judges: a new version of its state row.
_REJUDGE = "UPDATE goal_state SET evaluated_at = clock_timestamp(), score = score + 1e-9"


async def _measure(
    url: str, key: str, database_url: str, args: argparse.Namespace, pid: int | None
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    conn = await asyncpg.connect(database_url)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:

        async def tree() -> int:
            response = await client.get("/v1/goals/tree")
            response.raise_for_status()
            return len(response.content)

        started = time.perf_counter()
        size = await tree()
        print(
            f"body {size:,} bytes; first request {(time.perf_counter() - started) * 1000:.1f} ms",
            flush=True,
        )
        for _ in range(args.warmup):
            await tree()
        for round_ in range(args.rounds):
            times = []
            for _ in range(args.requests):
                if args.rejudge:
                    await conn.execute(_REJUDGE)
                started = time.perf_counter()
                await tree()
                times.append((time.perf_counter() - started) * 1000)
            print(
                f"round {round_ + 1}: p50 {_p(times, 0.5):.1f} ms, p95 {_p(times, 0.95):.1f} ms, "
                f"max {max(times):.1f} ms over {len(times)} requests",
                flush=True,
            )
        if args.py_spy and pid is not None:
            spy = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "-p",
                str(pid),
                "-d",
                str(args.profile_seconds),
                "-r",
                "200",
                "-f",
                "raw",
                "-o",
                args.py_spy,
                *(["--native"] if args.native else []),
            )
            await asyncio.sleep(1)
            while spy.returncode is None:
                await tree()
            await spy.wait()
            print(f"py-spy profile in {args.py_spy}", flush=True)
    await conn.close()


async def _run(args: argparse.Namespace) -> None:
    infra = Infrastructure(Path(tempfile.mkdtemp(prefix="northstar-bench-tree-")))
    infra.start()
    try:
        await infra.migrate_template()
        database_url = await infra.database("bench_tree")
        await _seed(database_url, args.goals)
        key = await insert_api_key(database_url, "bench-reader", ["read"])
        env = infra.service_env(database_url, "bench-tree.")
        with infra.services(env, "api") as services:
            api = services["api"]
            await _measure(api.url, key, database_url, args, api.pid)
    finally:
        infra.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tree", description=__doc__)
    parser.add_argument("--goals", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--py-spy", metavar="OUT", help="record a py-spy raw profile to OUT")
    parser.add_argument("--profile-seconds", type=int, default=20)
    parser.add_argument("--native", action="store_true", help="py-spy --native (shows GC)")
    parser.add_argument(
        "--rejudge",
        action="store_true",
        help="before each timed request (untimed), give every goal a new state row version, "
        "as the evaluator does when it judges them all",
    )
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
