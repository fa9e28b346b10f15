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

__all__ = ["RELATIVE_ACCURACY", "QuantileSketch", "Summary"]

RELATIVE_ACCURACY = 0.01
"""α of every sketch: a quantile answer is within 1% of a true sample value."""

_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
_QUANTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}


def _bucket_index(magnitude: float) -> int:
    """Index ``k`` of the bucket ``(γ^(k-1), γ^k]`` holding a positive magnitude."""
    return math.ceil(math.log(magnitude) / _LOG_GAMMA)


def _bucket_value(index: int) -> float:
    """The bucket's representative: within α of every magnitude the bucket holds."""
    try:
        return 2.0 * math.exp(index * _LOG_GAMMA) / (_GAMMA + 1)
    except OverflowError:
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
    associative and commutative.

    Guarantee: for ``0 <= q <= 1`` over ``n`` added values, :meth:`quantile` returns a
    number within relative error α (up to float rounding) of the value of rank
    ``floor(q * (n - 1))`` (0-based) in the sorted sample — the lower nearest rank, no
    interpolation. The exact minimum and maximum are kept as well and bound every
    answer, so ``quantile(0)`` and ``quantile(1)`` are exact.

    Space grows with the spread of magnitudes, about 115 buckets per factor of ten,
    not with the number of values. The sketch is a mutable accumulator: :meth:`add`
    changes it in place, :meth:`merge` returns a new sketch and leaves both inputs alone.
    """

    positive: dict[int, int] = field(default_factory=dict)
    negative: dict[int, int] = field(default_factory=dict)
    zero: int = 0
    min: float | None = None
    max: float | None = None

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
        self.min = number if self.min is None else min(self.min, number)
        self.max = number if self.max is None else max(self.max, number)

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
        if other.min is not None:
            self.min = other.min if self.min is None else min(self.min, other.min)
        if other.max is not None:
            self.max = other.max if self.max is None else max(self.max, other.max)

    def copy(self) -> QuantileSketch:
        """An independent copy."""
        return QuantileSketch(
            dict(self.positive), dict(self.negative), self.zero, self.min, self.max
        )

    def quantile(self, q: float) -> float | None:
        """The ``q``-quantile (see the class guarantee), or ``None`` when empty.

        Raises ``ValueError`` unless ``0 <= q <= 1``.
        """
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be between 0 and 1, got {q!r}")
        total = self.count
        if total == 0 or self.min is None or self.max is None:
            return None
        rank = q * (total - 1)
        seen = 0
        answer: float | None = None
        # Ascending order: most negative values first (largest |v|), then zeros, then
        # positive values from small to large.
        for index in sorted(self.negative, reverse=True):
            seen += self.negative[index]
            if seen > rank:
                answer = -_bucket_value(index)
                break
        if answer is None:
            seen += self.zero
            if seen > rank:
                answer = 0.0
        if answer is None:
            for index in sorted(self.positive):
                seen += self.positive[index]
                if seen > rank:
                    answer = _bucket_value(index)
                    break
        if answer is None:  # only reachable through float rounding at q == 1
            answer = self.max
        return min(max(answer, self.min), self.max)

    def to_dict(self) -> dict[str, Any]:
        """A compact JSON-safe form: bucket index (as a string key) → count per store."""
        return {
            "alpha": RELATIVE_ACCURACY,
            "positive": {str(k): v for k, v in sorted(self.positive.items())},
            "negative": {str(k): v for k, v in sorted(self.negative.items())},
            "zero": self.zero,
            "min": self.min,
            "max": self.max,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuantileSketch:
        """Rebuild a sketch from :meth:`to_dict` output. Raises ``ValueError`` when the
        data is malformed or was made with a different accuracy."""
        try:
            alpha = float(data.get("alpha", RELATIVE_ACCURACY))
            if alpha != RELATIVE_ACCURACY:
                raise ValueError(
                    f"sketch has relative accuracy {alpha}, expected {RELATIVE_ACCURACY}"
                )
            positive = {int(k): int(v) for k, v in data.get("positive", {}).items()}
            negative = {int(k): int(v) for k, v in data.get("negative", {}).items()}
            zero = int(data.get("zero", 0))
            low = data.get("min")
            high = data.get("max")
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"malformed sketch data: {exc}") from exc
        if any(c < 0 for c in (*positive.values(), *negative.values(), zero)):
            raise ValueError("malformed sketch data: negative bucket count")
        sketch = cls(
            {k: v for k, v in positive.items() if v},
            {k: v for k, v in negative.items() if v},
            zero,
            None if low is None else _check_finite(low, "sketch min"),
            None if high is None else _check_finite(high, "sketch max"),
        )
        if (sketch.count == 0) != (sketch.min is None or sketch.max is None):
            raise ValueError("malformed sketch data: min/max do not match the counts")
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
    in bucket order gives the natural answer.
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
        """One summary of all the given ones (merged in order)."""
        total = cls()
        for summary in summaries:
            total.absorb(summary)
        return total

    def add(self, timestamp: datetime, value: float) -> None:
        """Count one event. Raises ``ValueError`` for a non-finite value or a naive
        timestamp."""
        number = _check_finite(value, "an event value")
        _require_aware(timestamp, "an event timestamp")
        self.count += 1
        self.sum += number
        self.min = number if self.min is None else min(self.min, number)
        self.max = number if self.max is None else max(self.max, number)
        if self.last_ts is None or timestamp >= self.last_ts:
            self.last_ts = timestamp
            self.last_value = number
        self.sketch.add(number)

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
        return self.sketch.quantile(_QUANTILES[func])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form; timestamps as ISO-8601 text."""
        return {
            "count": self.count,
            "sum": self.sum,
            "min": self.min,
            "max": self.max,
            "last_ts": None if self.last_ts is None else self.last_ts.isoformat(),
            "last_value": self.last_value,
            "sketch": self.sketch.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        """Rebuild a summary from :meth:`to_dict` output. Raises ``ValueError`` when the
        data is malformed."""
        try:
            last_ts_text = data.get("last_ts")
            last_ts = None if last_ts_text is None else datetime.fromisoformat(last_ts_text)
            summary = cls(
                count=int(data["count"]),
                sum=float(data["sum"]),
                min=None if data.get("min") is None else float(data["min"]),
                max=None if data.get("max") is None else float(data["max"]),
                last_ts=last_ts,
                last_value=None if data.get("last_value") is None else float(data["last_value"]),
                sketch=QuantileSketch.from_dict(data.get("sketch", {})),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed summary data: {exc!r}") from exc
        if summary.last_ts is not None:
            _require_aware(summary.last_ts, "last_ts")
        if summary.count < 0 or (summary.count == 0) != (summary.min is None):
            raise ValueError("malformed summary data: count does not match min/max")
        return summary
