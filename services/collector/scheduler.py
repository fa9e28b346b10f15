"""The scheduler: claims due runs from the database and runs each in its own task.

    every poll:  expire lost runs → queue due slots → claim queued runs (room permitting)
    each run:    load the source → window → pull (kind, timeout, row cap) → cardinality
                 gate → leave out values the ledger has → Kafka (acks=all) → record the
                 result, the watermark and the source's health (alerts) in one transaction

Any number of replicas may run this at once: slots and runs are claimed with
`FOR UPDATE SKIP LOCKED` and a slot is one run (`services/collector/repository.py`). A
run is a task of its own under its own timeout, so a slow or dead source holds one of
`source_concurrency` places and never delays the others' runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.crypto import SecretBox, SecretUnreadable
from northstar.domain.alerts import source_condition
from northstar.domain.sources import ScheduleError, parse_schedule, pull_window, pulled_source
from northstar.evaluation.alerts import AlertRecorder
from northstar.events.cardinality import CardinalityGate
from northstar.events.model import MetricEvent
from northstar.events.publisher import BrokerUnavailable
from northstar.sources.rows import RowProblem, describe_problems
from northstar.sources.runner import pull
from northstar.sources.spec import Connection, SourceError, SourceSpec
from northstar.telemetry import (
    SOURCE_CONSECUTIVE_FAILURES,
    SOURCE_EVENTS,
    SOURCE_ROWS,
    SOURCE_RUN_DURATION,
    SOURCE_RUNS,
    SOURCE_WATERMARK_LAG,
)
from services.collector.repository import ClaimedRun, CollectorRepository
from services.collector.settings import CollectorSettings

log = logging.getLogger(__name__)

Publish = Callable[[Sequence[MetricEvent]], Awaitable[None]]
Clock = Callable[[], datetime]

# Due sources one poll queues at most (the rest wait for the next poll).
_QUEUE_AT_ONCE = 100


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    def __init__(
        self,
        settings: CollectorSettings,
        engine: AsyncEngine,
        *,
        publish: Publish,
        box: SecretBox,
        clock: Clock = _utc_now,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._publish = publish
        self._box = box
        self._clock = clock
        self._repository = CollectorRepository()
        self._alerts = AlertRecorder()
        self._gate = CardinalityGate(
            engine, settings.cardinality_limits(), ttl=settings.cardinality_cache_seconds
        )
        self._bounds = settings.event_bounds()
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._known_gauges: set[str] = set()

    # -- the loop ---------------------------------------------------------------------------

    async def run_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.poll()
                await self.refresh_health()
            except Exception:
                log.exception("the scheduler's poll failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.source_poll_seconds)
            self._wake.clear()
        if self._running:
            await asyncio.wait(self._running, timeout=self._settings.source_lease_grace_seconds)

    def request_stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def poll(self) -> list[ClaimedRun]:
        """One round: expire lost runs, queue due slots, claim and start queued runs."""
        now = self._clock()
        await self.expire_lost(now)
        await self.queue_due(now)
        room = self._settings.source_concurrency - len(self._running)
        if room <= 0:
            return []
        claimed = await self.claim(now, room)
        for run in claimed:
            task = asyncio.create_task(self.execute(run), name=f"source-run-{run.id}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return claimed

    async def expire_lost(self, now: datetime) -> int:
        """Fail the runs whose collector died (lease passed); each counts as a failure of
        its source, towards the source alert. Answers how many."""
        async with self._engine.begin() as conn:
            lost = await self._repository.expire(conn, now)
            for source_id in lost:
                if await self._repository.lock_source(conn, source_id) is None:
                    continue
                failures = await self._repository.lost(conn, source_id)
                row = await self._repository.source(conn, source_id)
                SOURCE_RUNS.labels(source=row.name, outcome="failed").inc()
                if failures >= self._settings.source_failures_before_alert:
                    await self._apply_alert(
                        conn,
                        row.metric,
                        row.name,
                        source_id,
                        failing=True,
                        error="the collector running it stopped before it finished",
                    )
        return len(lost)

    async def queue_due(self, now: datetime) -> int:
        """Queue one run per due slot; answers how many were queued."""
        queued = 0
        async with self._engine.begin() as conn:
            for source_id, raw_schedule, slot in await self._repository.due_sources(
                conn, now, _QUEUE_AT_ONCE
            ):
                try:
                    schedule = parse_schedule(raw_schedule)
                except ScheduleError:
                    log.error("a source has a schedule it cannot have", extra={"source": source_id})
                    continue
                if await self._repository.queue_slot(conn, source_id, slot, now):
                    queued += 1
                # Slots missed while no collector ran are not made up one by one: the next
                # run's window reaches back to the watermark anyway.
                await self._repository.advance(conn, source_id, schedule.next_slot(now))
        return queued

    async def claim(self, now: datetime, most: int) -> list[ClaimedRun]:
        async with self._engine.begin() as conn:
            return await self._repository.claim(
                conn,
                me=self._settings.collector_id,
                now=now,
                most=most,
                grace=self._settings.source_lease_grace_seconds,
            )

    async def wait_idle(self) -> None:
        """Until every run started so far has finished (tests, shutdown)."""
        while self._running:
            await asyncio.wait(set(self._running))

    # -- one run ----------------------------------------------------------------------------

    async def execute(self, run: ClaimedRun) -> None:
        """Run one claimed run to its recorded end; never raises."""
        started = time.perf_counter()
        try:
            await self._execute(run)
        except Exception:
            log.exception("a source run failed unexpectedly", extra={"run": str(run.id)})
            try:
                await self._record_failure(run, "an internal error stopped the run", None, "?")
            except Exception:
                log.exception("cannot record a failed source run", extra={"run": str(run.id)})
        finally:
            SOURCE_RUN_DURATION.observe(time.perf_counter() - started)

    async def _execute(self, run: ClaimedRun) -> None:
        now = self._clock()
        async with self._engine.connect() as conn:
            row = await self._repository.source(conn, run.source_id)
        if row is None:
            return  # deleted meanwhile: its runs went with it
        name = row.name
        try:
            connection = Connection.unseal(self._box, row.connection)
        except SecretUnreadable as error:
            await self._record_failure(run, str(error), None, name)
            return
        spec = SourceSpec(
            name=name,
            kind=row.kind,
            connection=connection,
            query=row.query,
            metric=row.metric,
            mapping=row.mapping,
            timeout_seconds=row.timeout_seconds,
        )
        window = pull_window(
            now=now,
            watermark=row.watermark,
            lookback=row.lookback,
            settle=row.settle,
            since=row.since,
        )
        async with self._engine.begin() as conn:
            await self._repository.set_window(conn, run.id, window.start, window.end)
        rows: int | None = None
        try:
            result = await pull(
                spec,
                window,
                limit=row.max_rows + 1,
                allow_private=self._settings.webhook_allow_private_networks,
                received_at=now,
                bounds=self._bounds,
            )
            rows = len(result.pulled.rows)
            if rows > row.max_rows:
                raise SourceError(
                    f"the source returned more than {row.max_rows} rows (the source's row "
                    "cap); narrow the query or its window, or raise max_rows"
                )
            events, problems = await self._admitted(result.events, result.problems)
            source = pulled_source(name)
            async with self._engine.connect() as conn:
                known = await self._repository.known_ids(conn, source, [e.event_id for e in events])
            new = [e for e in events if e.event_id not in known]
            if new:
                try:
                    await self._publish(new)
                except BrokerUnavailable as error:
                    raise SourceError(f"Kafka did not take the run's events: {error}") from None
        except SourceError as error:
            await self._record_failure(run, str(error), rows, name)
            return
        SOURCE_ROWS.labels(source=name).inc(rows)
        SOURCE_EVENTS.labels(source=name).inc(len(new))
        newest = max((e.timestamp for e in events), default=None)
        error_text = describe_problems(problems, rows) if problems else None
        async with self._engine.begin() as conn:
            before = await self._repository.lock_source(conn, run.source_id)
            if before is None:
                return
            await self._repository.succeeded(
                conn,
                run_id=run.id,
                source_id=run.source_id,
                now=self._clock(),
                rows=rows,
                events=len(new),
                duplicates=len(events) - len(new),
                rejected=len(problems),
                error=error_text,
                newest=newest,
            )
            if before >= self._settings.source_failures_before_alert:
                await self._apply_alert(conn, row.metric, name, run.source_id, failing=False)
        SOURCE_RUNS.labels(source=name, outcome="succeeded").inc()
        log.info(
            "source run succeeded",
            extra={"source": name, "rows": rows, "events": len(new), "rejected": len(problems)},
        )

    async def _admitted(
        self, events: list[MetricEvent], problems: list[RowProblem]
    ) -> tuple[list[MetricEvent], list[RowProblem]]:
        """The events the cardinality caps admit (as ingest would); the others become
        problems with the cap's reason."""
        refused = await self._gate.refusals(events)
        if not refused:
            return events, problems
        kept = [e for position, e in enumerate(events) if position not in refused]
        more = [
            RowProblem(-1, f"{events[p].timestamp.isoformat()}: {r.message}")
            for p, r in refused.items()
        ]
        return kept, [*problems, *more]

    async def _record_failure(
        self, run: ClaimedRun, error: str, rows: int | None, name: str
    ) -> None:
        SOURCE_RUNS.labels(source=name, outcome="failed").inc()
        log.warning("source run failed", extra={"source": name, "error": error})
        async with self._engine.begin() as conn:
            before = await self._repository.lock_source(conn, run.source_id)
            if before is None:
                return
            failures = await self._repository.failed(
                conn,
                run_id=run.id,
                source_id=run.source_id,
                now=self._clock(),
                rows=rows,
                error=error[:2000],
            )
            if failures >= self._settings.source_failures_before_alert:
                row = await self._repository.source(conn, run.source_id)
                await self._apply_alert(
                    conn, row.metric, name, run.source_id, failing=True, error=error
                )

    async def _apply_alert(
        self,
        conn: AsyncConnection,
        metric: str,
        name: str,
        source_id: uuid.UUID,
        *,
        failing: bool,
        error: str | None = None,
    ) -> None:
        details = {"source_id": str(source_id), "source": name, "metric": metric}
        if error is not None:
            details["error"] = error[:500]
        condition = source_condition(failing)
        for goal_id in await self._repository.goals_reading(conn, metric):
            await self._alerts.apply_condition(conn, goal_id, condition, details, self._clock())

    # -- health -----------------------------------------------------------------------------

    async def refresh_health(self) -> None:
        """Per-source gauges from the database (every replica shows every source)."""
        now = self._clock()
        async with self._engine.connect() as conn:
            rows = await self._repository.health(conn)
        seen = set()
        for name, watermark, failures in rows:
            seen.add(name)
            SOURCE_CONSECUTIVE_FAILURES.labels(source=name).set(failures)
            if watermark is not None:
                SOURCE_WATERMARK_LAG.labels(source=name).set((now - watermark).total_seconds())
        for gone in self._known_gauges - seen:
            for gauge in (SOURCE_CONSECUTIVE_FAILURES, SOURCE_WATERMARK_LAG):
                with contextlib.suppress(KeyError):
                    gauge.remove(gone)
        self._known_gauges = seen
