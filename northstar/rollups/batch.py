"""A batch's events, summarised in Python into the rows the store folds into the rollups.

The evaluator holds every event of a batch decoded already, so it builds the minute,
hour and day summaries itself while it decodes, and the database only merges a few
thousand summary rows into the rollup tables instead of sorting and aggregating the raw
events (that SQL was a large share of a batch's time: docs/performance.md, "evaluator").

A summary row is exactly what `northstar.domain.aggregation.Summary` would hold for the
same events (count, sum, min, max, the value with the latest timestamp, and the
`QuantileSketch` as bucket counts keyed by `sketch_key`); `tests/unit/test_batch.py`
checks that equality. The hot loop updates a slotted `_Group` inline rather than calling
`Summary.add`, because it runs once per event: this module is the evaluator's inner loop,
and a method call and a validation per event cost measurably more (docs/performance.md,
"Figures the code's comments used to carry"). The events were
validated on decode, so every value is finite and every timestamp aware.

Buckets are UTC minutes, hours and days counted from the Unix epoch, the same buckets as
`date_trunc(unit, time, 'UTC')`. Dimensions are grouped by their canonical JSON (keys
sorted), so one dimension set is one group, whatever order its keys arrived in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from northstar.domain.aggregation import LOG_GAMMA
from northstar.events.model import MetricEvent
from northstar.rollups.levels import LEVELS, Level

# Width in seconds of the finest level, the one the hot loop groups events by; the
# coarser levels are merged from it in `finish`.
_FINEST = int(LEVELS[0].width.total_seconds())


class _Group:
    """The running summary of one (metric, dimension set, bucket)."""

    __slots__ = (
        "count",
        "first",
        "first_s",
        "last",
        "last_s",
        "last_value",
        "max",
        "min",
        "sketch",
        "sum",
    )

    count: int
    sum: float
    min: float
    max: float
    first_s: float  # epoch seconds of `first`, compared instead of the datetimes (cheaper)
    first: datetime
    last_s: float
    last: datetime
    last_value: float
    sketch: dict[int | str, int]  # positive buckets by index, the others by their key

    def copy(self) -> _Group:
        other = _Group()
        for name in _Group.__slots__:
            setattr(other, name, getattr(self, name))
        other.sketch = dict(self.sketch)
        return other


@dataclass(frozen=True, slots=True)
class RollupRows:
    """One rollup level's rows for a batch, column by column (the shape `unnest` takes)."""

    metric: list[str]
    bucket: list[datetime]
    dimensions: list[str]
    count: list[int]
    sum: list[float]
    min: list[float]
    max: list[float]
    last_time: list[datetime]
    last_value: list[float]
    sketch: list[str]

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
        )

    def __len__(self) -> int:
        return len(self.metric)


@dataclass(frozen=True, slots=True)
class MetricTotals:
    """What a batch adds to one metric's catalogue entry."""

    metric: str
    first: datetime
    last: datetime
    count: int
    dimension_keys: list[str]


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


