"""A polled batch of Kafka records → the events to store, the records to dead-letter, and
the offsets to commit. Pure: no I/O (the writer owns it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aiokafka import ConsumerRecord, TopicPartition

from northstar.events.codec import Rejected, decode_message
from northstar.events.model import MetricEvent


@dataclass(frozen=True, slots=True)
class DeadLetter:
    rejected: Rejected
    topic: str
    partition: int
    offset: int


@dataclass(slots=True)
class Batch:
    events: list[MetricEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # partition -> (first offset, next offset to consume)
    offsets: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)
    newest_timestamp_ms: int = 0
    messages: int = 0

    @property
    def commit_offsets(self) -> dict[TopicPartition, int]:
        return {tp: end for tp, (_, end) in self.offsets.items()}

    def describe(self) -> str:
        return ",".join(
            f"{tp.partition}:{start}-{end - 1}" for tp, (start, end) in sorted(self.offsets.items())
        )


def decode_batch(records: Mapping[TopicPartition, Iterable[ConsumerRecord[bytes, bytes]]]) -> Batch:
    batch = Batch()
    for tp, messages in records.items():
        for record in messages:
            batch.messages += 1
            first = batch.offsets.get(tp, (record.offset, 0))[0]
            batch.offsets[tp] = (first, record.offset + 1)
            batch.newest_timestamp_ms = max(batch.newest_timestamp_ms, record.timestamp)
            decoded = decode_message(record.value)
            batch.events.extend(decoded.events)
            batch.dead_letters.extend(
                DeadLetter(r, record.topic, record.partition, record.offset)
                for r in decoded.rejected
            )
    return batch
