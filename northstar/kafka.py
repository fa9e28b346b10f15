"""Kafka topics and client configuration, shared by ingest and the evaluator."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from northstar.config import KafkaSettings
from northstar.events.codec import HEADERS, MAX_EVENTS_PER_MESSAGE, encode_events
from northstar.events.model import MetricEvent
from northstar.events.routing import HotSeries, route

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Topics:
    events: str
    dlq: str
    alerts: str

    @classmethod
    def with_prefix(cls, prefix: str) -> Topics:
        return cls(events=f"{prefix}events", dlq=f"{prefix}events.dlq", alerts=f"{prefix}alerts")


def producer(settings: KafkaSettings, *, client_id: str, linger_ms: int = 5) -> AIOKafkaProducer:
    """A producer that only reports success once every in-sync replica has the message."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        # lz4 (via cramjam): cheap on CPU, and JSON event batches compress several-fold.
        compression_type="lz4",
        linger_ms=linger_ms,
        max_batch_size=1024 * 1024,
        max_request_size=8 * 1024 * 1024,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        retry_backoff_ms=100,
        metadata_max_age_ms=30_000,
    )


async def send_events(
    kafka: AIOKafkaProducer,
    topic: str,
    events: Sequence[MetricEvent],
    *,
    hot: HotSeries | None = None,
) -> None:
    """Send `events` as messages of up to `MAX_EVENTS_PER_MESSAGE` (the
    `northstar.events.codec` format), each series to its own partition
    (`northstar.events.routing`, hot series sliced over salts when `hot` is given), and
    wait until every one is acknowledged."""
    partitions = len(await kafka.partitions_for(topic))
    messages = route(
        events, partitions, hot=hot, now=time.monotonic(), max_events=MAX_EVENTS_PER_MESSAGE
    )
    deliveries = [
        await kafka.send(
            topic,
            encode_events(message.events, message.salt),
            key=message.key.encode(),
            partition=message.partition,
            headers=HEADERS,
        )
        for message in messages
    ]
    await asyncio.gather(*deliveries)


async def ensure_topics(settings: KafkaSettings) -> Topics:
    """Create the topics if they do not exist (partition count from settings).

    `events` gets `events_partitions` partitions so load spreads over evaluator
    replicas; the DLQ and alerts topics are low volume.
    """
    topics = Topics.with_prefix(settings.topic_prefix)
    wanted = {
        topics.events: settings.events_partitions,
        topics.dlq: 1,
        topics.alerts: 3,
    }
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name=name, num_partitions=partitions, replication_factor=1)
            for name, partitions in wanted.items()
            if name not in existing
        ]
        if missing:
            try:
                await admin.create_topics(missing)
                log.info("created topics", extra={"topics": [t.name for t in missing]})
            except TopicAlreadyExistsError:
                pass  # another replica created it between our list and create
    finally:
        await admin.close()
    return topics
