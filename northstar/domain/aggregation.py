"""Mergeable aggregation state: the rollups behind every KPI aggregation.

The store keeps one :class:`Summary` per (metric, dimension set, time bucket). Any
aggregation over a period (``sum``, ``count``, ``avg``, ``min``, ``max``, ``last`` and the
percentiles) is then answered by merging the bucket summaries instead of scanning raw
events. Both classes here are therefore *mergeable*: merging the summaries of two sets
of events gives the summary of their union, whatever the grouping and order.

Percentiles cannot be merged exactly in bounded space; :class:`QuantileSketch` keeps
them to a guaranteed relative accuracy instead (DDSketch, Masson et al., VLDB 2019).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from northstar.domain.expressions import FUNCTIONS

__all__ = ["LOG_GAMMA", "QUANTILES", "RELATIVE_ACCURACY", "QuantileSketch", "Summary", "sketch_key"]

RELATIVE_ACCURACY = 0.01
"""α of every sketch: a quantile answer is within 1% of a true sample value. Changing it
changes the meaning of every stored sketch."""

_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
# ln γ = ln(101/99), correctly rounded: exactly what PostgreSQL's `ln(1.01 / 0.99)` (a
# numeric, cast to double) gives in `northstar_sketch_key`, so a value gets the same
# bucket in Python and in SQL. `math.log(_GAMMA)` would be 26 ulps off (γ is rounded
# first) and put values near a bucket edge into the neighbouring bucket.
LOG_GAMMA = 0.020000666706669525
_LOG_MIDPOINT = math.log(2 / (_GAMMA + 1))  # representative = γ^k · 2 / (γ + 1)
QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
"""The percentile functions and their quantile: the only functions that need a sketch."""


def _bucket_index(magnitude: float) -> int:
    """Index ``k`` of the bucket ``(γ^(k-1), γ^k]`` holding a positive magnitude."""
    return math.ceil(math.log(magnitude) / LOG_GAMMA)


def sketch_key(value: float) -> str:
    """The bucket key of one finite value in :meth:`QuantileSketch.to_dict`'s form
    (``"p<k>"``, ``"n<k>"`` or ``"z"``); the same as SQL ``northstar_sketch_key``."""
    if value > 0:
        return f"p{math.ceil(math.log(value) / LOG_GAMMA)}"
    if value < 0:
        return f"n{math.ceil(math.log(-value) / LOG_GAMMA)}"
    return "z"


def _bucket_value(index: int) -> float:
    """The bucket's representative: within α of every magnitude the bucket holds."""
    try:
        return math.exp(index * LOG_GAMMA + _LOG_MIDPOINT)
    except OverflowError:  # only past the largest float, where every value is near it
        return sys.float_info.max


