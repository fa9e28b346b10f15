"""From what a source returned to metric events: one value per row, checked by the very
rules pushed events pass (`northstar.events.validation`, SPEC §3).

    kind's rows → PulledRow (time, value, dimensions) | RowProblem
                → ordered, numbered within equal (time, dimensions)
                → event objects with deterministic ids → validate_event → MetricEvent

Nothing here does I/O; the kinds (northstar/sources/kinds/) fetch, this module converts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from northstar.domain.sources import pulled_event_id, pulled_source
from northstar.events.model import FieldError, MetricEvent
from northstar.events.validation import (
    DEFAULT_BOUNDS,
    EventBounds,
    parse_timestamp,
    validate_event,
)
from northstar.rollups.batch import canonical_dimensions


class RowError(ValueError):
    """One row's value cannot become an event; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class PulledRow:
    """One value a source returned, with its time (aware, UTC) and dimensions."""

    time: datetime
    value: float
    dimensions: dict[str, str]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row left out, by its position in what the source returned (-1: a value refused
    after conversion, by a cardinality cap, whose row is named by its time instead)."""

    index: int
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "message": self.message}


@dataclass(slots=True)
class Pulled:
    """What one fetch produced: the rows as the source gave them (for the preview), the
    values they hold, and the rows left out with why."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    values: list[tuple[int, PulledRow]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def as_time(raw: Any) -> datetime:
    """A row's time: a datetime (naive ones are taken as UTC), a date (its midnight,
    UTC), an RFC 3339 string, or Unix seconds."""
    if isinstance(raw, datetime):
        return raw.replace(tzinfo=UTC) if raw.tzinfo is None else raw.astimezone(UTC)
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day, tzinfo=UTC)
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) == 10:
            try:
                return as_time(date.fromisoformat(text))
            except ValueError:
                pass
        try:
            return parse_timestamp(text)
        except ValueError as error:
            raise RowError(f"time {raw!r} {error}") from None
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(float(raw), UTC)
        except (OverflowError, ValueError, OSError):
            raise RowError(f"time {raw!r} is not a Unix time in seconds") from None
    if raw is None:
        raise RowError("time is missing (null)")
    raise RowError(f"time must be a timestamp, a date or Unix seconds, not {type(raw).__name__}")


def as_value(raw: Any) -> float:
    """A row's value: a number, or a string holding one."""
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float | Decimal):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise RowError(f"value {raw!r} is not a number") from None
    elif raw is None:
        raise RowError("value is missing (null)")
    else:
        raise RowError(f"value must be a number, not {type(raw).__name__}")
    if not math.isfinite(value):
        raise RowError("value must be finite (no NaN or Infinity)")
    return value


def as_dimension(raw: Any) -> str | None:
    """A dimension value as text; None (SQL NULL, JSON null) leaves the dimension out."""
    if raw is None:
        return None
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def to_events(
    values: Iterable[tuple[int, PulledRow]],
    *,
    source_name: str,
    metric: str,
    received_at: datetime,
    bounds: EventBounds = DEFAULT_BOUNDS,
) -> tuple[list[MetricEvent], list[RowProblem]]:
    """The events of a run's values, with deterministic ids; rows whose event would break
    a rule of SPEC §3 come back as problems (by the row's index) instead.

    Rows equal in time and dimensions are told apart by their place among themselves,
    ordered by value, so the same rows give the same ids on every run whatever order the
    source returned them in."""
    source = pulled_source(source_name)
    keyed = [
        (row.time, canonical_dimensions(row.dimensions), row.value, index, row)
        for index, row in values
    ]
    keyed.sort(key=lambda item: item[:3])
    events: list[MetricEvent] = []
    problems: list[RowProblem] = []
    previous: tuple[datetime, str] | None = None
    occurrence = 0
    earliest, latest = bounds.earliest, received_at + bounds.max_future
    for time, dims, value, index, row in keyed:
        occurrence = occurrence + 1 if (time, dims) == previous else 0
        previous = (time, dims)
        # The time is checked here (it is already a datetime: no need to print and parse
        # it again); every other rule of SPEC §3 by the shared validator.
        if time < earliest:
            problems.append(RowProblem(index, f"timestamp: is before {earliest.isoformat()} (UTC)"))
            continue
        if time > latest:
            hours = bounds.max_future.total_seconds() / 3600
            problems.append(
                RowProblem(index, f"timestamp: is more than {hours:g} hours in the future")
            )
            continue
        obj = {
            "event_id": pulled_event_id(metric, time, dims, occurrence),
            "source": source,
            "metric": metric,
            "value": value,
            "dimensions": row.dimensions,
        }
        errors: list[FieldError] = []
        event = validate_event(
            obj, index, default_source=source, received_at=time, errors=errors, bounds=bounds
        )
        if event is None or errors:
            problems.append(RowProblem(index, "; ".join(_words(e) for e in errors)))
        else:
            events.append(event)
    return events, problems


def _words(error: FieldError) -> str:
    return f"{error.field}: {error.message}" if error.field else error.message


def describe_problems(problems: Sequence[RowProblem], total: int, most: int = 5) -> str:
    """`3 of 120 rows were left out: row 4: value 'n/a' is not a number; …`"""
    shown = "; ".join(
        f"row {p.index}: {p.message}" if p.index >= 0 else p.message for p in problems[:most]
    )
    more = f"; and {len(problems) - most} more" if len(problems) > most else ""
    return f"{len(problems)} of {total} rows were left out: {shown}{more}"
