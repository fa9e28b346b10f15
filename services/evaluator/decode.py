"""A polled batch of Kafka records → the events to store (already summarised for the
rollups), the records to dead-letter, and the offsets to commit. Pure: no I/O (the writer
owns it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import ConsumerRecord, TopicPartition

from northstar.events.codec import Rejected, decode_message
from northstar.rollups.batch import PreparedBatch


@dataclass(frozen=True, slots=True)
class DeadLetter:
    rejected: Rejected
    topic: str
    partition: int
    offset: int


@dataclass(slots=True)
class Batch:
    events: int = 0  # decoded, valid (duplicates within the batch included)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # partition -> (first offset, next offset to consume)
    offsets: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)
    newest_timestamp_ms: int = 0
    messages: int = 0
    # The events unique by (source, event_id), summarised for the rollups as decoded.
    pending: PreparedBatch = field(default_factory=PreparedBatch)

    @property
    def commit_offsets(self) -> dict[TopicPartition, int]:
        return {tp: end for tp, (_, end) in self.offsets.items()}

    def describe(self) -> str:
        return ",".join(
            f"{tp.partition}:{start}-{end - 1}" for tp, (start, end) in sorted(self.offsets.items())
        )

    def add(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Decode one record into the batch."""
        tp = TopicPartition(record.topic, record.partition)
        self.messages += 1
        first = self.offsets.get(tp, (record.offset, 0))[0]
        self.offsets[tp] = (first, record.offset + 1)
        self.newest_timestamp_ms = max(self.newest_timestamp_ms, record.timestamp)
        decoded = decode_message(record.value)
        self.events += len(decoded.events)
        self.pending.add(decoded.events)
        self.dead_letters.extend(
            DeadLetter(r, record.topic, record.partition, record.offset) for r in decoded.rejected
        )
