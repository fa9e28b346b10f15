"""The outbox relay: committed side effects → `northstar.alerts` and webhook deliveries.

State changes write their events to the `outbox` table in their own transaction
(`northstar.outbox.add_event`). This background task of the evaluator turns committed
rows into effects, one batch per transaction:

    lock a batch of unrelayed rows (FOR UPDATE SKIP LOCKED, oldest first; `_lock_batch`)
      → encode their envelopes (`_Batch.encode`)
      → publish the `alert.*` ones to Kafka and wait for acks=all (`_publish_alerts`)
      → publish the `metric.recorded` ones (check-in values) to the events topic, in the
        events format, and wait for acks=all: from there they take the pushed events' path
        (`_publish_metric_events`)
      → queue one `webhook_deliveries` row per subscribed, active webhook
        (`_queue_deliveries`)
      → hand each event over to the people path: the grouped message of every channel
        subscribed to it (`northstar.notify.queue.queue_event_messages`)
      → mark the rows relayed, park the unpublishable → commit
      → after the commit: count, and nudge the dispatcher and the notifier (`_after_commit`)

If Kafka is unreachable the transaction rolls back and the batch is tried again later, so
nothing committed is ever lost; a crash between the broker's ack and the commit republishes the
batch. Delivery is therefore at least once: consumers dedupe on the envelope's `id`.
Webhook deliveries cannot be duplicated by a retry (unique on `(webhook_id, event_id)`).
The SQL of every step is `northstar.outbox.repository.OutboxRepository`.

An event that can never be published (its envelope cannot be encoded, or the broker
refuses that one message for good, e.g. as too large) is parked instead: `parked_at` and
`parked_reason` set, counted in `northstar_outbox_parked`, and the rows behind it go on.
Numbers are published as JSON numbers whatever their size: JSONB hands back integers
beyond 64 bits (a target of 1e30 is stored as numeric), which are sent as floats.

Ordering: a transaction-scoped advisory lock lets one relay work at a time across
replicas, so one goal's events reach its Kafka partition in the order they were written.
`SKIP LOCKED` is kept as well, so that even without the lock two relays could never
hold the same row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.crypto import SecretBox
from northstar.events.model import MetricEvent
from northstar.events.validation import parse_timestamp
from northstar.kafka import Topics, ensure_topics, producer, send_events
from northstar.notify.queue import queue_event_messages
from northstar.notify.queue import sealer as _sealer
from northstar.notify.repository import NotifyRepository
from northstar.notify.rows import RelayedEvent
from northstar.outbox import ALERT_EVENT_TYPES, METRIC_EVENT_TYPE
from northstar.outbox.repository import Backlog, OutboxRepository, OutboxRow
from northstar.telemetry import (
    EVALUATOR_ERRORS,
    OUTBOX_LAG,
    OUTBOX_PARKED,
    OUTBOX_PARKED_TOTAL,
    OUTBOX_PENDING,
    OUTBOX_RELAYED,
)
from services.evaluator.settings import EvaluatorSettings

log = logging.getLogger(__name__)

_INT64 = range(-(2**63), 2**63)


def encode_envelope(
    event_id: uuid.UUID, type_: str, occurred_at: datetime, data: Mapping[str, Any]
) -> bytes:
    """The published form of an event, for Kafka and webhooks alike (SPEC §6):
    `{"id", "type", "occurred_at", "data"}`, UTF-8 JSON, `occurred_at` in RFC 3339 UTC.
    Integers beyond 64 bits become floats (orjson refuses them, and most consumers'
    JSON parsers would lose them anyway)."""
    return orjson.dumps(
        {
            "id": str(event_id),
            "type": type_,
            "occurred_at": occurred_at,
            "data": _publishable(data),
        },
        option=orjson.OPT_UTC_Z,
    )


def metric_event(data: Mapping[str, Any]) -> MetricEvent:
    """The `metric.recorded` outbox row's event object, as the events topic carries it."""
    return MetricEvent(
        event_id=str(data["event_id"]),
        source=str(data["source"]),
        metric=str(data["metric"]),
        value=float(data["value"]),
        timestamp=parse_timestamp(str(data["timestamp"])),
        dimensions={str(k): str(v) for k, v in dict(data.get("dimensions") or {}).items()},
    )


