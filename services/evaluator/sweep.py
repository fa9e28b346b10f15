"""Goal evaluation inside the evaluator: after every stored batch, and on a timer.

After a batch: only the goals whose KPIs read a metric that received new events (and
whose period overlaps them) are evaluated, in the batch's transaction. With more than
one replica, a replica judges there only the goals whose tree it owns and durably
requests the others' judgement from their owners (`services.evaluator.ownership`), so a
committed offset means "stored, and judged or its judgement requested"; the requests
of its own partitions are judged with its batch, or on a short timer when idle.

On the timer (`NORTHSTAR_EVALUATION_INTERVAL`): every active goal is re-evaluated,
because pace moves with time even when no event arrives, with its forecast refitted (a
batch keeps the stored one; model fitting takes at most `FIT_BUDGET_SHARE` of the
interval per sweep, see `northstar.domain.forecasting.FitBudget`); then the KPIs'
anomaly checks run within a share of the interval (`northstar.evaluation.anomalies`).
One replica does it at a time (a PostgreSQL advisory lock), in chunks of `CHUNK` goals
per transaction so the sweep never holds many goal locks at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.domain.forecasting import UNLIMITED, FitBudget
from northstar.evaluation.anomalies import AnomalyChecks
from northstar.evaluation.judge import GoalJudge, Judgement
from northstar.rollups.writer import TouchedMetric
from northstar.telemetry import EVALUATOR_ERRORS
from services.evaluator.consumer import AfterCommit
from services.evaluator.ownership import Assignment, GoalOwnership, notify

log = logging.getLogger(__name__)

CHUNK = 100
ANOMALY_BUDGET_SHARE = 0.25
"""Anomaly checks stop after this share of the evaluation interval; the rest carry over."""
FIT_BUDGET_SHARE = 0.25
"""Forecast models are fitted for this share of the evaluation interval per sweep; past
it, KPIs are forecast from their last fitted parameters (`FitBudget`) and refitted by
the next sweeps."""
# Arbitrary but fixed: the advisory lock key of the periodic sweep.
_SWEEP_LOCK = 0x6E6F7274_68737461  # "northsta"


class GoalEvaluationStep:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        interval: float,
        on_outbox: Callable[[], None] | None = None,
        after_sweep: Callable[[datetime], Awaitable[object]] | None = None,
    ) -> None:
        """`on_outbox` is called after a commit that wrote outbox events (it wakes the
        relay, so alerts go out at once instead of at its next poll)."""
        self._engine = engine
        self._interval = interval
        self._on_outbox = on_outbox
        self._after_sweep = after_sweep
        self.judge = GoalJudge()
        self.anomalies = AnomalyChecks()
        self.ownership = GoalOwnership()

    async def _evaluate(
        self,
        conn: AsyncConnection,
        goal_ids: Sequence[uuid.UUID],
        now: datetime,
        *,
        forecasts: bool,
        fits: FitBudget = UNLIMITED,
        requested_of: frozenset[int] = frozenset(),
    ) -> AfterCommit | None:
        judgement = await self.judge.judge(conn, goal_ids, now, forecasts=forecasts, fits=fits)
        return self._after_commit(judgement, requested_of)

    async def after_store(
        self,
        conn: AsyncConnection,
        touched: Sequence[TouchedMetric],
        now: datetime,
        assignment: Assignment | None,
    ) -> AfterCommit | None:
        """In the batch's transaction: judge the goals the batch touched that this
        replica owns, with the ones other replicas asked of it; request the rest from
        their owners. Without an assignment (none known yet), judge every touched goal."""
        goal_ids = await self.judge.goals.affected_goals(
            conn, [(t.metric, t.first, t.last) for t in touched]
        )
        requested_of: set[int] = set()
        if assignment is not None:
            goal_ids, requested_of = await self.ownership.route(conn, goal_ids, assignment)
            requested = await self.ownership.take(conn, assignment)
            if requested:
                goal_ids = sorted({*goal_ids, *requested})
        # Forecasts are fitted by the sweep; a batch keeps the goals' stored ones.
        return await self._evaluate(
            conn, goal_ids, now, forecasts=False, requested_of=frozenset(requested_of)
        )

    async def judge_requested(
        self, conn: AsyncConnection, assignment: Assignment, now: datetime
    ) -> AfterCommit | None:
        """In a transaction of its own: judge the goals other replicas asked of this one
        (the requests of the partitions it holds), deleting the requests."""
        goal_ids = await self.ownership.take(conn, assignment)
        if not goal_ids:
            return None
        return await self._evaluate(conn, goal_ids, now, forecasts=False)

    def _after_commit(
        self, judgement: Judgement, requested_of: frozenset[int] = frozenset()
    ) -> AfterCommit | None:
        """What to do once the transaction committed: tell the owners of `requested_of`
        that judgements were requested of them, log the changes, nudge the relay."""
        changed = [o for o in judgement.outcomes if o.changed]
        changes = judgement.alert_changes
        if not changed and not changes and not requested_of:
            return None

        async def after() -> None:
            if requested_of:
                try:
                    await notify(self._engine, set(requested_of))
                except Exception:
                    # The requests are stored: the owners' next batch or poll finds them.
                    EVALUATOR_ERRORS.labels(stage="judge_request_notify").inc()
                    log.exception("notifying judge requests failed")
            for outcome in changed:
                log.info(
                    "goal status changed",
                    extra={
                        "goal_id": str(outcome.goal_id),
                        "from": outcome.previous_status,
                        "to": outcome.status.value,
                    },
                )
            for change in changes:
                log.info(
                    "alert %s",
                    change.event.value,
                    extra={
                        "alert_id": str(change.alert_id),
                        "goal_id": str(change.goal_id),
                        "severity": change.severity.value,
                    },
                )
            if self._on_outbox is not None and judgement.wrote_events:
                self._on_outbox()

        return after

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

    async def _sweep_chunk(self, chunk: Sequence[uuid.UUID], now: datetime, fits: FitBudget) -> int:
        """Evaluate one chunk in one transaction. If it fails, each of its goals is tried
        alone, so a goal whose data breaks its evaluation keeps neither the others of
        its chunk nor the rest of the sweep (and housekeeping) from running; each
        failure is logged and counted (`stage="sweep_chunk"`) and skipped until the next
        sweep."""
        try:
            async with self._engine.begin() as conn:
                after = await self._evaluate(conn, chunk, now, forecasts=True, fits=fits)
        except Exception:
            if len(chunk) == 1:
                EVALUATOR_ERRORS.labels(stage="sweep_chunk").inc()
                log.exception("evaluating a goal failed; skipped", extra={"goal_id": str(chunk[0])})
                return 0
            log.warning("sweep chunk failed; evaluating its goals one by one", exc_info=True)
            evaluated = 0
            for goal_id in chunk:
                evaluated += await self._sweep_chunk([goal_id], now, fits)
            return evaluated
        if after is not None:
            await after()
        return len(chunk)

    async def _check_anomalies(self, now: datetime) -> None:
        """The KPIs' anomaly checks, within a share of the interval; a failure is logged
        and counted, and the checks run again next sweep."""
        try:
            changes = await self.anomalies.run(
                self._engine, now, self._interval * ANOMALY_BUDGET_SHARE
            )
        except Exception:
            EVALUATOR_ERRORS.labels(stage="anomaly_checks").inc()
            log.exception("anomaly checks failed; they run again next interval")
            return
        if changes and self._on_outbox is not None:
            self._on_outbox()

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
                    goal_ids = await self.judge.goals.active_goals(conn, now)
                evaluated = 0
                fits = FitBudget(self._interval * FIT_BUDGET_SHARE)
                for start in range(0, len(goal_ids), CHUNK):
                    chunk = goal_ids[start : start + CHUNK]
                    evaluated += await self._sweep_chunk(chunk, now, fits)
                await self._check_anomalies(now)
                if self._after_sweep is not None:
                    await self._after_sweep(now)
            finally:
                await lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _SWEEP_LOCK})
                await lock_conn.commit()
        log.info(
            "periodic evaluation done",
            extra={
                "goals": evaluated,
                "model_fits": fits.fits,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return evaluated
