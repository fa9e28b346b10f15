"""Validation of event objects (SPEC §3), written as plain checks rather than a model.

Ingest validates tens of thousands of events per second; a hand-written pass over the
dict is several times cheaper than building a pydantic model per event, and lets every
error name its field the way the contract says. The evaluator runs the same checks on
decode, so a message that bypassed ingest cannot put bad rows in the store.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from northstar.events.model import FieldError, MetricEvent

METRIC_RE = re.compile(r"[a-z][a-z0-9_.]{0,99}")
DIMENSION_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,49}")
MAX_DIMENSIONS = 20
MAX_DIMENSION_VALUE = 200
MAX_EVENT_ID = 100
MAX_SOURCE = 100
MAX_FUTURE = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class EventBounds:
    """What the store can hold, checked at ingest and again on decode.

    Timestamps are compared after conversion to UTC (a year-1 timestamp with a positive
    offset would otherwise reach the rollups as year 0, which Python cannot represent).
    `max_abs_value` keeps every sum over any goal period finite: with the default, even a
    trillion events at the bound sum to 1e27, far below float's 1.8e308, and PostgreSQL's
    `sum + excluded.sum` fold never overflows."""

    earliest: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    max_future: timedelta = MAX_FUTURE
    max_abs_value: float = 1e15


DEFAULT_BOUNDS = EventBounds()

# NUL breaks PostgreSQL's COPY; the other C0/C1 control characters are refused too, so
# nothing stored can corrupt a log line, a CSV export or a terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MESSAGE = "must not contain NUL or other control characters"


def _has_control(text: str) -> bool:
    """Whether `text` holds a character `_CONTROL` refuses. Every such character is
    unprintable, so a printable string (`str.isprintable`, in C) has none and skips the
    regex, which decides the rest (what it saves: docs/performance.md, "Issue 29")."""
    return not text.isprintable() and _CONTROL.search(text) is not None


EVENT_FIELDS = frozenset({"event_id", "metric", "value", "timestamp", "dimensions", "source"})

# Metric names and dimension keys repeat endlessly; once one matched its pattern, a set
# lookup stands in for the regex (profiled: the regexes were a large share of validation,
# docs/performance.md). Only valid, exact `str` values are remembered, and the sets are
# bounded, so a client sending ever-new names costs memory of at most `_REMEMBER` entries each.
_REMEMBER = 10_000
# Name → the same name: a lookup answers both "seen valid?" and the one copy to keep.
_valid_metrics: dict[str, str] = {}
_valid_dimension_keys: dict[str, str] = {}


def _remember(known: dict[str, str], name: str) -> None:
    if len(known) >= _REMEMBER:
        known.clear()
    known[name] = name


def valid_metric(name: str) -> str | None:
    """`name` (one copy of it, shared by every event that names it) when it is a valid
    metric name, else None: `validate_event`'s metric rule for a `str`."""
    known = _valid_metrics.get(name)
    if known is None and METRIC_RE.fullmatch(name) is not None:
        _remember(_valid_metrics, name)
        known = name
    return known


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp with an offset (`Z` or `±hh:mm`) → aware datetime.

    Raises ValueError with a message fit for the client."""
    if len(text) < 20 or text[10] not in "Tt ":
        raise ValueError("must be an RFC 3339 timestamp such as 2026-01-31T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an RFC 3339 timestamp such as 2026-01-31T12:00:00Z") from None
    if parsed.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2026-01-31T12:00:00Z or +02:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


def validate_event(
    obj: Any,
    index: int,
    *,
    default_source: str,
    received_at: datetime,
    errors: list[FieldError],
    bounds: EventBounds = DEFAULT_BOUNDS,
) -> MetricEvent | None:
    """Check one event object. Appends its problems to `errors`; returns the event if valid.

    Absent `event_id` gets a server-assigned UUID, absent `timestamp` the receive time,
    absent `source` the API key's name. `bounds` limits timestamps (the future bound is
    counted from `received_at`) and values.
    """
    if not isinstance(obj, dict):
        errors.append(FieldError(index, "", "each event must be a JSON object"))
        return None
    before = len(errors)

    if not obj.keys() <= EVENT_FIELDS:
        for name in sorted(obj.keys() - EVENT_FIELDS):
            errors.append(FieldError(index, name, "unknown field"))

    metric = obj.get("metric")
    if metric is None:
        errors.append(FieldError(index, "metric", "is required"))
    elif metric.__class__ is str and metric in _valid_metrics:
        pass  # seen and matched before: the regex would match again
    elif not isinstance(metric, str) or METRIC_RE.fullmatch(metric) is None:
        errors.append(
            FieldError(
                index,
                "metric",
                "must match ^[a-z][a-z0-9_.]{0,99}$ (lower case, starting with a letter)",
            )
        )
    else:
        _remember(_valid_metrics, metric)

    value = obj.get("value")
    if value is None:
        errors.append(FieldError(index, "value", "is required"))
    elif isinstance(value, bool) or not isinstance(value, int | float):
        errors.append(FieldError(index, "value", "must be a number"))
    elif not math.isfinite(value):
        errors.append(FieldError(index, "value", "must be finite (no NaN or Infinity)"))
    elif not -bounds.max_abs_value <= value <= bounds.max_abs_value:
        errors.append(
            FieldError(
                index,
                "value",
                f"must be between -{bounds.max_abs_value:g} and {bounds.max_abs_value:g}",
            )
        )
    else:
        value = float(value)

    event_id = obj.get("event_id")
    if event_id is None:
        event_id = str(uuid.uuid4())
    elif not isinstance(event_id, str) or not 1 <= len(event_id) <= MAX_EVENT_ID:
        errors.append(FieldError(index, "event_id", "must be a string of 1 to 100 characters"))
    elif _has_control(event_id):
        errors.append(FieldError(index, "event_id", _CONTROL_MESSAGE))

    source = obj.get("source")
    if source is None:
        source = default_source
    elif not isinstance(source, str) or not 1 <= len(source) <= MAX_SOURCE:
        errors.append(FieldError(index, "source", "must be a string of 1 to 100 characters"))
    elif _has_control(source):
        errors.append(FieldError(index, "source", _CONTROL_MESSAGE))

    raw_ts = obj.get("timestamp")
    timestamp = received_at
    if raw_ts is not None:
        if not isinstance(raw_ts, str):
            errors.append(FieldError(index, "timestamp", "must be an RFC 3339 string"))
        else:
            try:
                timestamp = parse_timestamp(raw_ts)
            except ValueError as error:
                errors.append(FieldError(index, "timestamp", str(error)))
            else:
                _check_timestamp(timestamp, index, received_at, bounds, errors)

    dimensions = obj.get("dimensions")
    if dimensions is None:
        dimensions = {}
    elif not isinstance(dimensions, dict):
        errors.append(FieldError(index, "dimensions", "must be an object of strings"))
    else:
        _check_dimensions(dimensions, index, errors)

    if len(errors) != before:
        return None
    return MetricEvent(event_id, source, metric, value, timestamp, dimensions)  # type: ignore[arg-type]


def _check_timestamp(
    timestamp: datetime,
    index: int,
    received_at: datetime,
    bounds: EventBounds,
    errors: list[FieldError],
) -> None:
    if timestamp < bounds.earliest:
        errors.append(
            FieldError(index, "timestamp", f"is before {bounds.earliest.isoformat()} (UTC)")
        )
    elif received_at != NO_FUTURE_RULE and timestamp - received_at > bounds.max_future:
        hours = bounds.max_future.total_seconds() / 3600
        errors.append(FieldError(index, "timestamp", f"is more than {hours:g} hours in the future"))


# `received_at` for callers that applied the future rule already (see `codec`).
NO_FUTURE_RULE = datetime.max.replace(tzinfo=UTC)


def plainly_valid(obj: Any, bounds: EventBounds = DEFAULT_BOUNDS) -> MetricEvent | None:
    """The event, when `obj` is a complete event object that is plainly valid; else None.

    A fast path for the evaluator, whose events arrive in their complete wire form
    (every field present, as ingest encoded them): it accepts only what `validate_event`
    accepts, with the same result, and answers None at the first doubt (a missing field,
    an integer value, a name not seen valid before, anything unusual), so the caller runs
    `validate_event`, which decides and explains. The future-timestamp rule is not
    applied: on decode it was applied at receive time (see `northstar.events.codec`).
    `tests/unit/test_events.py` checks it against `validate_event`."""
    if obj.__class__ is not dict or len(obj) != 6:
        return None
    event_id, source = obj.get("event_id"), obj.get("source")
    metric, value = obj.get("metric"), obj.get("value")
    raw_ts, dimensions = obj.get("timestamp"), obj.get("dimensions")
    if not (
        event_id.__class__ is str
        and 0 < len(event_id) <= MAX_EVENT_ID
        and source.__class__ is str
        and 0 < len(source) <= MAX_SOURCE
        and metric.__class__ is str
        and metric in _valid_metrics
        and value.__class__ is float
        and -bounds.max_abs_value <= value <= bounds.max_abs_value  # False for NaN too
        and raw_ts.__class__ is str
        and dimensions.__class__ is dict
        and len(dimensions) <= MAX_DIMENSIONS
    ):
        return None
    known = _valid_dimension_keys
    for key, val in dimensions.items():
        if (
            key not in known
            or val.__class__ is not str
            or len(val) > MAX_DIMENSION_VALUE
            or (not val.isprintable() and _CONTROL.search(val) is not None)
        ):
            return None
    if _has_control(event_id) or _has_control(source):
        return None
    try:
        timestamp = parse_timestamp(raw_ts)
    except ValueError:
        return None
    if timestamp < bounds.earliest:
        return None
    return MetricEvent(event_id, source, metric, value, timestamp, dimensions)


def dimensions_valid(dimensions: Any) -> bool:
    """Whether `dimensions`, as decoded from JSON, passes `validate_event`'s rule for
    the field when present (null, which the rule takes for `{}`, is not valid here)."""
    if dimensions.__class__ is not dict:
        return False
    errors: list[FieldError] = []
    _check_dimensions(dimensions, 0, errors)
    return not errors


def _check_dimensions(dimensions: dict[str, Any], index: int, errors: list[FieldError]) -> None:
    if len(dimensions) > MAX_DIMENSIONS:
        errors.append(FieldError(index, "dimensions", "may have at most 20 keys"))
        return
    for key, val in dimensions.items():
        if key in _valid_dimension_keys:
            pass  # seen and matched before
        elif key.__class__ is str and DIMENSION_KEY_RE.fullmatch(key) is not None:
            _remember(_valid_dimension_keys, key)
        else:
            errors.append(
                FieldError(index, f"dimensions.{key}", "key must match ^[a-z][a-z0-9_]{0,49}$")
            )
            continue
        if not isinstance(val, str):
            errors.append(FieldError(index, f"dimensions.{key}", "value must be a string"))
        elif len(val) > MAX_DIMENSION_VALUE:
            errors.append(
                FieldError(index, f"dimensions.{key}", "value may have at most 200 characters")
            )
        elif _has_control(val):
            errors.append(FieldError(index, f"dimensions.{key}", f"value {_CONTROL_MESSAGE}"))


def utc_now() -> datetime:
    return datetime.now(UTC)
