"""Ingest's compiled fast path (`northstar.events.fastpath`) against the ordinary path:
it accepts only what `parse_body` + `validate_event` accept, with the same events, and
stands aside (None) for everything else, so refusals are always worded by the latter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from northstar.events.fastpath import valid_batch
from northstar.events.model import FieldError, MetricEvent
from northstar.events.validation import DEFAULT_BOUNDS, validate_event
from services.ingest.bodies import BodyError, parse_body

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GOOD = {
    "event_id": "e-1",
    "metric": "revenue",
    "value": 12.5,
    "timestamp": "2026-06-01T11:00:00.250Z",
    "dimensions": {"region": "eu", "channel": "web"},
    "source": "erp",
}


def ordinary(raw: bytes) -> list[MetricEvent] | None:
    """What the ordinary path makes of a JSON body: its events if all are valid."""
    errors: list[FieldError] = []
    try:
        objects = parse_body(raw, "application/json", errors)
    except BodyError:
        return None
    events = [
        validate_event(obj, i, default_source="key", received_at=NOW, errors=errors)
        for i, obj in enumerate(objects)
    ]
    return None if errors else events  # type: ignore[return-value]


def fast(raw: bytes) -> list[MetricEvent] | None:
    return valid_batch(raw, default_source="key", received_at=NOW, bounds=DEFAULT_BOUNDS)


def same(raw: bytes) -> list[MetricEvent] | None:
    """The fast path's answer, checked against the ordinary path's."""
    quick, slow = fast(raw), ordinary(raw)
    if quick is not None:
        assert slow is not None, raw
        assert len(quick) == len(slow)
        for a, b in zip(quick, slow, strict=True):
            assert (a.source, a.metric, a.value, a.timestamp, a.dimensions) == (
                b.source,
                b.metric,
                b.value,
                b.timestamp,
                b.dimensions,
            ), raw
            assert type(a.value) is float and a.timestamp.tzinfo is UTC
            assert a.event_id == b.event_id or len(a.event_id) == len(b.event_id) == 36
    return quick


def body(*events: dict[str, Any]) -> bytes:
    return orjson.dumps({"events": list(events)})


def test_the_common_request_takes_the_fast_path() -> None:
    ordinary(body(GOOD))  # the names are seen valid once
    events = same(body(GOOD, {"metric": "revenue", "value": 3}))
    assert events is not None and len(events) == 2
    assert events[0].timestamp == datetime(2026, 6, 1, 11, 0, 0, 250_000, tzinfo=UTC)
    assert events[1].timestamp == NOW and events[1].source == "key"
    assert events[1].value == 3.0 and events[1].dimensions == {}


@pytest.mark.parametrize(
    "raw",
    [
        body({**GOOD, "extra": 1}),  # unknown field
        body({**GOOD, "metric": "Revenue"}),
        body({**GOOD, "metric": "never_seen_before"}),  # not yet known valid: ordinary
        body({**GOOD, "value": True}),
        body({**GOOD, "value": "1"}),
        body({**GOOD, "value": 1e16}),
        b'{"events": [{"metric": "revenue", "value": 1e400}]}',
        b'{"events": [{"metric": "revenue", "value": 100000000000000000000000}]}',
        body({**GOOD, "event_id": ""}),
        body({**GOOD, "event_id": "a" * 101}),
        body({**GOOD, "event_id": "a\x00b"}),
        body({**GOOD, "event_id": "a\u0085b"}),
        body({**GOOD, "source": "s\x1f"}),
        body({**GOOD, "source": ""}),
        b'{"events": [{"metric": "revenue", "value": 1, "source": "\\ud800"}]}',
        body({**GOOD, "timestamp": "2026-06-01T11:00:00"}),  # no offset
        body({**GOOD, "timestamp": "2026-06-01"}),
        body({**GOOD, "timestamp": "20260601T110000Z"}),
        body({**GOOD, "timestamp": "2026-06-03T11:00:00Z"}),  # > 24 h ahead
        body({**GOOD, "timestamp": "1969-12-31T23:59:59Z"}),
        body({**GOOD, "timestamp": "0001-01-01T00:30:00+01:00"}),  # overflows to UTC
        body({**GOOD, "timestamp": 1}),
        body({**GOOD, "dimensions": {"Region": "eu"}}),
        body({**GOOD, "dimensions": {"region": 1}}),
        body({**GOOD, "dimensions": {"region": "e\x7fu"}}),
        body({**GOOD, "dimensions": {"region": "x" * 201}}),
        body({**GOOD, "dimensions": {f"k{i}": "v" for i in range(21)}}),
        body({**GOOD, "dimensions": ["region"]}),
        body(GOOD, "not an object"),  # type: ignore[arg-type]
        orjson.dumps(GOOD),  # one event, not {"events": [...]}
        orjson.dumps({"events": [GOOD], "more": 1}),
        b'{"events": [' + orjson.dumps(GOOD) + b"]} trailing",
        b"\xef\xbb\xbf" + body(GOOD),
        b"",
    ],
)
def test_anything_in_doubt_takes_the_ordinary_path(raw: bytes) -> None:
    ordinary(body(GOOD, {**GOOD, "dimensions": {f"k{i}": "v" for i in range(20)}}))
    assert same(raw) is None


def test_a_body_with_every_field_as_the_ordinary_path_reads_it() -> None:
    ordinary(body(GOOD))
    events = same(
        b'{"events": [{"metric": "revenue", "metric": "revenue", "value": -0,'
        b' "timestamp": "2026-06-01T13:30:00.1234567+02:00", "event_id": null,'
        b' "source": null, "dimensions": {"region": "a", "region": "b"}}],'
        b' "events": [{"metric": "revenue", "value": 2, "dimensions": null,'
        b' "timestamp": "2026-06-01 11:00:00Z"}]}'
    )
    assert events is not None and len(events) == 1  # the last "events" counts, as in orjson


_name = st.sampled_from(["revenue", "region", "channel", "Revenue", "", "a" * 120, "x\x00"])
_text = st.one_of(st.text(max_size=6), st.sampled_from(["eu", "web", "é", "a" * 201]))
_stamp = st.one_of(
    st.datetimes(
        min_value=datetime(1969, 12, 31), max_value=datetime(2026, 6, 3), timezones=st.just(UTC)
    ).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-06-01T10:00:00Z", "2026-06-01T10:00:00+05:30", "2026-06-01"]),
)
_event = st.fixed_dictionaries(
    {"metric": _name, "value": st.one_of(st.floats(), st.integers(), st.booleans())},
    optional={
        "event_id": st.one_of(st.none(), _text),
        "source": st.one_of(st.none(), _text),
        "timestamp": st.one_of(st.none(), _stamp),
        "dimensions": st.one_of(st.none(), st.dictionaries(_name, _text, max_size=3)),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_event, max_size=4))
def test_the_fast_path_never_accepts_what_the_ordinary_one_refuses(events: list[Any]) -> None:
    ordinary(body(GOOD))
    try:
        raw = body(*events)
    except orjson.JSONEncodeError:  # integers past 64 bits
        return
    same(raw)


def test_the_future_bound_counts_from_the_receive_time() -> None:
    ordinary(body(GOOD))
    edge = (NOW + timedelta(hours=24)).isoformat()
    assert same(body({**GOOD, "timestamp": edge})) is not None
    later = (NOW + timedelta(hours=24, microseconds=1)).isoformat()
    assert same(body({**GOOD, "timestamp": later})) is None
