"""Which Kafka partition each event goes to: one per series, a few for a hot one.

A series is a metric and a canonical dimension set (the set as JSON with sorted keys,
`northstar.rollups.batch.canonical_dimensions`). Every rollup row belongs to one series,
so sending all of a series' events to one partition gives each rollup row one writer:
the evaluator replica that owns the partition. Replicas then never fold into the same
rows, and never wait for each other's row locks (docs/architecture.md, "One writer per series").

    request's events → grouped by series key (one dict append per event)
                     → each series: its partition, crc32(key) mod partitions
                       (or, for a hot series, a salted key per slice: below)
                     → messages of up to MAX_EVENTS_PER_MESSAGE events per
                       (partition, salt), keyed by the first series they carry

A message may carry several series, all of the same partition (one message per series
would cost a message per event for a request with many dimension sets). Its key is the
series key of its first event; the partition is named explicitly, so a producer with
another partitioner cannot move it.

**Hot series.** A series sending more than `threshold` events per second (measured by
each ingest process over one-second windows) would keep one partition, one replica, as
busy as everything else together. It is spread over `salts` sub-series: its events are
dealt out in slices, each slice keyed `<series>#<salt>` (salt 1…salts), so the slices
land on different partitions. The salt travels in the message, the evaluator folds the
slice into rollup rows whose identity includes the salt, and readers sum a series' rows
whatever their salt, as they already sum the rows of the dimension sets a query covers.
A series cools down (is unsalted again) after a window below half the threshold.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from northstar.events.model import MetricEvent


def series_key(metric: str, dimensions: str, salt: int = 0) -> str:
    """`metric{canonical dimensions}`, with `#salt` for a salted sub-series."""
    return f"{metric}{dimensions}#{salt}" if salt else f"{metric}{dimensions}"


def partition_of(key: str, partitions: int) -> int:
    """The partition of a series key: crc32 (stable across processes and languages)
    modulo the partition count."""
    return zlib.crc32(key.encode()) % partitions


@dataclass(frozen=True, slots=True)
class Message:
    """Events bound for one partition under one salt, keyed by the first series."""

    partition: int
    salt: int
    key: str
    events: list[MetricEvent]


@dataclass(slots=True)
class _Window:
    started: float
    count: int = 0


@dataclass
class HotSeries:
    """Which series are hot: over `threshold` events/s in this process's last one-second
    window (`threshold` 0: never). Cheap on the common path: only the series of
    partitions that were over the threshold are counted one by one (a series cannot be
    hotter than its partition)."""

    threshold: float
    salts: int = 4
    _partitions: dict[int, _Window] = field(default_factory=dict, init=False)
    _busy: set[int] = field(default_factory=set, init=False)
    _series: dict[str, _Window] = field(default_factory=dict, init=False)
    _hot: set[str] = field(default_factory=set, init=False)
    _next_salt: int = field(default=0, init=False)

    def is_hot(self, key: str) -> bool:
        return key in self._hot

    def observe(
        self, partition_counts: dict[int, int], series: dict[str, tuple[int, int]], now: float
    ) -> None:
        """Count a request: events per partition, and (key → partition, events) per
        series. Ends one-second windows as they pass and updates the hot set."""
        if self.threshold <= 0:
            return
        for partition, count in partition_counts.items():
            window = self._partitions.get(partition)
            if window is None:
                window = self._partitions[partition] = _Window(now)
            elif now - window.started >= 1.0:
                rate = window.count / (now - window.started)
                if rate > self.threshold:
                    self._busy.add(partition)
                else:
                    self._busy.discard(partition)
                window.started, window.count = now, 0
            window.count += count
        if not self._busy and not self._hot:
            return
        for key, (partition, count) in series.items():
            if partition not in self._busy and key not in self._hot:
                continue
            window = self._series.get(key)
            if window is None:
                if len(self._series) >= 10_000:  # bounded memory: start again
                    self._series.clear()
                window = self._series[key] = _Window(now)
            elif now - window.started >= 1.0:
                rate = window.count / (now - window.started)
                if rate > self.threshold:
                    self._hot.add(key)
                elif rate < self.threshold / 2:
                    self._hot.discard(key)
                window.started, window.count = now, 0
            window.count += count

    def salt_for(self, count: int) -> list[int]:
        """The salts the `count` events of a hot series are dealt to: every salt when
        there are enough events, else the next salts in turn."""
        if count >= self.salts:
            return list(range(1, self.salts + 1))
        first = self._next_salt
        self._next_salt = (first + count) % self.salts
        return [1 + (first + i) % self.salts for i in range(count)]


def route(
    events: Sequence[MetricEvent],
    partitions: int,
    *,
    hot: HotSeries | None = None,
    now: float = 0.0,
    max_events: int,
) -> list[Message]:
    """The messages that carry `events`: grouped by series, each series on its
    partition (a hot one sliced over its salts), at most `max_events` per message."""
    # The hot loop: one canonical JSON (as `canonical_dimensions`, but left as bytes)
    # and one dict append per event; the key string and its hash are made per series.
    grouped: dict[tuple[str, bytes], list[MetricEvent]] = {}
    get = grouped.get
    dumps, sort_keys = orjson.dumps, orjson.OPT_SORT_KEYS
    for event in events:
        series = (event.metric, dumps(event.dimensions, option=sort_keys))
        group = get(series)
        if group is None:
            grouped[series] = [event]
        else:
            group.append(event)
    by_series = {metric + dims.decode(): group for (metric, dims), group in grouped.items()}

    placed: dict[str, tuple[int, int]] = {}
    per_partition: dict[int, int] = {}
    for key, group in by_series.items():
        partition = zlib.crc32(key.encode()) % partitions
        placed[key] = (partition, len(group))
        per_partition[partition] = per_partition.get(partition, 0) + len(group)
    if hot is not None:
        hot.observe(per_partition, placed, now)

    # (partition, salt) → [(series key, events)], in the order series first appeared.
    outgoing: dict[tuple[int, int], list[tuple[str, list[MetricEvent]]]] = {}
    for key, group in by_series.items():
        if hot is not None and hot.is_hot(key):
            salts = hot.salt_for(len(group))
            size = -(-len(group) // len(salts))
            for i, salt in enumerate(salts):
                piece = group[i * size : (i + 1) * size]
                if piece:  # 5 events over 4 salts: slices of 2, 2, 1 and none
                    salted = f"{key}#{salt}"
                    target = (partition_of(salted, partitions), salt)
                    outgoing.setdefault(target, []).append((salted, piece))
        else:
            outgoing.setdefault((placed[key][0], 0), []).append((key, group))

    messages: list[Message] = []
    for (partition, salt), groups in outgoing.items():
        flat: list[MetricEvent] = []
        starts: list[tuple[int, str]] = []  # where each series begins in `flat`
        for key, group in groups:
            starts.append((len(flat), key))
            flat.extend(group)
        at = 0  # the series the message begins with
        for begin in range(0, len(flat), max_events):
            while at + 1 < len(starts) and starts[at + 1][0] <= begin:
                at += 1
            messages.append(
                Message(partition, salt, starts[at][1], flat[begin : begin + max_events])
            )
    return messages
