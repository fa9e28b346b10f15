"""A batch's events, summarised in Python into the rows the store folds into the rollups.

The evaluator holds every event of a batch decoded already, so it builds the minute,
hour, day and week summaries itself while it decodes, and the database only merges a few
thousand summary rows into the rollup tables instead of sorting and aggregating the raw
events (that SQL was a large share of a batch's time: docs/performance.md, "evaluator").

A summary row is a `northstar.domain.aggregation.Summary`: the batch groups its events by
(metric, dimension set, minute) and hands each group's points to `Summary.add_many`, the
one loop that summarises events, so there is no second copy of it here. The events were
validated on decode, so every value is finite and every timestamp aware.

A group is also keyed by the salt of a hot series' slice (0 for every other event,
`northstar.events.routing`), which is part of the rollup row's identity, and each series
remembers the Kafka partition it came from (its `shard`): the catalogue's activity
counters are kept per metric and shard, so that, like the rollup rows, each has one
writer (docs/architecture.md, "One writer per series").

Buckets are UTC minutes, hours, days and weeks counted from the Unix epoch, the same
buckets as `date_bin(width, time, 'epoch')` (and `date_trunc(unit, time, 'UTC')` but for
weeks, which begin on Thursdays). Dimensions are grouped by their canonical JSON (keys
sorted), so one dimension set is one group, whatever order its keys arrived in.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter

import orjson

from northstar.domain.aggregation import Summary
from northstar.events.model import MetricEvent
from northstar.rollups.levels import LEVELS, Level

# Width in seconds of the finest level, the one the hot loop groups events by; the
# coarser levels are merged from it in `finish`.
_FINEST = int(LEVELS[0].width.total_seconds())


@dataclass(frozen=True, slots=True)
class RollupRows:
    """One rollup level's rows for a batch, column by column (the shape `unnest` takes)."""

    metric: list[str]
    bucket: list[datetime]
    dimensions: list[str]
    count: list[int]
    sum: list[float]
    min: list[float | None]
    max: list[float | None]
    last_time: list[datetime | None]
    last_value: list[float | None]
    sketch: list[str]
    salt: list[int]

    def columns(self) -> tuple[list[object], ...]:
        return (
            self.metric,  # type: ignore[return-value]
            self.bucket,
            self.dimensions,
            self.count,
            self.sum,
            self.min,
            self.max,
            self.last_time,
            self.last_value,
            self.sketch,
            self.salt,
        )

    def __len__(self) -> int:
        return len(self.metric)


@dataclass(frozen=True, slots=True)
class MetricTotals:
    """What a batch adds to one metric's activity in one shard (the Kafka partition its
    events came from)."""

    metric: str
    shard: int
    first: datetime
    last: datetime
    count: int


@dataclass(frozen=True, slots=True)
class BatchSummary:
    rollups: dict[Level, RollupRows]  # every level, finest first
    metrics: list[MetricTotals]


def canonical_dimensions(dimensions: dict[str, str]) -> str:
    """The dimension set as JSON with sorted keys: one text per set (the group key and
    the `measurements.dimensions` value)."""
    return orjson.dumps(dimensions, option=orjson.OPT_SORT_KEYS).decode()


Record = tuple[datetime, str, float, str, str, str]
"""An event as a `measurements` row, in `MEASUREMENT_COLUMNS` order: time, metric, value,
canonical dimensions, source, event id."""
MEASUREMENT_COLUMNS = ("time", "metric", "value", "dimensions", "source", "event_id")


GroupKey = tuple[str, str, int, int]
Groups = dict[GroupKey, Summary]
"""Summaries by (metric, canonical dimensions, salt, bucket since the epoch)."""

_time = itemgetter(0)
_value = itemgetter(2)