def _publishable(value: Any) -> Any:
    if value.__class__ is int and value not in _INT64:
        return float(value)
    if isinstance(value, Mapping):
        return {k: _publishable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_publishable(v) for v in value]
    return value


@dataclass(slots=True)
class _Batch:
    """The rows of one pass, their envelopes, and those parked (by outbox id, why)."""

    rows: Sequence[Any]
    encoded: list[tuple[Any, bytes]]
    parked: dict[int, str]

    @classmethod
    def encode(cls, rows: Sequence[Any]) -> _Batch:
        """Each row's envelope; a row whose envelope cannot be encoded is parked."""
        parked: dict[int, str] = {}
        encoded = []
        for row in rows:
            try:
                body = encode_envelope(row.event_id, row.type, row.occurred_at, row.data)
            except (TypeError, ValueError) as error:
                parked[row.id] = f"cannot encode: {error}"
            else:
                encoded.append((row, body))
        return cls(rows, encoded, parked)

    def alerts(self) -> list[tuple[Any, bytes]]:
        """The `alert.*` rows, for `northstar.alerts`."""
        return [(row, body) for row, body in self.encoded if row.type in ALERT_EVENT_TYPES]

    def sendable(self) -> list[tuple[Any, bytes]]:
        """The rows not parked: to webhooks and people, then marked relayed."""
        return [(row, body) for row, body in self.encoded if row.id not in self.parked]


