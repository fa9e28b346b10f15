"""Goal evaluation inside the evaluator: after every stored batch, and on a timer.

After a batch: only the goals whose KPIs read a metric that received new events (and
whose period overlaps them) are evaluated, in the batch's transaction, so a committed
offset always means "stored and judged".

On the timer (`NORTHSTAR_EVALUATION_INTERVAL`): every active goal is re-evaluated,
because pace moves with time even when no event arrives. One replica does it at a
time (a PostgreSQL advisory lock), in chunks of `CHUNK` goals per transaction so the
sweep never holds many goal locks at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.evaluation.goals import GoalEvaluationService, GoalOutcome
from services.evaluator.consumer import AfterCommit
from services.evaluator.store import TouchedMetric

log = logging.getLogger(__name__)

CHUNK = 100
# Arbitrary but fixed: the advisory lock key of the periodic sweep.
_SWEEP_LOCK = 0x6E6F7274_68737461  # "northsta"


class GoalEvaluationStep:
    def __init__(self, engine: AsyncEngine, *, interval: float) -> None:
        self._engine = engine
        self._interval = interval
        self.service = GoalEvaluationService()

    async def after_store(
        self, conn: AsyncConnection, touched: Sequence[TouchedMetric], now: datetime
    ) -> AfterCommit | None:
        goal_ids = await self.service.affected_goals(
            conn, [(t.metric, t.first, t.last) for t in touched]
        )
        outcomes = await self.service.evaluate(conn, goal_ids, now)
        return self._after_commit(outcomes)

    def _after_commit(self, outcomes: Sequence[GoalOutcome]) -> AfterCommit | None:
        changed = [o for o in outcomes if o.changed]
        if not changed:
            return None

        async def log_changes() -> None:
            for outcome in changed:
                log.info(
                    "goal status changed",
                    extra={
                        "goal_id": str(outcome.goal_id),
                        "from": outcome.previous_status,
                        "to": outcome.status.value,
                    },
                )

        return log_changes

    async def sweep_forever(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._interval)
            if stopping.is_set():
                return
            try:
                await self.sweep()
            except Exception:
                log.exception("periodic evaluation failed; it runs again next interval")

    async def sweep(self) -> int:
        """Re-evaluate every active goal, if no other replica is doing it right now."""
        started = time.perf_counter()
        async with self._engine.connect() as lock_conn:
            got = (
                await lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _SWEEP_LOCK})
            ).scalar()
            await lock_conn.commit()
            if not got:
                return 0
            try:
                now = datetime.now(UTC)
                async with self._engine.connect() as conn:
                    goal_ids = await self.service.active_goals(conn, now)
                evaluated = 0
                for start in range(0, len(goal_ids), CHUNK):
                    async with self._engine.begin() as conn:
                        outcomes = await self.service.evaluate(
                            conn, goal_ids[start : start + CHUNK], now
                        )
                    after = self._after_commit(outcomes)
                    if after is not None:
                        await after()
                    evaluated += len(outcomes)
            finally:
                await lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _SWEEP_LOCK})
                await lock_conn.commit()
        log.info(
            "periodic evaluation done",
            extra={"goals": evaluated, "ms": round((time.perf_counter() - started) * 1000, 1)},
        )
        return evaluated
