"""Event validation, request bodies and the Kafka message format (SPEC §3), without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from northstar.events.codec import decode_message, encode_events
from northstar.events.model import FieldError, MetricEvent
from northstar.events.validation import plainly_valid, validate_event
from services.ingest.bodies import BodyError, parse_body

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def check(obj: object) -> tuple[MetricEvent | None, list[FieldError]]:
    errors: list[FieldError] = []
    return validate_event(obj, 0, default_source="key-name", received_at=NOW, errors=errors), errors


def test_defaults_are_filled_in() -> None:
    event, errors = check({"metric": "revenue", "value": 3})
    assert not errors and event is not None
    assert event.source == "key-name"
    assert event.timestamp == NOW
    assert len(event.event_id) == 36
    assert event.value == 3.0 and isinstance(event.value, float)
    assert event.dimensions == {}


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        ({"value": 1}, "metric"),
        ({"metric": "9lives", "value": 1}, "metric"),
        ({"metric": "a" * 101, "value": 1}, "metric"),
        ({"metric": "ok"}, "value"),
        ({"metric": "ok", "value": True}, "value"),
        ({"metric": "ok", "value": "1"}, "value"),
        ({"metric": "ok", "value": 1, "event_id": ""}, "event_id"),
        ({"metric": "ok", "value": 1, "source": "s" * 101}, "source"),
        ({"metric": "ok", "value": 1, "timestamp": "2026-06-01"}, "timestamp"),
        ({"metric": "ok", "value": 1, "timestamp": "2026-06-01T12:00:00"}, "timestamp"),
        ({"metric": "ok", "value": 1, "timestamp": 1717243200}, "timestamp"),
        ({"metric": "ok", "value": 1, "dimensions": ["a"]}, "dimensions"),
        ({"metric": "ok", "value": 1, "dimensions": {"a": 1}}, "dimensions.a"),
        ({"metric": "ok", "value": 1, "dimensions": {"_a": "x"}}, "dimensions._a"),
        ({"metric": "ok", "value": 1, "extra": 1}, "extra"),
    ],
)
def test_each_rule_names_its_field(obj: dict[str, object], field: str) -> None:
    event, errors = check(obj)
    assert event is None
    assert [e.field for e in errors] == [field]
    assert errors[0].index == 0 and errors[0].message


def test_limits_are_inclusive() -> None:
    dims = {f"k{i}": "v" * 200 for i in range(20)}
    event, errors = check(
        {"metric": "a" + "b" * 99, "value": -1e15, "event_id": "e" * 100, "dimensions": dims}
    )
    assert not errors and event is not None
    _, too_many = check(
        {"metric": "a", "value": 1, "dimensions": {f"k{i}": "v" for i in range(21)}}
    )
    assert [e.field for e in too_many] == ["dimensions"]


def test_future_timestamps_up_to_a_day_are_accepted() -> None:
    inside = (NOW + timedelta(hours=23, minutes=59)).isoformat()
    outside = (NOW + timedelta(hours=24, seconds=1)).isoformat()
    assert check({"metric": "a", "value": 1, "timestamp": inside})[0] is not None
    _, errors = check({"metric": "a", "value": 1, "timestamp": outside})
    assert [e.message for e in errors] == ["is more than 24 hours in the future"]


def test_offsets_are_kept_and_z_is_utc() -> None:
    event, _ = check({"metric": "a", "value": 1, "timestamp": "2026-06-01T14:00:00+02:00"})
    assert event is not None and event.timestamp == NOW
    event, _ = check({"metric": "a", "value": 1, "timestamp": "2026-06-01T12:00:00Z"})
    assert event is not None and event.timestamp == NOW


def test_json_bodies() -> None:
    errors: list[FieldError] = []
    assert parse_body(b'{"metric": "a", "value": 1}', "application/json", errors) == [
        {"metric": "a", "value": 1}
    ]
    assert len(parse_body(b'{"events": [{}, {}]}', "application/json", errors)) == 2
    # A lone object with an `events` key *and* more is an event with unknown fields.
    assert parse_body(b'{"events": [], "x": 1}', "application/json", errors) == [
        {"events": [], "x": 1}
    ]
    with pytest.raises(BodyError, match="not valid JSON"):
        parse_body(b"{", "application/json", errors)
    with pytest.raises(BodyError, match="empty"):
        parse_body(b"  \n", "application/json", errors)


def test_ndjson_names_the_bad_line() -> None:
    errors: list[FieldError] = []
    assert len(parse_body(b'{"a": 1}\n\n{"b": 2}\r\n', "application/x-ndjson", errors)) == 2
    with pytest.raises(BodyError, match="Line 2"):
        parse_body(b'{"a": 1}\nnope\n', "application/x-ndjson", errors)


def test_cloudevents_map_onto_events() -> None:
    errors: list[FieldError] = []
    ce = {
        "specversion": "1.0",
        "id": "x1",
        "source": "billing",
        "type": "t",
        "time": "2026-06-01T12:00:00Z",
        "traceparent": "00-abc",  # an extension attribute: allowed, ignored
        "data": {"metric": "revenue", "value": 2, "dimensions": {"region": "eu"}},
    }
    (event,) = parse_body(orjson.dumps(ce), "application/cloudevents+json", errors)
    assert not errors
    assert event == {
        "event_id": "x1",
        "source": "billing",
        "timestamp": "2026-06-01T12:00:00Z",
        "metric": "revenue",
        "value": 2,
        "dimensions": {"region": "eu"},
    }
    bad = [{"specversion": "0.3", "id": "1", "source": "s", "type": "t", "data": {"x": 1}}]
    assert parse_body(orjson.dumps(bad), "application/cloudevents-batch+json", errors) == [None]
    assert {e.field for e in errors} == {"specversion", "data.x"}


def test_codec_round_trip_with_and_without_a_salt() -> None:
    event = MetricEvent("id-1", "crm", "revenue", 2.5, NOW, {"region": "eu"})
    decoded = decode_message(encode_events([event, event]))
    assert decoded.rejected == []
    assert decoded.events == [event, event]
    assert decoded.salt == 0
    salted = decode_message(encode_events([event], salt=3))
    assert (salted.events, salted.salt) == ([event], 3)
    for bad in (-1, 65, "2", 1.5):
        message = orjson.dumps({"v": 1, "events": [], "salt": bad})
        assert decode_message(message).rejected[0].reason.startswith("'salt' must be")


def test_decode_isolates_the_bad_event() -> None:
    good = orjson.loads(encode_events([MetricEvent("a", "s", "m", 1.0, NOW, {})]))["events"][0]
    message = orjson.dumps({"v": 1, "events": [good, {**good, "value": "x"}, good]})
    decoded = decode_message(message)
    assert len(decoded.events) == 2
    (rejected,) = decoded.rejected
    assert "value: must be a number" in rejected.reason
    assert orjson.loads(rejected.payload)["events"][0]["value"] == "x"
    assert decode_message(b"").rejected[0].reason == "empty message"
    assert decode_message(b'{"v": 2, "events": []}').rejected[0].reason.startswith("not a")


_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
_field_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "x", "a" * 101, "orders", "Orders", "9lives", "shop"]),
    st.sampled_from(
        [
            "2026-05-01T10:00:00Z",
            "2026-05-01T10:00:00.123+05:30",
            "2026-05-01T10:00:00",
            "2026-05-01",
            "not a time",
            "2026-05-01T10:00:00+00:00x",
        ]
    ),
    st.dictionaries(
        st.sampled_from(["region", "Region", "channel", "x" * 51]),
        st.one_of(st.sampled_from(["eu", "", "v" * 201]), st.integers(0, 2), st.none()),
        max_size=3,
    ),
)
_event_objects = st.one_of(
    st.dictionaries(
        st.sampled_from(
            ["event_id", "source", "metric", "value", "timestamp", "dimensions", "extra"]
        ),
        _field_values,
    ),
    st.builds(
        lambda metric, value, ts, dims: {
            "event_id": "e-1",
            "source": "shop",
            "metric": metric,
            "value": value,
            "timestamp": ts,
            "dimensions": dims,
        },
        st.sampled_from(["orders", "revenue.eu", "Orders", ""]),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3)),
        st.sampled_from(["2026-05-01T10:00:00Z", "2026-05-01T10:00:00.5-07:00", "2026-13-01"]),
        st.dictionaries(st.sampled_from(["region", "Bad"]), st.sampled_from(["eu", "w" * 201])),
    ),
)


@settings(max_examples=500, deadline=None)
@given(_event_objects)
def test_the_decode_fast_path_accepts_only_what_validation_accepts(obj: object) -> None:
    # Teach the validator's name caches first, as a running evaluator's would be.
    check({"metric": "orders", "value": 1, "dimensions": {"region": "eu", "channel": "web"}})
    check({"metric": "revenue.eu", "value": 1})
    errors: list[FieldError] = []
    full = validate_event(obj, 0, default_source="", received_at=_FAR_FUTURE, errors=errors)
    fast = plainly_valid(obj)
    if fast is not None:
        assert not errors and full == fast


def test_the_decode_fast_path_takes_the_wire_form() -> None:
    event = MetricEvent("e-9", "shop", "orders", 2.5, NOW, {"region": "eu"})
    check({"metric": "orders", "value": 1, "dimensions": {"region": "eu"}})
    (obj,) = orjson.loads(encode_events([event]))["events"]
    assert plainly_valid(obj) == event


def test_the_printable_shortcut_refuses_exactly_what_the_control_pattern_refuses() -> None:
    """`_has_control` skips the regex for printable text: every code point must get the
    regex's own answer, alone and inside a name."""
    from northstar.events import validation

    for code in range(0x110000):
        char = chr(code)
        for text in (char, f"region{char}eu"):
            expected = validation._CONTROL.search(text) is not None
            assert validation._has_control(text) is expected, hex(code)
