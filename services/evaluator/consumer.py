"""The evaluator's consumer loop: a chain of named steps that ends in a commit.

    poll → decode → prepare (summarise) → store and evaluate (one transaction)
         → commit offsets → side effects

and beside it the judgements other replicas requested of this one, when they notify
it and no batch has done them since (`_judge_requested_forever`; the rule of one owner
per goal tree is in `services/evaluator/ownership.py`).

Each step is a method below, named after the step (`_poll`, `_decode_into`,
`Batch.prepare`, `_store_and_evaluate`, `_commit_offsets`, `_side_effects`); a step that
fails raises a `StageError` naming itself, and `_handle` decides what happens next.

The next batch is polled and decoded while the current one is being written: decoding
is Python work and writing is mostly PostgreSQL's, so on two cores they overlap (the
decoder yields to the event loop after every message, so the writer's round trips are
never held up for long). The batch summary is computed by `Batch.prepare()`: once the
poll is decoded, in the prefetch, and again in `run` after the top-up and before the
writer, where it is the cached one unless the top-up added events, so it covers exactly
the events being written. The one exception is a redelivered batch, where the
store finds events already stored and summarises the new ones alone (`PreparedBatch.only`).

Offsets are committed only after the database transaction holding their effects has
committed, so a crash at any point means redelivery, never loss; redelivery is harmless
because the sink dedupes on `(source, event_id)`. A batch polled before a rebalance is
dropped unprocessed: its records are read again, by whoever owns their partitions now.

Failures are of two kinds (`docs/architecture.md`, "When a batch fails"):
- the data: PostgreSQL refuses a value (SQLSTATE class 22) or preparing it raises
  `ValueError`/`OverflowError`. The batch is split in halves, each stored in its own
  transaction, until the messages at fault stand alone; those go to the DLQ once (the
  reason in a header, the original key kept) and everything else is stored.
- the infrastructure: the database or the broker is unreachable (anything else). The
  batch is retried in place with capped backoff, committing nothing until it succeeds
  (heartbeats go on, so the consumer keeps its group membership).
A rebalance waits for the batch in flight to finish and commit before partitions move.
Lag is measured from the broker by a watcher beside the loop (`LagWatcher`), so a
stuck batch shows as growing lag and as a failing `/readyz`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.events.codec import Rejected
from northstar.kafka import Topics, ensure_topics, producer
from northstar.logs import log_context
from northstar.rollups.writer import MeasurementWriter, RefusedEvent, TouchedMetric
from northstar.telemetry import (
    EVALUATOR_BATCH_DURATION,
    EVALUATOR_BATCH_FAILURES,
    EVALUATOR_ERRORS,
    EVALUATOR_EVENTS,
    EVALUATOR_LAST_EVENT_TIMESTAMP,
    EVALUATOR_REFUSED,
)
from services.evaluator.decode import Batch, DeadLetter, Record, refused_letters
from services.evaluator.ownership import Assignment, JudgeRequestSignal
from services.evaluator.settings import EvaluatorSettings

log = logging.getLogger(__name__)

# Called inside the batch transaction with the metrics that received new events and
# the partitions this replica holds (None while unknown); returns a callable to run
# after the commit (publishing side effects), or None.
AfterCommit = Callable[[], Awaitable[None]]
AfterStore = Callable[
    [AsyncConnection, Sequence[TouchedMetric], datetime, Assignment | None],
    Awaitable[AfterCommit | None],
]
# Called in a transaction of its own to judge what other replicas requested of this one.
JudgeRequested = Callable[[AsyncConnection, Assignment, datetime], Awaitable[AfterCommit | None]]


class Stage(StrEnum):
    """The steps of the chain that can fail (the `stage` label of the error counter)."""

    POLL = "poll"
    PREPARE = "prepare"
    STORE = "store"
    DEAD_LETTER = "dead_letter"
    COMMIT = "commit"
    SIDE_EFFECTS = "side_effects"
    JUDGE_REQUESTED = "judge_requested"


class StageError(Exception):
    """A step of the chain failed for a reason outside the data (the database or the
    broker): the batch is retried."""

    def __init__(self, stage: Stage, cause: BaseException) -> None:
        super().__init__(f"{stage} failed: {type(cause).__name__}: {cause}")
        self.stage = stage


class BadData(Exception):
    """The events of a (part of a) batch cannot be stored as they are: split it."""

    def __init__(self, stage: Stage, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


def data_problem(error: BaseException) -> str | None:
    """Why `error` is the data's fault (so the batch must be split), or None when it is
    not (so the batch is retried): a PostgreSQL data exception (SQLSTATE class 22) anywhere
    in the exception's chain, or a `ValueError`/`OverflowError` raised in Python."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        sqlstate = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(sqlstate, str):
            return f"PostgreSQL {sqlstate}: {current}" if sqlstate.startswith("22") else None
        current = getattr(current, "orig", None) or current.__cause__
    if isinstance(error, ValueError | OverflowError):
        return f"{type(error).__name__}: {error}"
    return None