class BatchSummariser:
    """Accumulates events (`add`) and produces the batch's rows for every level (`finish`)."""

    def __init__(self) -> None:
        # (metric, canonical dimensions, finest bucket since the epoch) -> group
        self._groups: dict[tuple[str, str, int], _Group] = {}

    def add(self, records: Iterable[Record]) -> None:
        """Count validated events, given as `measurements` rows.

        The evaluator's inner loop: everything it calls per event is bound to a local,
        and a positive value's sketch bucket is kept as its integer index (the `"p<k>"`
        text is made once per bucket in `finish`)."""
        groups = self._groups
        get = groups.get
        log, ceil, log_gamma = math.log, math.ceil, LOG_GAMMA
        for at, metric, value, dims, _, _ in records:
            epoch = at.timestamp()
            key: int | str
            if value > 0:
                key = ceil(log(value) / log_gamma)
            elif value < 0:
                key = f"n{ceil(log(-value) / log_gamma)}"
            else:
                key = "z"
            group_key = (metric, dims, int(epoch // _FINEST))
            group = get(group_key)
            if group is None:
                group = groups[group_key] = _Group()
                group.count = 1
                group.sum = group.min = group.max = group.last_value = value
                group.first_s = group.last_s = epoch
                group.first = group.last = at
                group.sketch = {key: 1}
                continue
            group.count += 1
            group.sum += value
            if value < group.min:
                group.min = value
            if value > group.max:
                group.max = value
            if epoch < group.first_s:
                group.first_s, group.first = epoch, at
            # On equal timestamps the event added later wins, as in `Summary.add`.
            if epoch >= group.last_s:
                group.last_s, group.last, group.last_value = epoch, at, value
            sketch = group.sketch
            sketch[key] = sketch.get(key, 0) + 1

    def finish(self) -> BatchSummary:
        groups, finer = self._groups, LEVELS[0]
        rollups = {finer: _rows(groups, finer)}
        for level in LEVELS[1:]:
            groups = _coarsen(groups, level.width // finer.width)
            rollups[level] = _rows(groups, level)
            finer = level
        return BatchSummary(rollups=rollups, metrics=_metric_totals(groups))


def summarise(records: Iterable[Record]) -> BatchSummary:
    """The summary of events given as `measurements` rows."""
    summariser = BatchSummariser()
    summariser.add(records)
    return summariser.finish()


def _coarsen(
    groups: dict[tuple[str, str, int], _Group], factor: int
) -> dict[tuple[str, str, int], _Group]:
    """Merge groups of one level into the next coarser one (`factor` buckets per bucket),
    in bucket order, so a later bucket's last value wins as `Summary.merge` would."""
    coarse: dict[tuple[str, str, int], _Group] = {}
    for (metric, dims, bucket), group in sorted(groups.items(), key=lambda item: item[0][2]):
        key = (metric, dims, bucket // factor)
        into = coarse.get(key)
        if into is None:
            coarse[key] = group.copy()
            continue
        into.count += group.count
        into.sum += group.sum
        into.min = min(into.min, group.min)
        into.max = max(into.max, group.max)
        if group.first_s < into.first_s:
            into.first_s, into.first = group.first_s, group.first
        if group.last_s >= into.last_s:
            into.last_s, into.last, into.last_value = group.last_s, group.last, group.last_value
        sketch = into.sketch
        for bucket_key, count in group.sketch.items():
            sketch[bucket_key] = sketch.get(bucket_key, 0) + count
    return coarse


def _sketch_json(sketch: dict[int | str, int]) -> str:
    return orjson.dumps(
        {(f"p{key}" if key.__class__ is int else key): count for key, count in sketch.items()}
    ).decode()


def _rows(groups: dict[tuple[str, str, int], _Group], level: Level) -> RollupRows:
    rows = RollupRows([], [], [], [], [], [], [], [], [], [])
    width = int(level.width.total_seconds())
    for (metric, dims, bucket), group in groups.items():
        rows.metric.append(metric)
        rows.bucket.append(datetime.fromtimestamp(bucket * width, UTC))
        rows.dimensions.append(dims)
        rows.count.append(group.count)
        rows.sum.append(group.sum)
        rows.min.append(group.min)
        rows.max.append(group.max)
        rows.last_time.append(group.last)
        rows.last_value.append(group.last_value)
        rows.sketch.append(_sketch_json(group.sketch))
    return rows


def _metric_totals(days: dict[tuple[str, str, int], _Group]) -> list[MetricTotals]:
    by_metric: dict[str, list[_Group]] = {}
    dimension_keys: dict[str, set[str]] = {}
    for (metric, dims, _), group in days.items():
        by_metric.setdefault(metric, []).append(group)
        dimension_keys.setdefault(metric, set()).update(orjson.loads(dims))
    return [
        MetricTotals(
            metric=metric,
            first=min(groups, key=lambda g: g.first_s).first,
            last=max(groups, key=lambda g: g.last_s).last,
            count=sum(g.count for g in groups),
            dimension_keys=sorted(dimension_keys[metric]),
        )
        for metric, groups in sorted(by_metric.items())
    ]


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

    def __len__(self) -> int:
        return len(self.records)

    def add(self, events: Iterable[MetricEvent]) -> None:
        """Add events; one already added (same source and event id) is skipped."""
        seen, known = self._seen, len(self.records)
        strings = self._strings
        once = strings.setdefault
        for event in events:
            source = once(event.source, event.source)
            key = (source, event.event_id)
            if key not in seen:
                seen.add(key)
                dims = canonical_dimensions(event.dimensions)
                self.keys.append(key)
                self.records.append(
                    (
                        event.timestamp,
                        once(event.metric, event.metric),
                        event.value,
                        once(dims, dims),
                        source,
                        event.event_id,
                    )
                )
        self._summariser.add(self.records[known:])
        self._summary = None

    def summary(self) -> BatchSummary:
        if self._summary is None:
            self._summary = self._summariser.finish()
        return self._summary

    def only(self, keys: set[tuple[str, str]]) -> PreparedBatch:
        """The events whose key is in `keys`, summarised on their own."""
        subset = PreparedBatch()
        for record, key in zip(self.records, self.keys, strict=True):
            if key in keys:
                subset.records.append(record)
                subset.keys.append(key)
        subset._summariser.add(subset.records)
        return subset
