"""The outbox relay: committed side effects → `northstar.alerts` and webhook deliveries.

State changes write their events to the `outbox` table in their own transaction
(`northstar.outbox.add_event`). This background task of the evaluator turns committed
rows into effects, one batch per transaction:

    lock a batch of unrelayed rows (FOR UPDATE SKIP LOCKED, oldest first)
      → publish the `alert.*` ones to Kafka and wait for acks=all
      → queue one `webhook_deliveries` row per subscribed, active webhook
      → mark the rows relayed → commit

If Kafka fails the transaction rolls back and the batch is tried again later, so nothing
committed is ever lost; a crash between the broker's ack and the commit republishes the
batch. Delivery is therefore at least once: consumers dedupe on the envelope's `id`.
Webhook deliveries cannot be duplicated by a retry (unique on `(webhook_id, event_id)`).

Ordering: a transaction-scoped advisory lock lets one relay work at a time across
replicas, so one goal's events reach its Kafka partition in the order they were written.
`SKIP LOCKED` is kept as well, so that even without the lock two relays could never
hold the same row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from northstar.db.models import OutboxEvent
from northstar.kafka import Topics, ensure_topics, producer
from northstar.outbox import ALERT_EVENT_TYPES
from northstar.telemetry import EVALUATOR_ERRORS, OUTBOX_LAG, OUTBOX_PENDING, OUTBOX_RELAYED
from services.evaluator.settings import EvaluatorSettings

log = logging.getLogger(__name__)

# Arbitrary but fixed: the advisory lock key that makes one relay work at a time.
_RELAY_LOCK = 0x6E73_6F75_7462_6F78  # "nsoutbox"

_QUEUE_DELIVERIES = text(
    """
    INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, next_attempt_at)
    SELECT gen_random_uuid(), w.id, e.event_id, e.type, e.body, now()
    FROM unnest(CAST(:event_ids AS uuid[]), CAST(:types AS text[]), CAST(:bodies AS bytea[]))
         AS e(event_id, type, body)
    JOIN webhooks AS w ON w.deleted_at IS NULL AND e.type = ANY(w.events)
    ON CONFLICT (webhook_id, event_id) DO NOTHING
    RETURNING id
    """
)


def encode_envelope(
    event_id: uuid.UUID, type_: str, occurred_at: datetime, data: Mapping[str, Any]
) -> bytes:
    """The published form of an event, for Kafka and webhooks alike (SPEC §6):
    `{"id", "type", "occurred_at", "data"}`, UTF-8 JSON, `occurred_at` in RFC 3339 UTC."""
    return orjson.dumps(
        {"id": str(event_id), "type": type_, "occurred_at": occurred_at, "data": data},
        option=orjson.OPT_UTC_Z,
    )


class OutboxRelay:
    """Background task: relay committed outbox rows. `nudge()` wakes it at once."""

    def __init__(
        self,
        settings: EvaluatorSettings,
        engine: AsyncEngine,
        *,
        on_deliveries_queued: Callable[[], None] | None = None,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._topic = Topics.with_prefix(settings.topic_prefix).alerts
        self._on_deliveries_queued = on_deliveries_queued
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # Bound on one publish (metadata + acks), so a dead broker cannot hold the
        # batch's row locks open indefinitely.
        self._publish_timeout = 2 * settings.kafka_request_timeout_ms / 1000 + 1

    def nudge(self) -> None:
        """Relay now instead of at the next poll (call after committing outbox rows)."""
        self._wake.set()

    def request_stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Relay until `request_stop()`; failures are logged, counted and retried."""
        delay = self._settings.outbox_poll_interval_seconds
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                try:
                    relayed = await self.relay_once()
                    await self._observe_backlog()
                except Exception:
                    EVALUATOR_ERRORS.labels(stage="outbox_relay").inc()
                    log.exception("outbox relay failed; retrying", extra={"retry_in_s": delay})
                    await self._close_producer()
                    await self._sleep(delay)
                    delay = min(delay * 2, self._settings.retry_backoff_max_seconds)
                    continue
                delay = self._settings.outbox_poll_interval_seconds
                if relayed < self._settings.outbox_batch_size:
                    await self._sleep(self._settings.outbox_poll_interval_seconds)
        finally:
            await self._close_producer()
            log.info("outbox relay stopped")

    async def relay_once(self) -> int:
        """Relay one batch in one transaction; return how many rows it relayed."""
        async with self._engine.begin() as conn:
            if not await conn.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _RELAY_LOCK}
            ):
                return 0  # another replica is relaying; it will take these rows
            rows = (
                await conn.execute(
                    select(
                        OutboxEvent.id,
                        OutboxEvent.event_id,
                        OutboxEvent.type,
                        OutboxEvent.occurred_at,
                        OutboxEvent.key,
                        OutboxEvent.data,
                    )
                    .where(OutboxEvent.relayed_at.is_(None))
                    .order_by(OutboxEvent.id)
                    .limit(self._settings.outbox_batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            bodies = [
                encode_envelope(row.event_id, row.type, row.occurred_at, row.data) for row in rows
            ]
            alerts = [
                (row.key, body)
                for row, body in zip(rows, bodies, strict=True)
                if row.type in ALERT_EVENT_TYPES
            ]
            if alerts:
                await self._publish(alerts)
            queued = await self._queue_deliveries(conn, rows, bodies)
            await conn.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([row.id for row in rows]))
                .values(relayed_at=func.now())
            )
        OUTBOX_RELAYED.inc(len(rows))
        log.debug(
            "outbox relayed",
            extra={"events": len(rows), "published": len(alerts), "deliveries": queued},
        )
        if queued and self._on_deliveries_queued is not None:
            self._on_deliveries_queued()
        return len(rows)

    async def _queue_deliveries(
        self, conn: AsyncConnection, rows: Sequence[Any], bodies: Sequence[bytes]
    ) -> int:
        """One pending delivery per active webhook subscribed to each event's type."""
        result = await conn.execute(
            _QUEUE_DELIVERIES,
            {
                "event_ids": [row.event_id for row in rows],
                "types": [row.type for row in rows],
                "bodies": list(bodies),
            },
        )
        return len(result.all())

    async def _publish(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Send every message and wait until the broker acknowledged all of them."""
        kafka = await self._connected_producer()

        async def send_all() -> None:
            acks = [
                await kafka.send(self._topic, value=body, key=key.encode())
                for key, body in messages
            ]
            await asyncio.gather(*acks)

        await asyncio.wait_for(send_all(), self._publish_timeout)

    async def _connected_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            await ensure_topics(self._settings)
            kafka = producer(self._settings, client_id="northstar-evaluator-relay", linger_ms=0)
            try:
                await kafka.start()
            except BaseException:
                await kafka.stop()
                raise
            self._producer = kafka
        return self._producer

    async def _close_producer(self) -> None:
        """Drop the producer after a failure; the next batch connects afresh."""
        kafka, self._producer = self._producer, None
        if kafka is not None:
            try:
                await asyncio.wait_for(kafka.stop(), self._publish_timeout)
            except Exception:
                log.warning("closing the relay's Kafka producer failed", exc_info=True)

    async def _observe_backlog(self) -> None:
        async with self._engine.connect() as conn:
            pending, oldest = (
                await conn.execute(
                    select(func.count(), func.min(OutboxEvent.occurred_at)).where(
                        OutboxEvent.relayed_at.is_(None)
                    )
                )
            ).one()
        OUTBOX_PENDING.set(pending)
        OUTBOX_LAG.set(max(0.0, time.time() - oldest.timestamp()) if oldest else 0.0)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
