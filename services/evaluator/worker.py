"""The loop the webhook dispatcher and the notifier share: a durable queue worked off
with leases, retried with backoff.

Both keep their queue in a table that is also their delivery log, and both loop:

    record the results of finished attempts (one short transaction)
      → claim due rows (FOR UPDATE SKIP LOCKED; the claim moves `next_attempt_at` past
        the attempt's timeout — a lease — and commits at once)
      → attempt each in its own task, up to `max_in_flight` at a time

No transaction is open during an attempt. If the process dies mid-attempt the lease
expires and the row is tried again (at least once). What differs — the claim query, the
attempt itself and the row recorded — is in the subclasses (`dispatcher.py`,
`notifier.py`); the loop, the retry schedule and the shutdown are here, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from prometheus_client import Counter
from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.telemetry import EVALUATOR_ERRORS

log = logging.getLogger(__name__)

Outcome = Literal["delivered", "retried", "failed"]


def retry_delay(failed_attempts: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait after the `failed_attempts`-th failure: `min(cap, base·2^(n-1))`
    scaled by `0.5 + jitter`, `jitter` in [0, 1)."""
    exponent = min(failed_attempts - 1, 64)  # 2**64·base is past any sensible cap
    return min(cap, base * 2.0**exponent) * (0.5 + jitter)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    cap_seconds: float

    def settle(
        self, attempts: int, succeeded: bool, now: datetime, jitter: float
    ) -> tuple[Outcome, dict[str, object]]:
        """What an attempt leaves in its row: the new status and, for a retry, when the
        next attempt is due (from now, not from the attempt's start: a slow failure
        still waits its turn). `attempts` counts this one."""
        if succeeded:
            return "delivered", {"status": "delivered", "delivered_at": now}
        if attempts >= self.max_attempts:
            return "failed", {"status": "failed"}
        wait = retry_delay(attempts, base=self.base_seconds, cap=self.cap_seconds, jitter=jitter)
        return "retried", {"status": "pending", "next_attempt_at": now + timedelta(seconds=wait)}


class Attempted(NamedTuple):
    """One finished attempt, as the worker records it."""

    columns: dict[str, object]  # for `WorkerConfig.record`, besides the settled ones
    attempts: int  # counting this one
    attempted_at: datetime
    succeeded: bool


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    stage: str  # the `stage` label of `northstar_evaluator_errors_total`
    noun: str  # what one row is, in log lines ("webhook delivery")
    max_in_flight: int
    poll_interval_seconds: float
    backoff_max_seconds: float  # between failed claims (the database is away)
    attempt_timeout_seconds: float
    retry: RetryPolicy
    record: TextClause  # the UPDATE that records one attempt's row
    outcomes: Counter  # labelled by `outcome`


Claimed = TypeVar("Claimed")
Result = TypeVar("Result")


class QueueWorker(ABC, Generic[Claimed, Result]):
    """Background task: attempt due rows of a queue until `request_stop()`; `nudge()`
    looks for due rows at once instead of at the next poll."""

    def __init__(self, engine: AsyncEngine, config: WorkerConfig) -> None:
        self._engine = engine
        self._config = config
        self._in_flight: dict[asyncio.Task[None], Hashable] = {}
        self._finished: list[Result] = []
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    # ------------------------------------------------------------------ subclass hooks

    @abstractmethod
    async def _claim(self, free: int) -> list[Claimed]:
        """Claim (lease) at most `free` due rows."""

    @abstractmethod
    async def _attempt(self, claimed: Claimed) -> Result:
        """Attempt once and say how it went. Must not raise."""

    @abstractmethod
    def _attempted(self, result: Result) -> Attempted:
        """The attempt as recorded: its own columns (`id`, `error`…) and how it went."""

    @abstractmethod
    def _log_fields(self, result: Result) -> Mapping[str, Any]:
        """What the attempt's log line names."""

    def _group(self, claimed: Claimed) -> Hashable:
        """What an attempt in flight is counted under (the notifier limits per channel)."""
        return None

    def _session(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Held open while the worker runs (the dispatcher's HTTP client)."""
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ the loop

    def nudge(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _busy(self) -> list[Hashable]:
        """The group of every attempt in flight."""
        return list(self._in_flight.values())

    async def run(self) -> None:
        """Work until `request_stop()`, then let attempts in flight finish (up to the
        timeout) and record them; anything cut off is retried once its lease expires."""
        async with self._session():
            try:
                await self._loop()
            finally:
                await self._drain()
        log.info("%s worker stopped", self._config.noun)

    async def _loop(self) -> None:
        config = self._config
        delay = config.poll_interval_seconds
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self._record_finished()
                free = config.max_in_flight - len(self._in_flight)
                claimed = await self._claim(free) if free > 0 else []
            except Exception:
                EVALUATOR_ERRORS.labels(stage=config.stage).inc()
                log.exception("%s claim failed; retrying", config.noun, extra={"retry_in_s": delay})
                await self._sleep(delay)
                delay = min(delay * 2, config.backoff_max_seconds)
                continue
            delay = config.poll_interval_seconds
            for item in claimed:
                task = asyncio.create_task(self._run_attempt(item))
                self._in_flight[task] = self._group(item)
                task.add_done_callback(self._forget)
            if claimed and len(claimed) == free:
                continue  # there may be more due; claim again once a slot frees up
            await self._sleep(config.poll_interval_seconds)

    async def _run_attempt(self, claimed: Claimed) -> None:
        self._finished.append(await self._attempt(claimed))
        self._wake.set()

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)

    async def _record_finished(self) -> None:
        if not self._finished:
            return
        results = list(self._finished)
        rows: list[dict[str, object]] = []
        outcomes: list[Outcome] = []
        now = datetime.now(UTC)
        for result in results:
            attempted = self._attempted(result)
            outcome, settled = self._config.retry.settle(
                attempted.attempts, attempted.succeeded, now, random.random()
            )
            rows.append(
                {
                    **attempted.columns,
                    "attempts": attempted.attempts,
                    "attempted_at": attempted.attempted_at,
                    "delivered_at": None,
                    "next_attempt_at": attempted.attempted_at,
                    **settled,
                }
            )
            outcomes.append(outcome)
        async with self._engine.begin() as conn:
            await conn.execute(self._config.record, rows)
        # Only now: if the write failed, the results stay queued and are written next time.
        del self._finished[: len(results)]
        for result, outcome in zip(results, outcomes, strict=True):
            self._config.outcomes.labels(outcome=outcome).inc()
            log.log(
                logging.DEBUG if outcome == "delivered" else logging.INFO,
                f"{self._config.noun} {outcome}",
                extra=dict(self._log_fields(result)),
            )

    async def _drain(self) -> None:
        if self._in_flight:
            _, pending = await asyncio.wait(
                list(self._in_flight), timeout=self._config.attempt_timeout_seconds + 1
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            await self._record_finished()
        except Exception:
            EVALUATOR_ERRORS.labels(stage=self._config.stage).inc()
            log.exception(
                "recording %s results at shutdown failed; they will be retried",
                self._config.noun,
            )

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