class BatchSummariser:
    """Accumulates events (`add`), summarises them (`summarise`) and produces the batch's
    rows for every level (`finish`).

    `add` only sorts the events into their finest groups; `summarise` hands each group's
    new events to `Summary.add_many` in one call, so a group costs one call per batch
    rather than one per message that brought events of it (docs/performance.md, "Issue
    29, item 1"); `finish` calls it for what is left."""

    def __init__(self) -> None:
        self._groups: Groups = {}  # at the finest level
        self._rows: dict[GroupKey, list[Record]] = {}  # the records of each finest group
        self._summarised: dict[GroupKey, int] = {}  # how many of a group's rows are counted
        self._earliest: dict[GroupKey, datetime] = {}  # each finest group's earliest event
        # (metric, dims, salt) → shard. A series seen from two shards in one batch (the
        # partition count changed) counts towards one of them: the totals stay right.
        self._shards: dict[tuple[str, str, int], int] = {}

    def add(self, records: Iterable[Record], *, salt: int = 0, shard: int = 0) -> None:
        """Take validated events, given as `measurements` rows, of one salt that came
        from one shard."""
        rows, shards = self._rows, self._shards
        get = rows.get
        for record in records:
            group_key = (record[1], record[3], salt, int(record[0].timestamp() // _FINEST))
            group = get(group_key)
            if group is None:
                rows[group_key] = [record]
                shards[group_key[:3]] = shard
            else:
                group.append(record)

    def summarise(self) -> None:
        """Count the events added since the last call into their groups' summaries."""
        groups, counted, earliest = self._groups, self._summarised, self._earliest
        for group_key, rows in self._rows.items():
            start = counted.get(group_key, 0)
            if start == len(rows):
                continue
            part = rows[start:] if start else rows
            counted[group_key] = len(rows)
            first = min(map(_time, part))
            summary = groups.get(group_key)
            if summary is None:
                summary = groups[group_key] = Summary()
                earliest[group_key] = first
            elif first < earliest[group_key]:
                earliest[group_key] = first
            summary.add_many(zip(map(_time, part), map(_value, part), strict=True))

    def dimension_sets(self) -> list[tuple[str, str]]:
        """The distinct (metric, canonical dimensions) added, in the order first added
        (the groups are keyed by them and kept in insertion order)."""
        return list(dict.fromkeys((metric, dims) for metric, dims, _, _ in self._rows))

    def finish(self) -> BatchSummary:
        self.summarise()
        groups, finer = self._groups, LEVELS[0]
        rollups = {finer: _rows(groups, finer)}
        for level in LEVELS[1:]:
            groups = _coarsen(groups, level.width // finer.width)
            rollups[level] = _rows(groups, level)
            finer = level
        return BatchSummary(
            rollups=rollups, metrics=_metric_totals(groups, self._first(), self._shards)
        )

    def _first(self) -> dict[tuple[str, int], datetime]:
        """The earliest event of each metric and shard."""
        first: dict[tuple[str, int], datetime] = {}
        shards = self._shards
        for group_key, at in self._earliest.items():
            where = (group_key[0], shards[group_key[:3]])
            if where not in first or at < first[where]:
                first[where] = at
        return first


def summarise(records: Iterable[Record]) -> BatchSummary:
    """The summary of events given as `measurements` rows."""
    summariser = BatchSummariser()
    summariser.add(records)
    return summariser.finish()


def _coarsen(groups: Groups, factor: int) -> Groups:
    """Merge groups of one level into the next coarser one (`factor` buckets per bucket),
    in bucket order, so a later bucket's last value wins as `Summary.merge` would."""
    coarse: Groups = {}
    for (metric, dims, salt, bucket), summary in sorted(
        groups.items(), key=lambda item: item[0][3]
    ):
        key = (metric, dims, salt, bucket // factor)
        into = coarse.get(key)
        if into is None:
            coarse[key] = summary.copy()
        else:
            into.absorb(summary)
    return coarse


def _rows(groups: Groups, level: Level) -> RollupRows:
    rows = RollupRows([], [], [], [], [], [], [], [], [], [], [])
    width = int(level.width.total_seconds())
    sketches = level.sketches
    for (metric, dims, salt, bucket), summary in groups.items():
        rows.metric.append(metric)
        rows.bucket.append(datetime.fromtimestamp(bucket * width, UTC))
        rows.dimensions.append(dims)
        rows.count.append(summary.count)
        rows.sum.append(summary.sum)
        rows.min.append(summary.min)
        rows.max.append(summary.max)
        rows.last_time.append(summary.last_ts)
        rows.last_value.append(summary.last_value)
        rows.sketch.append(orjson.dumps(summary.sketch.to_dict()).decode() if sketches else "{}")
        rows.salt.append(salt)
    return rows


def _metric_totals(
    days: Groups,
    first: dict[tuple[str, int], datetime],
    shards: dict[tuple[str, str, int], int],
) -> list[MetricTotals]:
    by_metric: dict[tuple[str, int], list[Summary]] = {}
    for (metric, dims, salt, _), summary in days.items():
        at = (metric, shards[(metric, dims, salt)])
        by_metric.setdefault(at, []).append(summary)
    totals = []
    for (metric, shard), summaries in sorted(by_metric.items()):
        earliest = first[(metric, shard)]
        last = max(summaries, key=lambda s: s.last_ts or earliest).last_ts
        assert last is not None  # every group holds an event
        totals.append(
            MetricTotals(
                metric=metric,
                shard=shard,
                first=earliest,
                last=last,
                count=sum(s.count for s in summaries),
            )
        )
    return totals


class PreparedBatch:
    """A batch's events on their way to the store, as `measurements` rows unique by
    `(source, event_id)`, with their ledger keys and their summary, all built as they are
    added.

    Built while the batch is decoded, before its transaction and while the batch before it
    is being written, so the writer only moves prepared rows. That assumes every event is
    new, which is true unless a batch is redelivered or a client re-sends; when the store
    finds some already stored, `only` gives the new ones, summarised anew.

    Only the rows are kept, not the decoded events: a batch of 100,000 events is held
    twice over while the next is prepared, and the events' objects (and their dimension
    dicts) were a large share of that memory (docs/performance.md). Strings that repeat
    from event to event (metric, source, dimensions) are kept once per batch.
    """

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.keys: list[tuple[str, str]] = []
        self._seen: set[tuple[str, str]] = set()
        self._strings: dict[str, str] = {}
        self._summariser = BatchSummariser()
        self._summary: BatchSummary | None = None
        # (first record, salt, shard) of each run of records added together.
        self._runs: list[tuple[int, int, int]] = []

    def __len__(self) -> int:
        return len(self.records)

    def add(self, events: Iterable[MetricEvent], *, salt: int = 0, shard: int = 0) -> None:
        """Add events of one salt (0: not salted) that came from one shard (the Kafka
        partition); one already added (same source and event id) is skipped."""
        once = self._strings.setdefault
        records = []
        for event in events:
            dims = canonical_dimensions(event.dimensions)
            records.append(
                (
                    event.timestamp,
                    once(event.metric, event.metric),
                    event.value,
                    once(dims, dims),
                    once(event.source, event.source),
                    event.event_id,
                )
            )
        self.add_records(records, salt=salt, shard=shard)

    def add_records(self, records: Iterable[Record], *, salt: int = 0, shard: int = 0) -> None:
        """`add` of events already in their `measurements` form (validated, dimensions
        canonical: what `northstar.events.codec.decode_rows` gives)."""
        seen, keys, mine = self._seen, self.keys, self.records
        known = len(mine)
        for record in records:
            key = (record[4], record[5])
            if key not in seen:
                seen.add(key)
                keys.append(key)
                mine.append(record)
        self._runs.append((known, salt, shard))
        self._summariser.add(mine[known:], salt=salt, shard=shard)
        self._summary = None

    def summary(self) -> BatchSummary:
        if self._summary is None:
            self._summary = self._summariser.finish()
        return self._summary

    def dimension_sets(self) -> list[tuple[str, str]]:
        """The distinct (metric, canonical dimensions) of the events, in batch order."""
        return self._summariser.dimension_sets()

    def only(self, keys: set[tuple[str, str]]) -> PreparedBatch:
        """The events whose key is in `keys`, summarised on their own."""
        return self._subset(lambda record, key: key in keys)

    def without(self, dimension_sets: Container[tuple[str, str]]) -> PreparedBatch:
        """The events whose (metric, dimensions) is not in `dimension_sets`, summarised
        on their own."""
        return self._subset(lambda record, key: (record[1], record[3]) not in dimension_sets)

    def _subset(self, keep: Callable[[Record, tuple[str, str]], bool]) -> PreparedBatch:
        subset = PreparedBatch()
        ends = [start for start, _, _ in self._runs[1:]] + [len(self.records)]
        for (start, salt, shard), end in zip(self._runs, ends, strict=True):
            known = len(subset.records)
            for index in range(start, end):
                record, key = self.records[index], self.keys[index]
                if keep(record, key):
                    subset.records.append(record)
                    subset.keys.append(key)
            if len(subset.records) > known:
                subset._runs.append((known, salt, shard))
                subset._summariser.add(subset.records[known:], salt=salt, shard=shard)
        return subset