def _check_finite(value: float, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


@dataclass(eq=True)
class QuantileSketch:
    """A DDSketch-style log-bucket quantile sketch with relative accuracy α = 1%.

    A value ``v > 0`` is counted in bucket ``k = ceil(log_γ v)`` with
    ``γ = (1 + α) / (1 - α)``; negative values go into a mirrored store by ``|v|``,
    zeros into their own counter. Merging adds bucket counts, so it is exact,
    associative and commutative — also in SQL (see :meth:`to_dict`).

    Guarantee: for ``0 <= q <= 1`` over ``n`` added values, :meth:`quantile` returns a
    number within relative error α (up to float rounding) of the value of rank
    ``floor(q * (n - 1))`` (0-based) in the sorted sample — the lower nearest rank, no
    interpolation. Passing the exact minimum and maximum (which :class:`Summary` keeps)
    bounds the answer and makes ``q = 0`` and ``q = 1`` exact.

    Space grows with the spread of magnitudes, about 115 buckets per factor of ten,
    not with the number of values. The sketch is a mutable accumulator: :meth:`add`
    changes it in place, :meth:`merge` returns a new sketch and leaves both inputs alone.
    """

    positive: dict[int, int] = field(default_factory=dict)
    negative: dict[int, int] = field(default_factory=dict)
    zero: int = 0

    @property
    def count(self) -> int:
        """Number of values added."""
        return self.zero + sum(self.positive.values()) + sum(self.negative.values())

    def add(self, value: float, count: int = 1) -> None:
        """Count ``value`` ``count`` times. Raises ``ValueError`` for a non-finite value
        or a negative count."""
        number = _check_finite(value, "a sketch value")
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        if count == 0:
            return
        if number > 0:
            index = _bucket_index(number)
            self.positive[index] = self.positive.get(index, 0) + count
        elif number < 0:
            index = _bucket_index(-number)
            self.negative[index] = self.negative.get(index, 0) + count
        else:
            self.zero += count

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """A new sketch of both samples together."""
        merged = self.copy()
        merged.absorb(other)
        return merged

    def absorb(self, other: QuantileSketch) -> None:
        """Add ``other``'s sample into this sketch in place (the cheap form of merge)."""
        for index, count in other.positive.items():
            self.positive[index] = self.positive.get(index, 0) + count
        for index, count in other.negative.items():
            self.negative[index] = self.negative.get(index, 0) + count
        self.zero += other.zero

    def copy(self) -> QuantileSketch:
        """An independent copy."""
        return QuantileSketch(dict(self.positive), dict(self.negative), self.zero)

    def quantile(
        self, q: float, *, low: float | None = None, high: float | None = None
    ) -> float | None:
        """The ``q``-quantile (see the class guarantee), or ``None`` when empty.

        ``low``/``high``, when given, are the sample's exact minimum and maximum; the
        answer is clamped into them, which keeps the guarantee and makes the extremes
        (and every quantile of a constant sample) exact. Raises ``ValueError`` unless
        ``0 <= q <= 1``.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be between 0 and 1, got {q!r}")
        total = self.count
        if total == 0:
            return None
        rank = q * (total - 1)
        answer = self._value_at_rank(rank)
        if low is not None:
            answer = max(answer, low)
        if high is not None:
            answer = min(answer, high)
        return answer

    def _value_at_rank(self, rank: float) -> float:
        # Ascending order: most negative values first (largest |v|), then zeros, then
        # positive values from small to large.
        seen = 0
        for index in sorted(self.negative, reverse=True):
            seen += self.negative[index]
            if seen > rank:
                return -_bucket_value(index)
        seen += self.zero
        if seen > rank:
            return 0.0
        answer = 0.0
        for index in sorted(self.positive):
            seen += self.positive[index]
            answer = _bucket_value(index)
            if seen > rank:
                break
        return answer

    def to_dict(self) -> dict[str, int]:
        """The JSON form: one flat object of bucket → count, ``"p<k>"`` for positive
        buckets, ``"n<k>"`` for negative ones and ``"z"`` for zeros; empty buckets are
        left out (an empty sketch is ``{}``).

        Merging two sketches is adding counts key by key, so the store can merge them
        in SQL (``northstar_sketch_merge`` / ``northstar_sketch_sum`` in schema 0002).
        The accuracy α is fixed by this module and not stored.
        """
        data = {f"n{k}": v for k, v in sorted(self.negative.items()) if v}
        if self.zero:
            data["z"] = self.zero
        data.update({f"p{k}": v for k, v in sorted(self.positive.items()) if v})
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuantileSketch:
        """Rebuild a sketch from :meth:`to_dict` output (or a merge of such). Raises
        ``ValueError`` for an unknown key or a count that is not a non-negative integer."""
        sketch = cls()
        for key, raw in data.items():
            if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != int(raw):
                raise ValueError(f"malformed sketch data: count {raw!r} of {key!r}")
            count = int(raw)
            if count < 0:
                raise ValueError(f"malformed sketch data: negative count of {key!r}")
            if key == "z":
                sketch.zero += count
                continue
            store = {"p": sketch.positive, "n": sketch.negative}.get(key[:1])
            try:
                index = int(key[1:])
            except ValueError:
                store = None
            if store is None:
                raise ValueError(f"malformed sketch data: unknown bucket key {key!r}")
            if count:
                store[index] = store.get(index, 0) + count
        return sketch


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")


@dataclass(eq=True)
class Summary:
    """Everything needed to answer any aggregation function over a set of events.

    A mutable accumulator, like :class:`QuantileSketch`: :meth:`add` updates it in
    place; :meth:`merge` returns a new summary and leaves both inputs unchanged;
    :meth:`combine` merges many at once. ``last`` is the value with the latest
    timestamp; on equal timestamps the one added (or merged in) later wins, so merging
    in bucket order gives the natural answer. ``last_ts`` is stored as the rollup
    column ``last_time`` (see :meth:`to_dict`).
    """

    count: int = 0
    sum: float = 0.0
    min: float | None = None
    max: float | None = None
    last_ts: datetime | None = None
    last_value: float | None = None
    sketch: QuantileSketch = field(default_factory=QuantileSketch)

    @classmethod
    def of(cls, points: Iterable[tuple[datetime, float]]) -> Summary:
        """The summary of ``(timestamp, value)`` points, in the order given."""
        summary = cls()
        for timestamp, value in points:
            summary.add(timestamp, value)
        return summary

    @classmethod
    def combine(cls, summaries: Iterable[Summary]) -> Summary:
        """One summary of all the given ones (merged in order): the same as absorbing
        each in turn, with the running state in locals (a breakdown merges a thousand
        groups per request)."""
        total = cls()
        count, value_sum, low, high = 0, 0.0, None, None
        last_ts: datetime | None = None
        last_value: float | None = None
        sketch = total.sketch
        for summary in summaries:
            count += summary.count
            value_sum += summary.sum
            other = summary.min
            if other is not None and (low is None or other < low):
                low = other
            other = summary.max
            if other is not None and (high is None or other > high):
                high = other
            timestamp = summary.last_ts
            if timestamp is not None and (last_ts is None or timestamp >= last_ts):
                last_ts, last_value = timestamp, summary.last_value
            part = summary.sketch
            if part.positive or part.negative or part.zero:
                sketch.absorb(part)
        total.count, total.sum, total.min, total.max = count, value_sum, low, high
        total.last_ts, total.last_value = last_ts, last_value
        return total

    def add(self, timestamp: datetime, value: float) -> None:
        """Count one event. Raises ``ValueError`` for a non-finite value or a naive
        timestamp."""
        self.add_many(((timestamp, value),))

    def add_many(self, points: Iterable[tuple[datetime, float]]) -> None:
        """Count ``(timestamp, value)`` events, in the order given. Raises ``ValueError``
        for a non-finite value or a naive timestamp; the events before it stay counted.

        The one loop that summarises events: :meth:`add` and the batch the evaluator
        prepares (``northstar.rollups.batch``) both go through it, which is why it keeps
        its state in locals and calls nothing per event that it can avoid."""
        count, total, low, high = self.count, self.sum, self.min, self.max
        last_ts, last_value = self.last_ts, self.last_value
        positive, negative, zero = self.sketch.positive, self.sketch.negative, 0
        log, ceil, isfinite, log_gamma = math.log, math.ceil, math.isfinite, LOG_GAMMA
        try:
            for timestamp, value in points:
                number = float(value)
                if not isfinite(number):
                    raise ValueError(f"an event value must be a finite number, got {value!r}")
                if timestamp.utcoffset() is None:
                    _require_aware(timestamp, "an event timestamp")
                count += 1
                total += number
                if low is None or number < low:
                    low = number
                if high is None or number > high:
                    high = number
                if last_ts is None or timestamp >= last_ts:
                    last_ts, last_value = timestamp, number
                if number > 0:
                    index = ceil(log(number) / log_gamma)
                    positive[index] = positive.get(index, 0) + 1
                elif number < 0:
                    index = ceil(log(-number) / log_gamma)
                    negative[index] = negative.get(index, 0) + 1
                else:
                    zero += 1
        finally:
            self.count, self.sum, self.min, self.max = count, total, low, high
            self.last_ts, self.last_value = last_ts, last_value
            self.sketch.zero += zero

    def merge(self, other: Summary) -> Summary:
        """A new summary of both event sets (``other`` counts as added later)."""
        merged = self.copy()
        merged.absorb(other)
        return merged

    def absorb(self, other: Summary) -> None:
        """Merge ``other`` into this summary in place."""
        self.count += other.count
        self.sum += other.sum
        if other.min is not None:
            self.min = other.min if self.min is None else min(self.min, other.min)
        if other.max is not None:
            self.max = other.max if self.max is None else max(self.max, other.max)
        if other.last_ts is not None and (self.last_ts is None or other.last_ts >= self.last_ts):
            self.last_ts = other.last_ts
            self.last_value = other.last_value
        self.sketch.absorb(other.sketch)

    def copy(self) -> Summary:
        """An independent copy."""
        return Summary(
            self.count,
            self.sum,
            self.min,
            self.max,
            self.last_ts,
            self.last_value,
            self.sketch.copy(),
        )

    def value(self, func: str) -> float | None:
        """The value of aggregation function ``func`` (one of
        :data:`~northstar.domain.expressions.FUNCTIONS`) over the summarised events.

        ``sum`` and ``count`` of no events are ``0.0``; every other function has no
        value (``None``) without events. Percentiles carry the sketch's 1% accuracy.
        Raises ``ValueError`` for an unknown function.
        """
        if func not in FUNCTIONS:
            raise ValueError(f"unknown function {func!r}: expected one of {', '.join(FUNCTIONS)}")
        if func == "sum":
            return self.sum
        if func == "count":
            return float(self.count)
        if self.count == 0:
            return None
        if func == "avg":
            average = self.sum / self.count
            return average if math.isfinite(average) else None
        if func == "min":
            return self.min
        if func == "max":
            return self.max
        if func == "last":
            return self.last_value
        return self.sketch.quantile(QUANTILES[func], low=self.min, high=self.max)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form whose keys are the rollup tables' columns (``count``,
        ``sum``, ``min``, ``max``, ``last_time``, ``last_value``, ``sketch``);
        ``last_time`` is ISO-8601 text and ``sketch`` is :meth:`QuantileSketch.to_dict`."""
        return {
            "count": self.count,
            "sum": self.sum,
            "min": self.min,
            "max": self.max,
            "last_time": None if self.last_ts is None else self.last_ts.isoformat(),
            "last_value": self.last_value,
            "sketch": self.sketch.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        """Rebuild a summary from :meth:`to_dict` output or a rollup row mapping
        (``last_time`` may be ISO-8601 text or an aware datetime). Raises ``ValueError``
        when the data is malformed."""
        try:
            raw_time = data.get("last_time")
            last_ts = datetime.fromisoformat(raw_time) if isinstance(raw_time, str) else raw_time
            if last_ts is not None and not isinstance(last_ts, datetime):
                raise TypeError(f"last_time must be a datetime or ISO-8601 text, got {raw_time!r}")
            summary = cls(
                count=int(data["count"]),
                sum=float(data["sum"]),
                min=None if data.get("min") is None else float(data["min"]),
                max=None if data.get("max") is None else float(data["max"]),
                last_ts=last_ts,
                last_value=None if data.get("last_value") is None else float(data["last_value"]),
                sketch=QuantileSketch.from_dict(data.get("sketch") or {}),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed summary data: {exc!r}") from exc
        if summary.last_ts is not None:
            _require_aware(summary.last_ts, "last_time")
        if summary.count < 0 or (summary.count == 0) != (summary.min is None):
            raise ValueError("malformed summary data: count does not match min/max")
        if summary.sketch.count != summary.count:
            raise ValueError(
                f"malformed summary data: sketch holds {summary.sketch.count} values, "
                f"count is {summary.count}"
            )
        return summary
