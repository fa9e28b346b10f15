"""How far behind the pipeline is, measured from outside the batch path.

The consumer loop cannot report its own stall: a batch that keeps failing never reaches
the line that would set a gauge. So a watcher beside it asks the broker every few
seconds for the high-water mark of each partition the evaluator owns and for the group's
committed offset there: the difference is the lag in messages. The lag in seconds is the
age of the oldest event polled and not committed yet (0 when nothing is behind). Both
grow while a batch is retried, whether or not anything succeeds.

`/readyz` names the problems that need an operator (`PipelineHealth`): a batch failing
again and again, a lag past its threshold, outbox events waiting too long, parked ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from aiokafka import TopicPartition

from northstar.telemetry import EVALUATOR_CONSUMER_LAG, EVALUATOR_CONSUMER_LAG_MESSAGES
from services.evaluator.consumer import EvaluatorLoop
from services.evaluator.outbox.relay import OutboxRelay

log = logging.getLogger(__name__)


class NotReady(Exception):
    """A readiness problem, worded for the operator reading `/readyz`."""


@dataclass(slots=True)
class Lag:
    messages: int = 0
    seconds: float = 0.0


class LagWatcher:
    """Background task: measure the consumer's lag from the broker every `interval`."""

    def __init__(self, loop: EvaluatorLoop, *, interval: float) -> None:
        self._loop = loop
        self._interval = interval
        self.lag = Lag()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                self.lag = await self.measure()
            except Exception as error:  # the broker away: keep the last figures
                log.warning("measuring consumer lag failed", extra={"error": repr(error)})
            else:
                EVALUATOR_CONSUMER_LAG_MESSAGES.set(self.lag.messages)
                EVALUATOR_CONSUMER_LAG.set(self.lag.seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._interval)

    async def measure(self) -> Lag:
        consumer = self._loop.consumer()
        if consumer is None:
            return self.lag
        assignment = sorted(consumer.assignment())
        if not assignment:
            return Lag()
        ends: dict[TopicPartition, int] = await consumer.end_offsets(assignment)
        starts: dict[TopicPartition, int] | None = None
        behind = 0
        for tp in assignment:
            committed = await consumer.committed(tp)
            if committed is None:
                starts = starts or await consumer.beginning_offsets(assignment)
                committed = starts[tp]
            behind += max(0, ends[tp] - committed)
        oldest = self._loop.oldest_uncommitted_ms
        seconds = max(0.0, time.time() - oldest / 1000) if behind and oldest else 0.0
        return Lag(behind, seconds)


class PipelineHealth:
    """The pipeline's readiness checks, each raising `NotReady` naming the problem."""

    def __init__(
        self,
        loop: EvaluatorLoop,
        watcher: LagWatcher,
        relay: OutboxRelay,
        *,
        failed_attempts: int,
        max_lag_seconds: float,
        outbox_max_age_seconds: float,
    ) -> None:
        self._loop = loop
        self._watcher = watcher
        self._relay = relay
        self._failed_attempts = failed_attempts
        self._max_lag = max_lag_seconds
        self._outbox_max_age = outbox_max_age_seconds

    async def consumer(self) -> None:
        loop = self._loop
        problems = []
        if loop.failing_attempts >= self._failed_attempts:
            since = time.time() - (loop.failing_since or time.time())
            problems.append(
                f"a batch has failed {loop.failing_attempts} times in a row for {since:.0f} s "
                f"(last: {loop.last_failure})"
            )
        lag = self._watcher.lag
        if lag.seconds > self._max_lag:
            problems.append(
                f"{lag.messages} messages behind; the oldest uncommitted event is "
                f"{lag.seconds:.0f} s old (threshold {self._max_lag:g} s)"
            )
        if problems:
            raise NotReady("; ".join(problems))

    async def outbox(self) -> None:
        backlog = self._relay.backlog
        problems = []
        if backlog.oldest_age > self._outbox_max_age:
            problems.append(
                f"{backlog.pending} events waiting, the oldest for {backlog.oldest_age:.0f} s "
                f"(threshold {self._outbox_max_age:g} s)"
            )
        if backlog.parked:
            problems.append(
                f"{backlog.parked} events parked as unpublishable (see outbox.parked_reason)"
            )
        if problems:
            raise NotReady("; ".join(problems))
