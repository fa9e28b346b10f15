"""The `northstar.events` message format.

One Kafka message carries a batch of up to `MAX_EVENTS_PER_MESSAGE` validated events from
one ingest request, all of series that belong to the message's partition:

    value:   {"v": 1, "events": [{"event_id", "source", "metric", "value",
                                   "timestamp" (RFC 3339), "dimensions"}, ...],
              "salt": n}   (only for a slice of a hot series, 1 ≤ n ≤ MAX_SALT)
    key:     the series key of the first event: `metric{canonical dimensions}`,
             `#salt` appended for a salted slice (`northstar.events.routing`)
    headers: content-type = application/vnd.northstar.events.v1+json

Why batches: per-message overhead (framing, CRC, compression frames, consumer
bookkeeping) dominates for small events; a batch per message is what lets one core move
six-figure event rates. Why that key: every event of a series goes to one partition, so
one evaluator replica writes every rollup row of the series and replicas never wait for
each other's row locks; a series too hot for one partition is sliced over a few salted
keys (docs/architecture.md, "One writer per series"). Nothing downstream relies on
per-key ordering: the store is keyed by `(source, event_id)` and late or out-of-order
events are folded in by time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
import orjson

from northstar.events.model import FieldError, MetricEvent
from northstar.events.validation import (
    DEFAULT_BOUNDS,
    MAX_EVENT_ID,
    MAX_SOURCE,
    NO_FUTURE_RULE,
    EventBounds,
    dimensions_valid,
    plainly_valid,
    valid_metric,
    validate_event,
)
from northstar.rollups.batch import Record, canonical_dimensions

CONTENT_TYPE = b"application/vnd.northstar.events.v1+json"
HEADERS = [("content-type", CONTENT_TYPE)]
FORMAT_VERSION = 1
MAX_EVENTS_PER_MESSAGE = 500
# The largest salt a message may carry (`northstar.events.routing`).
MAX_SALT = 64


# msgspec encodes the events' dataclasses about 2.5 times as fast as orjson does
# (docs/performance.md, "Ingest: the compiled fast path"); the JSON is the same but for a
# UTC timestamp's offset, written `Z` instead of `+00:00` (RFC 3339 allows both, and
# `parse_timestamp` reads both).
_ENCODE = msgspec.json.Encoder().encode


def encode_events(events: list[MetricEvent], salt: int = 0) -> bytes:
    if salt:
        return _ENCODE({"v": FORMAT_VERSION, "events": events, "salt": salt})
    return _ENCODE({"v": FORMAT_VERSION, "events": events})


@dataclass(frozen=True, slots=True)
class Rejected:
    """Something in a message that cannot be stored: the bytes to dead-letter and why."""

    payload: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class Decoded:
    events: list[MetricEvent]
    rejected: list[Rejected]
    # The salt of a hot series' slice (0: not salted): part of its rollup rows' identity.
    salt: int = 0


_REQUIRED_ON_WIRE = ("event_id", "source", "timestamp")
_REQUIRED_KEYS = frozenset(_REQUIRED_ON_WIRE)


def decode_message(value: bytes | None, bounds: EventBounds = DEFAULT_BOUNDS) -> Decoded:
    """Decode one message. A message that is not the format at all is rejected whole;
    an invalid event inside a valid message is rejected alone, so one bad event does not
    hold back the rest."""
    if not value:
        return Decoded([], [Rejected(value or b"", "empty message")])
    try:
        body: Any = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        return Decoded([], [Rejected(value, f"not JSON: {error}")])
    if not isinstance(body, dict) or body.get("v") != FORMAT_VERSION:
        return Decoded([], [Rejected(value, "not a northstar events v1 message")])
    raw_events = body.get("events")
    if not isinstance(raw_events, list):
        return Decoded([], [Rejected(value, "'events' must be a list")])
    salt = body.get("salt", 0)
    if salt.__class__ is not int or not 0 <= salt <= MAX_SALT:
        return Decoded([], [Rejected(value, f"'salt' must be an integer from 0 to {MAX_SALT}")])

    events: list[MetricEvent] = []
    rejected: list[Rejected] = []
    for index, raw in enumerate(raw_events):
        plain = plainly_valid(raw, bounds)
        if plain is not None:
            events.append(plain)
            continue
        errors: list[FieldError] = []
        if isinstance(raw, dict) and not raw.keys() >= _REQUIRED_KEYS:
            errors.extend(
                FieldError(index, name, "is required on the wire")
                for name in _REQUIRED_ON_WIRE
                if name not in raw
            )
        # On decode the future-timestamp rule was already applied by ingest at receive
        # time; re-applying it against the consumer's clock would dead-letter events
        # merely for lag. Every other rule applies again.
        event = validate_event(
            raw,
            index,
            default_source="",
            received_at=NO_FUTURE_RULE,
            errors=errors,
            bounds=bounds,
        )
        if event is None or errors:
            reason = "; ".join(f"{e.field or 'event'}: {e.message}" for e in errors)
            rejected.append(Rejected(orjson.dumps({"v": FORMAT_VERSION, "events": [raw]}), reason))
        else:
            events.append(event)
    return Decoded(events, rejected, salt)


# -- The fast path: a message of plainly valid events straight to `measurements` rows ----
#
# Almost every message the evaluator reads is ingest's own encoding of events it
# validated. `decode_rows` takes such a message to the rows the store COPYs without the
# dicts and `MetricEvent`s of `decode_message`: msgspec decodes it in C into the structs
# below (field names, types and lengths checked there), and a short loop checks what is
# left. At the first doubt it answers None and `decode_message` decides and explains, so
# what it accepts is exactly what `decode_message` accepts, with the same values
# (`tests/unit/test_events.py` checks the two against each other).


class _WireEvent(msgspec.Struct, forbid_unknown_fields=True):
    event_id: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_EVENT_ID)]
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SOURCE)]
    metric: str
    value: float  # an integer is taken too, as a float, as `validate_event` does
    timestamp: str
    # Kept as its JSON text: the text is the key of the canonical form (`_DIMENSIONS`).
    dimensions: msgspec.Raw = msgspec.Raw(b"{}")


class _WireMessage(msgspec.Struct):
    v: int
    events: list[_WireEvent]
    salt: Annotated[int, msgspec.Meta(ge=0, le=MAX_SALT)] = 0


_WIRE = msgspec.json.Decoder(_WireMessage)

# Dimension sets as JSON text → their canonical text (`canonical_dimensions`), for the
# texts already found valid: a message repeats a few sets over and over. Bounded like
# validation's name caches.
_DIMENSIONS: dict[bytes, str] = {}
_SOURCES: dict[str, str] = {}
_REMEMBER = 10_000


def decode_rows(
    value: bytes, bounds: EventBounds = DEFAULT_BOUNDS
) -> tuple[list[Record], int] | None:
    """The events of a message of valid events as `measurements` rows (time in UTC,
    metric, value, canonical dimensions, source, event id), with the message's salt; None
    for anything else (a message the format refuses, an event `decode_message` would
    reject, or a name not seen valid yet), which `decode_message` then decodes."""
    try:
        message = _WIRE.decode(value)
    except msgspec.MsgspecError:
        return None
    if message.v != FORMAT_VERSION:
        return None
    # A string in JSON holds a character that is not printable only as an escape
    # (`\u0000`), as DEL or as bytes outside ASCII: without these, every text is.
    plain = value.isascii() and b"\\" not in value and b"\x7f" not in value
    low, high, earliest = -bounds.max_abs_value, bounds.max_abs_value, bounds.earliest
    parse, utc = datetime.fromisoformat, UTC
    dimensions, sources = _DIMENSIONS, _SOURCES
    rows: list[Record] = []
    append = rows.append
    try:
        for event in message.events:
            metric = valid_metric(event.metric)
            number = event.value
            text = event.timestamp
            if (
                metric is None
                or not low <= number <= high
                or len(text) < 20
                or text[10] not in "Tt "
            ):
                return None
            at = parse(text)
            if at.tzinfo is not utc:
                if at.tzinfo is None:
                    return None
                at = at.astimezone(utc)
            if at < earliest:
                return None
            raw = bytes(event.dimensions)
            dims = dimensions.get(raw)
            if dims is None:
                dims = _canonical(raw)
                if dims is None:
                    return None
            source, event_id = event.source, event.event_id
            if not plain and not (source.isprintable() and event_id.isprintable()):
                return None
            known = sources.get(source)
            if known is None:
                if len(sources) >= _REMEMBER:
                    sources.clear()
                known = sources[source] = source
            append((at, metric, number, dims, known, event_id))
    except (ValueError, OverflowError):  # an unparsable timestamp, or out of range in UTC
        return None
    return rows, message.salt


def _canonical(raw: bytes) -> str | None:
    """The canonical text of a valid dimension set given as JSON, remembered; else None."""
    try:
        dimensions = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not dimensions_valid(dimensions):
        return None
    if len(_DIMENSIONS) >= _REMEMBER:
        _DIMENSIONS.clear()
    text = _DIMENSIONS[raw] = canonical_dimensions(dimensions)
    return text
