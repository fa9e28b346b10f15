"""Hands validated events to Kafka and reports success only once the broker acknowledged.

The producer is started in the background and restarted on failure, so ingest comes up
(and answers 503 with Retry-After) while the broker is away, and recovers by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from northstar.config import KafkaSettings
from northstar.events.model import MetricEvent
from northstar.events.routing import HotSeries
from northstar.kafka import Topics, ensure_topics, producer, send_events
from northstar.telemetry import INGEST_BROKER_UP

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """Kafka did not acknowledge in time; nothing of the request counts as accepted."""


class EventPublisher:
    def __init__(
        self, settings: KafkaSettings, *, timeout: float, hot: HotSeries | None = None
    ) -> None:
        self._settings = settings
        self._timeout = timeout
        self._hot = hot
        self._topics = Topics.with_prefix(settings.topic_prefix)
        self._producer: AIOKafkaProducer | None = None
        self._ready = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._connect_forever(), name="kafka-connect")

    async def _connect_forever(self) -> None:
        delay = 0.5
        while True:
            candidate = producer(self._settings, client_id="northstar-ingest")
            try:
                await ensure_topics(self._settings)
                await candidate.start()
            except (KafkaError, OSError) as error:
                await candidate.stop()
                log.warning(
                    "Kafka unreachable, retrying", extra={"error": repr(error), "retry_in_s": delay}
                )
                INGEST_BROKER_UP.set(0)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
                continue
            self._producer = candidate
            self._ready.set()
            INGEST_BROKER_UP.set(1)
            log.info("connected to Kafka", extra={"bootstrap": self._settings.kafka_bootstrap})
            return

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
        if self._producer is not None:
            await self._producer.stop()

    async def publish(self, events: Sequence[MetricEvent]) -> None:
        """Send `events` (as messages of up to MAX_EVENTS_PER_MESSAGE, each series to its
        partition: `northstar.events.routing`) and wait for acks=all.

        Raises BrokerUnavailable if the broker has not acknowledged every message within
        the timeout. Messages already handed to the client may still arrive later; the
        client's retry is deduplicated on (source, event_id) as long as it sends its own
        event ids (see docs/ingest.md)."""
        if not self._ready.is_set() or self._producer is None:
            raise BrokerUnavailable("the connection to Kafka is not established yet")
        try:
            await asyncio.wait_for(
                send_events(self._producer, self._topics.events, events, hot=self._hot),
                self._timeout,
            )
        except (TimeoutError, KafkaError, OSError) as error:
            INGEST_BROKER_UP.set(0)
            log.warning("produce failed", extra={"error": repr(error), "events": len(events)})
            raise BrokerUnavailable(str(error) or type(error).__name__) from error
        INGEST_BROKER_UP.set(1)

    async def check(self) -> None:
        """Readiness: the producer is connected and the broker answers metadata."""
        if self._producer is None:
            raise BrokerUnavailable("not connected to Kafka")
        await self._producer.client.fetch_all_metadata()
