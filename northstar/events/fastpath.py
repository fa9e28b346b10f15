"""A compiled fast path for ingest's common request: `{"events": [...]}` of valid events.

`msgspec` decodes the body straight into typed structs in C (types, required fields,
unknown fields, lengths and the value bound, all at once, no dict per event); a tight
loop then applies what a type cannot say (names seen valid before, printable text, the
timestamp's parse and window). It answers only "all valid, here are the events" or "not
sure" (None): at the first doubt, whatever it is, the caller parses and validates the
body the ordinary way (`services.ingest.bodies.parse_body` + `validate_event`), which
decides and words every refusal. So a refusal keeps its exact message, and what the fast
path accepts is a subset of what `validate_event` accepts, with the same events (checked
in `tests/unit/test_fastpath.py`). Why: docs/performance.md, "Ingest: the compiled fast
path".
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

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


_Text = Annotated[str, Meta(min_length=1, max_length=MAX_EVENT_ID)]
_Source = Annotated[str, Meta(min_length=1, max_length=MAX_SOURCE)]
_Dimensions = Annotated[
    dict[str, Annotated[str, Meta(max_length=MAX_DIMENSION_VALUE)]],
    Meta(max_length=MAX_DIMENSIONS),
]


@functools.cache
def _decoder(max_abs: float) -> msgspec.json.Decoder[Any]:
    """A decoder of `{"events": [...]}` whose values lie within `±max_abs`: the types,
    lengths and the value bound are checked in C while decoding."""

    options: dict[str, Any] = {"forbid_unknown_fields": True, "gc": False}
    event = msgspec.defstruct(
        "Event",
        [
            ("metric", str),
            # A JSON integer becomes a float; `true` is refused (not a number).
            ("value", Annotated[float, Meta(ge=-max_abs, le=max_abs)]),
            ("event_id", _Text | None, None),
            # Parsed below exactly as `parse_timestamp` does (its shortest form has 20).
            ("timestamp", Annotated[str, Meta(min_length=20)] | None, None),
            ("dimensions", _Dimensions | None, None),
            ("source", _Source | None, None),
        ],
        **options,
    )
    body = msgspec.defstruct("Body", [("events", list[event])], **options)  # type: ignore[valid-type]
    return msgspec.json.Decoder(body)


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
        body = _decoder(max_abs).decode(raw)
    except (msgspec.DecodeError, ValueError):
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
        metric, event_id, source = e.metric, e.event_id, e.source
        if metric not in metrics:
            return None
        if event_id is None:
            event_id = str(uuid.uuid4())
        elif not event_id.isprintable():
            return None
        if source is None:
            source = default_source
        elif not source.isprintable():
            return None
        raw_ts = e.timestamp
        if raw_ts is None:
            timestamp = received_at
        else:
            if raw_ts[10] not in "Tt ":
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
        dimensions = e.dimensions
        if dimensions is None:
            dimensions = {}
        else:
            for key, val in dimensions.items():
                if key not in keys or not val.isprintable():
                    return None
        append(MetricEvent(event_id, source, metric, e.value, timestamp, dimensions))
    return events
