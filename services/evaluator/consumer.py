"""The evaluator's consumer loop: a chain of steps that ends in a commit.

    poll → decode + summarise (bad → DLQ) → store + evaluate in one transaction
         → commit transaction → commit offsets → publish side effects

The next batch is polled and decoded while the current one is being written: decoding
is Python work and writing is mostly PostgreSQL's, so on two cores they overlap (the
decoder yields to the event loop after every message, so the writer's round trips are
never held up for long). Offsets are still committed strictly in batch order, each only
after its own transaction. A batch polled before a rebalance is dropped unprocessed: its
records are read again, by whoever owns their partitions now, from the committed offsets.

Offsets are committed only after the database transaction holding their effects has
committed, so a crash at any point means redelivery, never loss; redelivery is harmless
because the sink dedupes on `(source, event_id)`. A failed batch is retried in place
with capped backoff, committing nothing until it succeeds (heartbeats go on, so the
consumer keeps its group membership). A rebalance waits for the batch in flight to finish
and commit before partitions move.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.kafka import Topics, ensure_topics, producer
from northstar.logs import log_context
from northstar.rollups.writer import MeasurementWriter, TouchedMetric
from northstar.telemetry import (
    EVALUATOR_BATCH_DURATION,
    EVALUATOR_CONSUMER_LAG,
    EVALUATOR_ERRORS,
    EVALUATOR_EVENTS,
    EVALUATOR_LAST_EVENT_TIMESTAMP,
)
from services.evaluator.decode import Batch
from services.evaluator.settings import EvaluatorSettings

log = logging.getLogger(__name__)

# Called inside the batch transaction with the metrics that received new events; returns
# a callable to run after the commit (publishing side effects), or None.
AfterCommit = Callable[[], Awaitable[None]]
AfterStore = Callable[
    [AsyncConnection, Sequence[TouchedMetric], datetime], Awaitable[AfterCommit | None]
]


class _WaitForBatch(ConsumerRebalanceListener):  # type: ignore[misc]
    """Partitions are only given up once the batch in flight has committed."""

    def __init__(self, lock: asyncio.Lock, on_revoked: Callable[[], None]) -> None:
        self._lock = lock
        self._on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._on_revoked()
        async with self._lock:
            log.info(
                "partitions revoked", extra={"partitions": sorted(tp.partition for tp in revoked)}
            )

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
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
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._after_store = after_store
        self._topics = Topics.with_prefix(settings.topic_prefix)
        self._repository = MeasurementWriter()
        self._stopping = asyncio.Event()
        self._in_flight = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        # Bumped on every revocation: a batch polled under an older generation is dropped.
        self._generation = 0
        self.connected = False

    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        await self._connect()
        prefetch: asyncio.Task[tuple[int, Batch | None]] | None = None
        try:
            while not self._stopping.is_set():
                generation, batch = await (prefetch or self._poll())
                prefetch = None
                if batch is None or generation != self._generation:
                    continue
                await self._top_up(batch)
                prefetch = asyncio.create_task(self._poll())
                async with self._in_flight:
                    with log_context(batch=batch.describe()):
                        await self._handle(batch)
        finally:
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
                    listener=_WaitForBatch(self._in_flight, self._revoked),
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

    # -- the chain -------------------------------------------------------------------------

    def _revoked(self) -> None:
        self._generation += 1

    async def _poll(self) -> tuple[int, Batch | None]:
        """The next batch, decoded, with the generation it was polled under."""
        assert self._consumer is not None
        generation = self._generation
        records = await self._consumer.getmany(
            timeout_ms=self._settings.poll_timeout_ms, max_records=self._settings.max_poll_records
        )
        if not records:
            await self._update_idle_lag()
            return generation, None
        batch = Batch()
        await _decode_into(batch, records)
        batch.pending.summary()  # here, rather than on the writer's critical path
        return generation, batch

    async def _top_up(self, batch: Batch) -> None:
        """Add what arrived while `batch` waited for the writer, up to a full batch, so a
        prefetched batch is as fresh as a poll made now. Without it, an event of a live
        stream that arrived just after the prefetch waited a whole batch longer (end to
        end p95 305 → 876–1,336 ms); under a backlog the batch is full and this is a no-op."""
        assert self._consumer is not None
        room = self._settings.max_poll_records - batch.messages
        if room <= 0:
            return
        await _decode_into(batch, await self._consumer.getmany(timeout_ms=0, max_records=room))

    async def _handle(self, batch: Batch) -> None:
        assert self._consumer is not None
        started = time.perf_counter()
        delay = 0.2
        while True:
            try:
                after_commit, stored = await self._process(batch)
                break
            except Exception as error:
                stage = getattr(error, "northstar_stage", "store")
                EVALUATOR_ERRORS.labels(stage=stage).inc()
                log.error(
                    "batch failed; it will be retried",
                    exc_info=True,
                    extra={"stage": stage, "retry_in_s": delay},
                )
                await self._sleep(delay)
                delay = min(delay * 2, self._settings.retry_backoff_max_seconds)
                if self._stopping.is_set():
                    # Leave without committing: the batch is redelivered to whoever is next.
                    return

        try:
            await self._consumer.commit(batch.commit_offsets)
        except (CommitFailedError, KafkaError) as error:
            # The group rebalanced under us: the new owner re-reads these offsets and the
            # idempotent sink turns the redelivery into duplicates that change nothing.
            EVALUATOR_ERRORS.labels(stage="commit").inc()
            log.warning(
                "offset commit failed; batch will be redelivered", extra={"error": repr(error)}
            )

        EVALUATOR_EVENTS.labels(outcome="stored").inc(stored)
        EVALUATOR_EVENTS.labels(outcome="duplicate").inc(batch.events - stored)
        EVALUATOR_EVENTS.labels(outcome="dead_lettered").inc(len(batch.dead_letters))
        EVALUATOR_BATCH_DURATION.observe(time.perf_counter() - started)
        EVALUATOR_LAST_EVENT_TIMESTAMP.set(batch.newest_timestamp_ms / 1000)
        EVALUATOR_CONSUMER_LAG.set(max(0.0, time.time() - batch.newest_timestamp_ms / 1000))
        # One line per committed batch, carrying its partition:offset ranges (the `batch`
        # log context): what an operator needs to trace an event through the pipeline.
        log.info(
            "batch committed",
            extra={
                "messages": batch.messages,
                "events": batch.events,
                "stored": stored,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )

        if after_commit is not None:
            try:
                await after_commit()
            except Exception:
                # Side effects go through the outbox; this is only the fast path that
                # nudges the relay, so a failure here loses nothing.
                log.exception("post-commit step failed")

    async def _process(self, batch: Batch) -> tuple[Callable[[], Awaitable[None]] | None, int]:
        await self._dead_letter(batch)
        received_at = datetime.now(UTC)
        after_commit = None
        async with self._engine.begin() as conn:
            fresh = await self._repository.store(conn, batch.pending)
            touched = (
                await self._repository.fold(conn, fresh.summary(), received_at) if fresh else []
            )
            if self._after_store is not None and touched:
                after_commit = await self._after_store(conn, touched, received_at)
        return after_commit, len(fresh)

    async def _dead_letter(self, batch: Batch) -> None:
        if not batch.dead_letters:
            return
        assert self._dlq is not None
        deliveries = []
        for letter in batch.dead_letters:
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
                await self._dlq.send(self._topics.dlq, letter.rejected.payload, headers=headers)
            )
        try:
            await asyncio.gather(*deliveries)
        except Exception as error:
            error.northstar_stage = "dead_letter"  # type: ignore[attr-defined]
            raise

    async def _update_idle_lag(self) -> None:
        """With nothing left to read on any assigned partition, the lag is zero."""
        assert self._consumer is not None
        assignment = self._consumer.assignment()
        for tp in assignment:
            highwater = self._consumer.highwater(tp)
            if highwater is None or await self._consumer.position(tp) < highwater:
                return
        if assignment:
            EVALUATOR_CONSUMER_LAG.set(0)


async def _decode_into(
    batch: Batch, records: Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]]
) -> None:
    """Decode polled records into `batch`, yielding to the event loop after each message so
    the batch being written meanwhile has its turn."""
    for messages in records.values():
        for record in messages:
            batch.add(record)
            await asyncio.sleep(0)