class OutboxRelay:
    """Background task: relay committed outbox rows. `nudge()` wakes it at once."""

    def __init__(
        self,
        settings: EvaluatorSettings,
        engine: AsyncEngine,
        *,
        on_deliveries_queued: Callable[[], None] | None = None,
        on_messages_queued: Callable[[], None] | None = None,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._topic = Topics.with_prefix(settings.topic_prefix).alerts
        self._events_topic = Topics.with_prefix(settings.topic_prefix).events
        self._on_deliveries_queued = on_deliveries_queued
        self._on_messages_queued = on_messages_queued
        self._group_window = timedelta(seconds=settings.notification_group_window_seconds)
        # Owners' default critical-alert emails need email (and seal the address).
        box = SecretBox.from_settings(settings.encryption_keys, settings.database_url)
        self._seal = _sealer(box) if settings.smtp_host else None
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # Bound on one publish (metadata + acks), so a dead broker cannot hold the
        # batch's row locks open indefinitely.
        self._publish_timeout = 2 * settings.kafka_request_timeout_ms / 1000 + 1
        self.backlog = Backlog()

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
                except Exception:
                    EVALUATOR_ERRORS.labels(stage="outbox_relay").inc()
                    log.exception("outbox relay failed; retrying", extra={"retry_in_s": delay})
                    await self._observe_backlog()  # a stuck relay shows as a growing backlog
                    await self._close_producer()
                    await self._sleep(delay)
                    delay = min(delay * 2, self._settings.retry_backoff_max_seconds)
                    continue
                await self._observe_backlog()
                delay = self._settings.outbox_poll_interval_seconds
                if relayed < self._settings.outbox_batch_size:
                    await self._sleep(self._settings.outbox_poll_interval_seconds)
        finally:
            await self._close_producer()
            log.info("outbox relay stopped")

    async def relay_once(self) -> int:
        """Relay one batch in one transaction; return how many rows it relayed. The chain
        of the module doc, one named step a line; the nudges go after the commit."""
        async with self._engine.begin() as conn:
            outbox = OutboxRepository(conn)
            rows = await self._lock_batch(outbox)
            if not rows:
                return 0
            batch = _Batch.encode(rows)
            batch.parked.update(await self._publish_alerts(batch.alerts()))
            await self._publish_metric_events(batch)
            queued = await outbox.queue_deliveries(batch.sendable())
            notified = await queue_event_messages(
                NotifyRepository(conn),
                [
                    RelayedEvent(r.event_id, r.type, r.occurred_at, r.data)
                    for r, _ in batch.sendable()
                ],
                datetime.now(UTC),
                window=self._group_window,
                seal=self._seal,
            )
            await outbox.mark_relayed([row.id for row, _ in batch.sendable()])
            await self._park(outbox, batch.parked)
        self._after_commit(batch, queued, notified)
        return len(rows)

    async def _lock_batch(self, outbox: OutboxRepository) -> list[OutboxRow]:
        """The oldest unrelayed, unparked rows, locked; none while another replica holds
        the relay's advisory lock (it will take these rows)."""
        if not await outbox.try_relay_lock():
            return []
        return await outbox.unrelayed(self._settings.outbox_batch_size)

    async def _publish_alerts(self, alerts: Sequence[tuple[Any, bytes]]) -> dict[int, str]:
        return await self._publish(alerts) if alerts else {}

    async def _publish_metric_events(self, batch: _Batch) -> None:
        """Check-in values to the events topic; a row that is no metric event is parked."""
        metric_events = []
        for row, _ in batch.encoded:
            if row.type == METRIC_EVENT_TYPE:
                try:
                    metric_events.append(metric_event(row.data))
                except (KeyError, TypeError, ValueError) as error:
                    batch.parked[row.id] = f"not a metric event: {error!r}"
        if metric_events:
            await self._publish_events(metric_events)

    def _after_commit(self, batch: _Batch, queued: int, notified: int) -> None:
        """Count, log, and wake the dispatcher and the notifier (after the commit: what
        they would look for is now visible)."""
        OUTBOX_RELAYED.inc(len(batch.rows) - len(batch.parked))
        log.debug(
            "outbox relayed",
            extra={
                "events": len(batch.rows),
                "published": len(batch.alerts()),
                "deliveries": queued,
                "notifications": notified,
            },
        )
        if queued and self._on_deliveries_queued is not None:
            self._on_deliveries_queued()
        if notified and self._on_messages_queued is not None:
            self._on_messages_queued()

    async def _park(self, outbox: OutboxRepository, parked: Mapping[int, str]) -> None:
        """Set aside the events that can never be published, with their reason."""
        for row_id, reason in parked.items():
            log.error("outbox event parked", extra={"outbox_id": row_id, "reason": reason})
            await outbox.park(row_id, reason)
        OUTBOX_PARKED_TOTAL.inc(len(parked))

    async def _publish(self, messages: Sequence[tuple[Any, bytes]]) -> dict[int, str]:
        """Send every message and wait until the broker acknowledged all of them. Returns
        the rows the broker refused for good (by outbox id, with the reason); raises when
        the broker is unreachable (every message is then retried)."""
        kafka = await self._connected_producer()

        async def send_all() -> list[BaseException | object]:
            acks = []
            for row, body in messages:
                try:
                    acks.append(await kafka.send(self._topic, value=body, key=row.key.encode()))
                except (KafkaError, ValueError, TypeError) as error:
                    if _retriable(error):
                        raise
                    acks.append(_failed(error))
            return list(await asyncio.gather(*acks, return_exceptions=True))

        results = await asyncio.wait_for(send_all(), self._publish_timeout)
        refused: dict[int, str] = {}
        for (row, _), result in zip(messages, results, strict=True):
            if isinstance(result, BaseException):
                if _retriable(result):
                    raise result
                refused[row.id] = f"refused by Kafka: {type(result).__name__}: {result}"
        return refused

    async def _publish_events(self, events: Sequence[MetricEvent]) -> None:
        kafka = await self._connected_producer()
        await asyncio.wait_for(
            send_events(kafka, self._events_topic, events), self._publish_timeout
        )

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
        """Update the backlog gauges; a database away leaves the last figures."""
        try:
            await self._measure_backlog()
        except Exception as error:
            log.warning("measuring the outbox backlog failed", extra={"error": repr(error)})

    async def _measure_backlog(self) -> None:
        window = timedelta(hours=self._settings.outbox_parked_window_hours)
        async with self._engine.connect() as conn:
            self.backlog = await OutboxRepository(conn).backlog(window)
        OUTBOX_PENDING.set(self.backlog.pending)
        OUTBOX_LAG.set(self.backlog.oldest_age)
        OUTBOX_PARKED.set(self.backlog.parked)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)


def _retriable(error: BaseException) -> bool:
    """True for a broker that is away (retry the batch), False for a refusal of this one
    message (park it): Kafka marks its errors, and encoding errors are never retriable."""
    if isinstance(error, KafkaError):
        return bool(error.retriable) or "Connection" in type(error).__name__
    return not isinstance(error, ValueError | TypeError)


def _failed(error: BaseException) -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_exception(error)
    return future