@dataclass(slots=True)
class _Stored:
    """What storing a batch (perhaps in parts) achieved."""

    stored: int = 0
    isolated: int = 0
    refused: int = 0
    after_commit: list[AfterCommit] = field(default_factory=list)


class _WaitForBatch(ConsumerRebalanceListener):  # type: ignore[misc]
    """Partitions are only given up once the batch in flight has committed."""

    def __init__(
        self,
        lock: asyncio.Lock,
        on_revoked: Callable[[], None],
        on_assigned: Callable[[], None],
    ) -> None:
        self._lock = lock
        self._on_revoked = on_revoked
        self._on_assigned = on_assigned

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._on_revoked()
        async with self._lock:
            log.info(
                "partitions revoked", extra={"partitions": sorted(tp.partition for tp in revoked)}
            )

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._on_assigned()
        log.info(
            "partitions assigned", extra={"partitions": sorted(tp.partition for tp in assigned)}
        )


class EvaluatorLoop:
    def __init__(
        self,
        settings: EvaluatorSettings,
        engine: AsyncEngine,
        *,
        after_store: AfterStore | None = None,
        judge_requested: JudgeRequested | None = None,
        signal: JudgeRequestSignal | None = None,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._after_store = after_store
        self._judge_requested = judge_requested
        self._signal = signal
        # When the requests of this replica's partitions were last judged (monotonic).
        self._requests_judged_at = 0.0
        self._bounds = settings.event_bounds()
        self._topics = Topics.with_prefix(settings.topic_prefix)
        self._writer = MeasurementWriter(settings.cardinality_limits())
        self._stopping = asyncio.Event()
        self._in_flight = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        # Bumped on every revocation: a batch polled under an older generation is dropped.
        self._generation = 0
        self.connected = False
        # Consecutive failed attempts of the batch in flight, and since when it fails.
        self.failing_attempts = 0
        self.failing_since: float | None = None
        self.last_failure: str | None = None
        # Kafka timestamp (ms) of the oldest record of each batch polled and not
        # committed yet (by `id(batch)`): the prefetched one and the one being written.
        self._uncommitted: dict[int, int] = {}

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        await self._connect()
        prefetch: asyncio.Task[tuple[int, Batch | None]] | None = None
        requests = asyncio.create_task(self._judge_requested_forever(), name="judge-requests")
        try:
            while not self._stopping.is_set():
                generation, batch = await (prefetch or self._poll())
                prefetch = None
                if batch is None:
                    continue
                if generation != self._generation:
                    self._uncommitted.pop(id(batch), None)
                    continue
                await self._top_up(batch)
                prepared = time.perf_counter()
                batch.prepare()  # covers the top-up too (module docstring)
                _step(batch, "prepare", prepared)
                prefetch = asyncio.create_task(self._poll())
                async with self._in_flight:
                    batch.steps["wait_writer"] = round((time.time() - batch.polled_at) * 1000, 1)
                    with log_context(batch=batch.describe()):
                        await self._handle(batch)
        finally:
            requests.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await requests
            if prefetch is not None:
                prefetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, KafkaError):
                    await prefetch
            await self._close()

    async def check(self) -> None:
        """Readiness: connected to the group and the broker answers metadata."""
        if self._consumer is None or not self.connected:
            raise ConnectionError("not connected to Kafka")
        await self._consumer._client.fetch_all_metadata()

    def consumer(self) -> AIOKafkaConsumer | None:
        """The Kafka consumer while connected (for the lag watcher)."""
        return self._consumer if self.connected else None

    # -- set-up and tear-down ------------------------------------------------------------

    async def _connect(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._settings.kafka_bootstrap,
                group_id=self._settings.consumer_group,
                client_id="northstar-evaluator",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=self._settings.max_poll_records,
                fetch_max_bytes=32 * 1024 * 1024,
                fetch_max_wait_ms=self._settings.consumer_fetch_max_wait_ms,
                max_partition_fetch_bytes=4 * 1024 * 1024,
                session_timeout_ms=self._settings.consumer_session_timeout_ms,
                heartbeat_interval_ms=self._settings.consumer_heartbeat_interval_ms,
                request_timeout_ms=max(self._settings.kafka_request_timeout_ms, 11_000),
            )
            dlq = producer(self._settings, client_id="northstar-evaluator-dlq")
            try:
                await ensure_topics(self._settings)
                consumer.subscribe(
                    [self._topics.events],
                    listener=_WaitForBatch(self._in_flight, self._revoked, self._assigned),
                )
                await consumer.start()
                await dlq.start()
            except (KafkaError, OSError) as error:
                await consumer.stop()
                await dlq.stop()
                log.warning(
                    "Kafka unreachable, retrying", extra={"error": repr(error), "retry_in_s": delay}
                )
                await self._sleep(delay)
                delay = min(delay * 2, self._settings.retry_backoff_max_seconds)
                continue
            self._consumer, self._dlq, self.connected = consumer, dlq, True
            log.info(
                "consuming",
                extra={"topic": self._topics.events, "group": self._settings.consumer_group},
            )
            return

    async def _close(self) -> None:
        # Stopping the consumer leaves the group, so partitions move to the other replicas
        # at once instead of after the session timeout.
        async with self._in_flight:
            if self._consumer is not None:
                await self._consumer.stop()
            if self._dlq is not None:
                await self._dlq.stop()
        self.connected = False
        log.info("evaluator consumer stopped")

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _assignment(self) -> Assignment | None:
        """The events topic's partition count and the partitions this replica holds, or
        None while either is unknown (then a batch judges every goal it touched)."""
        consumer = self._consumer
        if consumer is None:
            return None
        topic = self._topics.events
        partitions = consumer.partitions_for_topic(topic)
        mine = frozenset(tp.partition for tp in consumer.assignment() if tp.topic == topic)
        if not partitions or not mine:
            return None
        return Assignment(len(partitions), mine)

    async def _judge_requested_forever(self) -> None:
        """Judge what other replicas requested of this one: when they notify it (unless
        the notification was only for other partitions), and, in case a notification
        was lost, when no batch has done it for `judge_request_poll_ms`. Runs under the
        batch lock, so it never overlaps this replica's batch or a rebalance."""
        if self._judge_requested is None:
            return
        poll = self._settings.judge_request_poll_ms / 1000
        delay = poll
        while not self._stopping.is_set():
            signalled = False
            if self._signal is None:
                await self._sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._signal.wake.wait(), delay)
                signalled = self._signal.wake.is_set()
            delay = poll
            after: AfterCommit | None = None
            async with self._in_flight:
                assignment = self._assignment()
                if signalled:
                    # Cleared even with no assignment (a rebalance): the next assignment
                    # signals again, and the poll backs it up.
                    assert self._signal is not None
                    mine = assignment.mine if assignment is not None else frozenset()
                    if not self._signal.take(mine) or assignment is None:
                        continue
                elif assignment is None or time.monotonic() - self._requests_judged_at < poll:
                    continue  # not assigned, or a batch judged them lately
                try:
                    async with self._engine.begin() as conn:
                        after = await self._judge_requested(conn, assignment, datetime.now(UTC))
                except Exception:
                    # The requests stay in the table (the delete was rolled back): the
                    # next round, or the next batch, judges them.
                    EVALUATOR_ERRORS.labels(stage=Stage.JUDGE_REQUESTED).inc()
                    log.exception("judging requested goals failed; retrying")
                    delay = self._settings.retry_backoff_max_seconds
                    continue
                self._requests_judged_at = time.monotonic()
            if after is not None:
                await self._side_effects([after])

    # -- the chain -------------------------------------------------------------------------

    def _revoked(self) -> None:
        self._generation += 1

    def _assigned(self) -> None:
        # Requests of the partitions just taken over may be waiting.
        if self._signal is not None:
            self._signal.everything()

    async def _poll(self) -> tuple[int, Batch | None]:
        """Step 1: the next records, decoded (step 2), with the generation they were
        polled under."""
        assert self._consumer is not None
        generation = self._generation
        records = await self._consumer.getmany(
            timeout_ms=self._settings.poll_timeout_ms, max_records=self._settings.max_poll_records
        )
        if not records:
            return generation, None
        batch = Batch(bounds=self._bounds, polled_at=time.time())
        decoded = time.perf_counter()
        await _decode_into(batch, records)
        batch.prepare()  # here, while the batch before is written; `run` reuses it
        _step(batch, "decode", decoded)
        self._note_uncommitted(batch)
        return generation, batch

    async def _top_up(self, batch: Batch) -> None:
        """Add what arrived while `batch` waited for the writer, up to a full batch, so a
        prefetched batch is as fresh as a poll made now (the end-to-end latency it saves is
        in docs/performance.md, "Figures the code's comments used to carry"); under a
        backlog the batch is full and this is a no-op."""
        assert self._consumer is not None
        room = self._settings.max_poll_records - batch.messages
        if room <= 0:
            return
        await _decode_into(batch, await self._consumer.getmany(timeout_ms=0, max_records=room))
        self._note_uncommitted(batch)

    def _note_uncommitted(self, batch: Batch) -> None:
        if batch.records:
            self._uncommitted[id(batch)] = min(record.timestamp for record in batch.records)

    @property
    def oldest_uncommitted_ms(self) -> int | None:
        """Kafka timestamp (ms) of the oldest record polled and not committed yet."""
        return min(self._uncommitted.values(), default=None)

    async def _handle(self, batch: Batch) -> None:
        """Steps 3-6 for one batch: store and evaluate (retrying infrastructure failures,
        splitting out bad data), commit offsets, then side effects."""
        started = time.perf_counter()
        delay = 0.2
        while True:
            try:
                result = await self._store_and_evaluate(batch)
                break
            except StageError as error:
                self._failed(error, delay)
                await self._sleep(delay)
                delay = min(delay * 2, self._settings.retry_backoff_max_seconds)
                if self._stopping.is_set():
                    # Leave without committing: the batch is redelivered to whoever is next.
                    return
        self.failing_attempts, self.failing_since, self.last_failure = 0, None, None
        EVALUATOR_BATCH_FAILURES.set(0)

        committed = time.perf_counter()
        await self._commit_offsets(batch)
        _step(batch, "commit_offsets", committed)
        EVALUATOR_EVENTS.labels(outcome="stored").inc(result.stored)
        EVALUATOR_EVENTS.labels(outcome="duplicate").inc(
            max(0, batch.events - result.stored - result.isolated - result.refused)
        )
        EVALUATOR_BATCH_DURATION.observe(time.perf_counter() - started)
        EVALUATOR_LAST_EVENT_TIMESTAMP.set(batch.newest_timestamp_ms / 1000)
        # One line per committed batch, carrying its partition:offset ranges (the `batch`
        # log context): what an operator needs to trace an event through the pipeline.
        log.info(
            "batch committed",
            extra={
                "messages": batch.messages,
                "events": batch.events,
                "stored": result.stored,
                "ms": round((time.perf_counter() - started) * 1000, 1),
                # How long the oldest record waited from its producer's timestamp until
                # it was polled, then the steps (ms); `wait_writer` is from the poll
                # until the writer was free for this batch (it includes decode and
                # prepare, which overlap the batch written before).
                "wait_poll": round(batch.polled_at * 1000 - batch.oldest_timestamp_ms, 1),
                **batch.steps,
            },
        )
        await self._side_effects(result.after_commit)

    def _failed(self, error: StageError, delay: float) -> None:
        EVALUATOR_ERRORS.labels(stage=error.stage).inc()
        self.failing_attempts += 1
        self.failing_since = self.failing_since or time.time()
        self.last_failure = str(error)
        EVALUATOR_BATCH_FAILURES.set(self.failing_attempts)
        log.error(
            "batch failed; it will be retried",
            exc_info=error.__cause__,
            extra={"stage": error.stage, "retry_in_s": delay, "attempt": self.failing_attempts},
        )

    async def _store_and_evaluate(self, batch: Batch) -> _Stored:
        """Step 3: the decode dead letters (once per batch), then the events in one
        transaction; a part refused for its data is halved until the messages at fault
        stand alone, which are dead-lettered. Raises `StageError` for the infrastructure."""
        if not batch.dead_letters_sent:
            await self._send_dead_letters(batch.dead_letters)
            EVALUATOR_EVENTS.labels(outcome="dead_lettered").inc(len(batch.dead_letters))
            batch.dead_letters_sent = True
        result = _Stored()
        records = [r for r in batch.records if _where(r) not in batch.isolated]
        parts: list[list[Record]] = [records] if records else []
        while parts:
            part_records = parts.pop()
            whole = len(part_records) == len(batch.records)
            part = batch if whole else Batch.of(part_records, self._bounds)
            try:
                after_commit, stored, refused = await self._transaction(part)
            except BadData as bad:
                if len(part_records) > 1:
                    middle = len(part_records) // 2
                    parts += [part_records[middle:], part_records[:middle]]
                    continue
                await self._isolate(batch, part_records[0], bad, events=part.events)
                result.isolated += part.events
                continue
            result.stored += stored
            result.refused += len(refused)
            if refused:
                await self._send_refused(batch, part_records, refused)
            if after_commit is not None:
                result.after_commit.append(after_commit)
        return result

    async def _send_refused(
        self, batch: Batch, records: Sequence[Record], refused: Sequence[RefusedEvent]
    ) -> None:
        """Dead-letter the events the cardinality limits refused (their part has
        committed without them), once: a retry of the batch refuses them again, but only
        the ones not sent yet go out."""
        unsent = [r for r in refused if (r.source, r.event_id) not in batch.refused_sent]
        if not unsent:
            return
        reasons = {
            (r.source, r.event_id): f"cardinality ({r.refusal.limit}): {r.refusal.message}"
            for r in unsent
        }
        await self._send_dead_letters(refused_letters(records, reasons, self._bounds))
        batch.refused_sent.update(reasons)
        EVALUATOR_EVENTS.labels(outcome="dead_lettered").inc(len(unsent))
        for r in unsent:
            EVALUATOR_REFUSED.labels(reason=r.refusal.limit).inc()

    async def _transaction(self, part: Batch) -> tuple[AfterCommit | None, int, list[RefusedEvent]]:
        """Store and evaluate `part` in one transaction; `BadData` when PostgreSQL or the
        preparation refuses its data, `StageError` for anything else. Also answers the
        events the cardinality limits refused (to be dead-lettered after the commit)."""
        summary = part.prepare()
        if summary is None:
            raise BadData(Stage.PREPARE, part.unprepared or "cannot prepare")
        received_at = datetime.now(UTC)
        after_commit = None
        judged_requests = False
        try:
            began = time.perf_counter()
            async with self._engine.begin() as conn:
                # New dimension sets are admitted in a short transaction of their own
                # (northstar/rollups/writer.py, step 2), so replicas bringing new sets
                # of one metric do not hold each other up for a whole batch.
                stored = await self._writer.store(
                    conn, part.pending, received_at=received_at, admission=self._engine.begin
                )
                fresh = stored.fresh
                _step(part, "store", began)
                if fresh:
                    folded = summary if fresh is part.pending else fresh.summary()
                    began = time.perf_counter()
                    touched = await self._writer.fold(conn, folded, received_at)
                    _step(part, "fold", began)
                    if self._after_store is not None and touched:
                        began = time.perf_counter()
                        assignment = self._assignment()
                        after_commit = await self._after_store(
                            conn, touched, received_at, assignment
                        )
                        judged_requests = assignment is not None
                        _step(part, "judge", began)
                began = time.perf_counter()
            _step(part, "commit", began)
            if judged_requests:
                self._requests_judged_at = time.monotonic()
        except Exception as error:
            reason = data_problem(error)
            if reason is not None:
                raise BadData(Stage.STORE, reason) from error
            raise StageError(Stage.STORE, error) from error
        return after_commit, len(fresh), stored.refused

    async def _isolate(self, batch: Batch, record: Record, bad: BadData, *, events: int) -> None:
        """Dead-letter one message the store refused; it is skipped from now on, so a
        retry of the batch never sends it twice."""
        letter = DeadLetter(
            _rejected(record, f"{bad.stage}: {bad.reason}"),
            record.topic,
            record.partition,
            record.offset,
            record.key,
        )
        await self._send_dead_letters([letter])
        batch.isolated.add(_where(record))
        EVALUATOR_EVENTS.labels(outcome="dead_lettered").inc(max(1, events))

    async def _send_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Send to the DLQ with the reason, the origin and the original key."""
        if not letters:
            return
        assert self._dlq is not None
        try:
            deliveries = []
            for letter in letters:
                log.warning(
                    "dead-lettering",
                    extra={
                        "reason": letter.rejected.reason,
                        "partition": letter.partition,
                        "offset": letter.offset,
                    },
                )
                headers = [
                    ("northstar-dlq-reason", letter.rejected.reason.encode()[:4000]),
                    ("northstar-source-topic", letter.topic.encode()),
                    ("northstar-source-partition", str(letter.partition).encode()),
                    ("northstar-source-offset", str(letter.offset).encode()),
                ]
                deliveries.append(
                    await self._dlq.send(
                        self._topics.dlq, letter.rejected.payload, key=letter.key, headers=headers
                    )
                )
            await asyncio.gather(*deliveries)
        except Exception as error:
            raise StageError(Stage.DEAD_LETTER, error) from error

    async def _commit_offsets(self, batch: Batch) -> None:
        """Step 4: commit the batch's offsets (its transaction has committed)."""
        assert self._consumer is not None
        try:
            await self._consumer.commit(batch.commit_offsets)
        except (CommitFailedError, KafkaError) as error:
            # The group rebalanced under us: the new owner re-reads these offsets and the
            # idempotent sink turns the redelivery into duplicates that change nothing.
            EVALUATOR_ERRORS.labels(stage=Stage.COMMIT).inc()
            log.warning(
                "offset commit failed; batch will be redelivered", extra={"error": repr(error)}
            )
        self._uncommitted.pop(id(batch), None)

    async def _side_effects(self, after_commit: Sequence[AfterCommit]) -> None:
        """Step 5: after the commit, nudge what publishes the batch's effects."""
        for step in after_commit:
            try:
                await step()
            except Exception:
                # Side effects go through the outbox; this is only the fast path that
                # nudges the relay, so a failure here loses nothing.
                EVALUATOR_ERRORS.labels(stage=Stage.SIDE_EFFECTS).inc()
                log.exception("post-commit step failed")


def _step(batch: Batch, name: str, began: float) -> None:
    """Add the milliseconds since `began` (perf_counter) to the batch's step `name`."""
    batch.steps[name] = round(batch.steps.get(name, 0.0) + (time.perf_counter() - began) * 1000, 1)


def _where(record: Record) -> tuple[str, int, int]:
    return (record.topic, record.partition, record.offset)


def _rejected(record: Record, reason: str) -> Rejected:
    return Rejected(record.value or b"", reason)


async def _decode_into(
    batch: Batch, records: Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]
) -> None:
    """Step 2: decode polled records into `batch`, yielding to the event loop after each
    message so the batch being written meanwhile has its turn."""
    for messages in records.values():
        for record in messages:
            batch.add(record)
            await asyncio.sleep(0)
