"""A polled batch of Kafka records → the events to store (already summarised for the
rollups), the records to dead-letter, and the offsets to commit. Pure: no I/O (the writer
owns it).

Nothing here may raise: a message that cannot be decoded is a dead letter, and an event
that the summariser cannot take (a value or time past what the rollups hold) marks the
batch `unprepared`, which the consumer treats like a data error from the store: it splits
the batch until that message is isolated (`Batch.of` rebuilds a part from its records).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from aiokafka import ConsumerRecord, TopicPartition

from northstar.events.codec import Decoded, Rejected, decode_message, decode_rows, encode_events
from northstar.events.validation import DEFAULT_BOUNDS, EventBounds
from northstar.rollups.batch import BatchSummary, PreparedBatch
from northstar.rollups.batch import Record as MeasurementRow

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """What goes to the DLQ: the payload, why, and where it came from (with its key)."""

    rejected: Rejected
    topic: str
    partition: int
    offset: int
    key: bytes | None


@dataclass(slots=True)
class Batch:
    bounds: EventBounds = DEFAULT_BOUNDS
    events: int = 0  # decoded, valid (duplicates within the batch included)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    # partition -> (first offset, next offset to consume)
    offsets: dict[TopicPartition, tuple[int, int]] = field(default_factory=dict)
    newest_timestamp_ms: int = 0
    oldest_timestamp_ms: int = 0
    # The records themselves, kept so a part of the batch can be rebuilt when it is split.
    records: list[Record] = field(default_factory=list)
    # The events unique by (source, event_id), summarised for the rollups as decoded.
    pending: PreparedBatch = field(default_factory=PreparedBatch)
    # Why the events could not be prepared for the store (None when they could).
    unprepared: str | None = None
    # The consumer's bookkeeping across retries: the decode dead letters went out, the
    # messages it dead-lettered after splitting (topic, partition, offset), and the events
    # the cardinality limits refused that went out (source, event id).
    dead_letters_sent: bool = False
    isolated: set[tuple[str, int, int]] = field(default_factory=set)
    refused_sent: set[tuple[str, str]] = field(default_factory=set)
    # When (wall clock, seconds) the batch's first records came back from a poll, and the
    # milliseconds each later step took: logged with the committed batch, read by the
    # end-to-end bench (docs/performance.md, "end to end").
    polled_at: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[Record], bounds: EventBounds) -> Batch:
        """A batch of `records`, decoded afresh (a part of a batch being split)."""
        batch = cls(bounds=bounds)
        for record in records:
            batch.add(record)
        return batch

    @property
    def messages(self) -> int:
        return len(self.records)

    @property
    def commit_offsets(self) -> dict[TopicPartition, int]:
        return {tp: end for tp, (_, end) in self.offsets.items()}

    def describe(self) -> str:
        return ",".join(
            f"{tp.partition}:{start}-{end - 1}" for tp, (start, end) in sorted(self.offsets.items())
        )

    def add(self, record: Record) -> None:
        """Decode one record into the batch."""
        tp = TopicPartition(record.topic, record.partition)
        self.records.append(record)
        first = self.offsets.get(tp, (record.offset, 0))[0]
        self.offsets[tp] = (first, record.offset + 1)
        self.newest_timestamp_ms = max(self.newest_timestamp_ms, record.timestamp)
        if not self.oldest_timestamp_ms or record.timestamp < self.oldest_timestamp_ms:
            self.oldest_timestamp_ms = record.timestamp
        # The partition is the shard of the catalogue's activity counters: the series of
        # a partition are written by its owner alone.
        rows = _decode_rows(record.value, self.bounds)
        if rows is not None:  # the common case: every event plainly valid
            self.events += len(rows[0])
            if self.unprepared is None:
                try:
                    self.pending.add_records(rows[0], salt=rows[1], shard=record.partition)
                except (ValueError, OverflowError, TypeError) as error:
                    self.unprepared = f"cannot summarise: {error!r}"
            return
        decoded = _decode(record.value, self.bounds)
        self.events += len(decoded.events)
        if self.unprepared is None:
            try:
                self.pending.add(decoded.events, salt=decoded.salt, shard=record.partition)
            except (ValueError, OverflowError, TypeError) as error:
                self.unprepared = f"cannot summarise: {error!r}"
        self.dead_letters.extend(
            DeadLetter(r, record.topic, record.partition, record.offset, record.key)
            for r in decoded.rejected
        )

    def prepare(self) -> BatchSummary | None:
        """The batch's summary for the rollups, computed once its records are decoded
        and again only if more were added since (see `EvaluatorLoop.run`); cached, so the
        writer reuses it. None when the events could not be summarised (`unprepared`
        says why)."""
        if self.unprepared is not None:
            return None
        try:
            summary = self.pending.summary()
        except (ValueError, OverflowError, TypeError) as error:
            self.unprepared = f"cannot summarise: {error!r}"
            return None
        # Float addition overflows to infinity silently; PostgreSQL would store it, and
        # every KPI reading it would be infinite.
        if not all(math.isfinite(total) for rows in summary.rollups.values() for total in rows.sum):
            self.unprepared = "a rollup sum overflows to infinity"
            return None
        return summary


def _decode_rows(
    value: bytes | None, bounds: EventBounds
) -> tuple[list[MeasurementRow], int] | None:
    """`decode_rows` (the fast path), or None to let `_decode` decide: no surprise there
    may end the consumer either."""
    if not value:
        return None
    try:
        return decode_rows(value, bounds)
    except Exception:
        return None


def _decode(value: bytes | None, bounds: EventBounds) -> Decoded:
    """`decode_message`, with any surprise turned into a dead letter: no message may end
    the consumer."""
    try:
        return decode_message(value, bounds)
    except Exception as error:
        return Decoded([], [Rejected(value or b"", f"undecodable: {error!r}")])


def refused_letters(
    records: Iterable[Record], reasons: Mapping[tuple[str, str], str], bounds: EventBounds
) -> list[DeadLetter]:
    """The dead letters of events refused by the store (by `(source, event_id)`, with the
    reason): each event alone in a message of the events format, with the origin and key
    of the message that carried it. Only the store's rare refusals pay for decoding the
    messages again."""
    letters: list[DeadLetter] = []
    left = dict(reasons)
    for record in records:
        for event in _decode(record.value, bounds).events:
            reason = left.pop((event.source, event.event_id), None)
            if reason is not None:
                letters.append(
                    DeadLetter(
                        Rejected(encode_events([event]), reason),
                        record.topic,
                        record.partition,
                        record.offset,
                        record.key,
                    )
                )
        if not left:
            break
    return letters
