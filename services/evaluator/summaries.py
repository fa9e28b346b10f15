"""A batch's events, summarised in Python into the rows the store folds into the rollups.

The evaluator holds every event of a batch decoded already, so it builds the minute,
hour and day summaries itself while it decodes, and the database only merges a few
thousand summary rows into the rollup tables instead of sorting and aggregating the raw
events (docs/performance.md, "evaluator": that SQL was a third of the batch's time).

A summary row is exactly what `northstar.domain.aggregation.Summary` would hold for the
same events (count, sum, min, max, the value with the latest timestamp, and the
`QuantileSketch` as bucket counts keyed by `sketch_key`); `tests/unit/test_summaries.py`
checks that equality. The hot loop keeps each group as a plain list rather than a
`Summary` object, because it runs once per event: this module is the evaluator's inner
loop, and a method call and a validation per event would double its cost. The events
were validated on decode, so every value is finite and every timestamp aware.

Buckets are UTC minutes, hours and days counted from the Unix epoch, the same buckets as
`date_trunc(unit, time, 'UTC')`. Dimensions are grouped by their canonical JSON (keys
sorted), so one dimension set is one group, whatever order its keys arrived in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from northstar.domain.aggregation import sketch_key
from northstar.events.model import MetricEvent

# A group: [count, sum, min, max, first epoch, first time, last epoch, last time,
#           last value, sketch counts, dimension keys]
_COUNT, _SUM, _MIN, _MAX, _FIRST_S, _FIRST, _LAST_S, _LAST, _LAST_VALUE, _SKETCH, _KEYS = range(11)
_Group = list[Any]
_MINUTE, _HOUR, _DAY = 60, 3600, 86400


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
    minutes: RollupRows
    hours: RollupRows
    days: RollupRows
    metrics: list[MetricTotals]


def canonical_dimensions(dimensions: dict[str, str]) -> str:
    """The dimension set as JSON with sorted keys: one text per set (the group key and
    the `measurements.dimensions` value)."""
    return orjson.dumps(dimensions, option=orjson.OPT_SORT_KEYS).decode()


class BatchSummariser:
    """Accumulates events (`add`) and produces the batch's rows for every level (`finish`)."""

    def __init__(self) -> None:
        # (metric, canonical dimensions, minute since the epoch) -> group
        self._minutes: dict[tuple[str, str, int], _Group] = {}
        self.events = 0

    def add(self, event: MetricEvent, dimensions: str) -> None:
        """Count one validated event; `dimensions` is `canonical_dimensions` of it."""
        self.events += 1
        at = event.timestamp
        epoch = at.timestamp()
        value = event.value
        key = sketch_key(value)
        group_key = (event.metric, dimensions, int(epoch // _MINUTE))
        group = self._minutes.get(group_key)
        if group is None:
            self._minutes[group_key] = [
                1, value, value, value, epoch, at, epoch, at, value, {key: 1}, event.dimensions
            ]  # fmt: skip
            return
        group[_COUNT] += 1
        group[_SUM] += value
        if value < group[_MIN]:
            group[_MIN] = value
        if value > group[_MAX]:
            group[_MAX] = value
        if epoch < group[_FIRST_S]:
            group[_FIRST_S], group[_FIRST] = epoch, at
        # On equal timestamps the event added later wins, as in `Summary.add`.
        if epoch >= group[_LAST_S]:
            group[_LAST_S], group[_LAST], group[_LAST_VALUE] = epoch, at, value
        sketch = group[_SKETCH]
        sketch[key] = sketch.get(key, 0) + 1

    def finish(self) -> BatchSummary:
        minutes = self._minutes
        hours = _coarsen(minutes, _HOUR // _MINUTE)
        days = _coarsen(hours, _DAY // _HOUR)
        return BatchSummary(
            minutes=_rows(minutes, _MINUTE),
            hours=_rows(hours, _HOUR),
            days=_rows(days, _DAY),
            metrics=_metric_totals(days),
        )


def summarise(events: list[MetricEvent], dimensions: list[str]) -> BatchSummary:
    """The summary of `events` (with their `canonical_dimensions`, in the same order)."""
    summariser = BatchSummariser()
    for event, dims in zip(events, dimensions, strict=True):
        summariser.add(event, dims)
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
            coarse[key] = [*group[:_SKETCH], dict(group[_SKETCH]), group[_KEYS]]
            continue
        into[_COUNT] += group[_COUNT]
        into[_SUM] += group[_SUM]
        into[_MIN] = min(into[_MIN], group[_MIN])
        into[_MAX] = max(into[_MAX], group[_MAX])
        if group[_FIRST_S] < into[_FIRST_S]:
            into[_FIRST_S], into[_FIRST] = group[_FIRST_S], group[_FIRST]
        if group[_LAST_S] >= into[_LAST_S]:
            into[_LAST_S], into[_LAST], into[_LAST_VALUE] = (
                group[_LAST_S],
                group[_LAST],
                group[_LAST_VALUE],
            )
        sketch = into[_SKETCH]
        for bucket_key, count in group[_SKETCH].items():
            sketch[bucket_key] = sketch.get(bucket_key, 0) + count
    return coarse


def _rows(groups: dict[tuple[str, str, int], _Group], width: int) -> RollupRows:
    rows = RollupRows([], [], [], [], [], [], [], [], [], [])
    for (metric, dims, bucket), group in groups.items():
        rows.metric.append(metric)
        rows.bucket.append(datetime.fromtimestamp(bucket * width, UTC))
        rows.dimensions.append(dims)
        rows.count.append(group[_COUNT])
        rows.sum.append(group[_SUM])
        rows.min.append(group[_MIN])
        rows.max.append(group[_MAX])
        rows.last_time.append(group[_LAST])
        rows.last_value.append(group[_LAST_VALUE])
        rows.sketch.append(orjson.dumps(group[_SKETCH]).decode())
    return rows


def _metric_totals(days: dict[tuple[str, str, int], _Group]) -> list[MetricTotals]:
    by_metric: dict[str, list[_Group]] = {}
    for (metric, _, _), group in days.items():
        by_metric.setdefault(metric, []).append(group)
    return [
        MetricTotals(
            metric=metric,
            first=min(groups, key=lambda g: g[_FIRST_S])[_FIRST],
            last=max(groups, key=lambda g: g[_LAST_S])[_LAST],
            count=sum(g[_COUNT] for g in groups),
            dimension_keys=sorted({k for g in groups for k in g[_KEYS]}),
        )
        for metric, groups in sorted(by_metric.items())
    ]


def iter_rows(rows: RollupRows) -> Iterator[tuple[object, ...]]:
    """Row by row (for tests and diagnostics)."""
    return zip(*rows.columns(), strict=True)


class PendingEvents:
    """A batch's events on their way to the store: unique by `(source, event_id)`, each
    with its canonical dimensions, summarised as they are added.

    Built while the batch is decoded (before its transaction), on the assumption that
    every event is new, which is true unless a batch is redelivered or a client re-sends.
    When the store finds some already stored, `only` gives the new ones, summarised anew.
    """

    def __init__(self) -> None:
        self.events: list[MetricEvent] = []
        self.dimensions: list[str] = []
        self._keys: set[tuple[str, str]] = set()
        self._summariser = BatchSummariser()
        self._summary: BatchSummary | None = None

    def __len__(self) -> int:
        return len(self.events)

    def add(self, events: list[MetricEvent]) -> None:
        """Add events; one already added (same source and event id) is skipped."""
        keys, summarise = self._keys, self._summariser.add
        for event in events:
            key = (event.source, event.event_id)
            if key in keys:
                continue
            keys.add(key)
            dims = canonical_dimensions(event.dimensions)
            self.events.append(event)
            self.dimensions.append(dims)
            summarise(event, dims)
        self._summary = None

    def keys(self) -> list[tuple[str, str]]:
        return [(e.source, e.event_id) for e in self.events]

    def records(self) -> list[tuple[object, ...]]:
        """The `measurements` rows, in `MEASUREMENT_COLUMNS` order."""
        return [
            (e.timestamp, e.metric, e.value, dims, e.source, e.event_id)
            for e, dims in zip(self.events, self.dimensions, strict=True)
        ]

    def summary(self) -> BatchSummary:
        if self._summary is None:
            self._summary = self._summariser.finish()
        return self._summary

    def only(self, keys: set[tuple[str, str]]) -> PendingEvents:
        """The events whose key is in `keys`, summarised on their own."""
        subset = PendingEvents()
        subset.add([e for e in self.events if (e.source, e.event_id) in keys])
        return subset


MEASUREMENT_COLUMNS = ("time", "metric", "value", "dimensions", "source", "event_id")
