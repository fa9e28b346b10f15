"""A compiled fast path for ingest's common request: `{"events": [...]}` of valid events.

`msgspec` decodes the body straight into typed structs in C (types, required fields,
unknown fields, all at once, no dict per event); a tight loop then applies what a type
cannot say (names seen valid before, bounds, lengths, printable text, the timestamp's
window). It answers only "all valid, here are the events" or "not sure" (None): at the
first doubt, whatever it is, the caller parses and validates the body the ordinary way
(`services.ingest.bodies.parse_body` + `validate_event`), which decides and words every
refusal. So a refusal keeps its exact message, and what the fast path accepts is a
subset of what `validate_event` accepts, with the same events (checked in
`tests/unit/test_fastpath.py`). Why: docs/performance.md, "Ingest: the compiled fast path".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from northstar.events import validation
from northstar.events.model import MetricEvent
from northstar.events.validation import (
    MAX_DIMENSION_VALUE,
    MAX_DIMENSIONS,
    MAX_EVENT_ID,
    MAX_SOURCE,
    EventBounds,
)

# Integers up to 2**53 convert to float exactly in both decoders; past it (a bound set
# that high) the fast path stands aside rather than reason about rounding.
_EXACT = float(2**53)


class _Event(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    metric: str
    value: float  # a JSON integer becomes a float; `true` is refused (not a number)
    event_id: str | None = None
    timestamp: str | None = None  # parsed below exactly as `parse_timestamp` does
    dimensions: dict[str, str] | None = None
    source: str | None = None


class _Body(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    events: list[_Event]


_DECODER = msgspec.json.Decoder(_Body)


def valid_batch(
    raw: bytes,
    *,
    default_source: str,
    received_at: datetime,
    bounds: EventBounds,
) -> list[MetricEvent] | None:
    """The events of a `{"events": [...]}` JSON body when every one is plainly valid
    (what `validate_event` would return for each, in order); None at the first doubt."""
    max_abs = bounds.max_abs_value
    if not max_abs <= _EXACT:
        return None
    try:
        body = _DECODER.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, ValueError):
        return None
    earliest = bounds.earliest
    try:
        latest = received_at + bounds.max_future
    except OverflowError:
        return None
    metrics = validation._valid_metrics
    keys = validation._valid_dimension_keys
    fromisoformat = datetime.fromisoformat
    events: list[MetricEvent] = []
    append = events.append
    for e in body.events:
        metric, value, event_id, source = e.metric, e.value, e.event_id, e.source
        if metric not in metrics or not -max_abs <= value <= max_abs:
            return None
        if event_id is None:
            event_id = str(uuid.uuid4())
        elif not (0 < len(event_id) <= MAX_EVENT_ID and event_id.isprintable()):
            return None
        if source is None:
            source = default_source
        elif not (0 < len(source) <= MAX_SOURCE and source.isprintable()):
            return None
        raw_ts = e.timestamp
        if raw_ts is None:
            timestamp = received_at
        else:
            if len(raw_ts) < 20 or raw_ts[10] not in "Tt ":
                return None
            try:
                timestamp = fromisoformat(raw_ts)
                if timestamp.tzinfo is not UTC:
                    if timestamp.tzinfo is None:
                        return None
                    timestamp = timestamp.astimezone(UTC)
            except (ValueError, OverflowError):
                return None
            if not earliest <= timestamp <= latest:
                return None
        dimensions: dict[str, Any] | None = e.dimensions
        if dimensions is None:
            dimensions = {}
        elif dimensions:
            if len(dimensions) > MAX_DIMENSIONS:
                return None
            for key, val in dimensions.items():
                if key not in keys or len(val) > MAX_DIMENSION_VALUE or not val.isprintable():
                    return None
        append(MetricEvent(event_id, source, metric, value, timestamp, dimensions))
    return events
