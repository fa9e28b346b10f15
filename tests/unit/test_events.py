"""Event validation, request bodies and the Kafka message format (SPEC §3), without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from northstar.events.codec import decode_message, decode_rows, encode_events
from northstar.events.model import FieldError, MetricEvent
from northstar.events.validation import plainly_valid, validate_event
from northstar.rollups.batch import canonical_dimensions
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


def _as_rows(message: bytes) -> tuple[list[tuple[object, ...]], int] | None:
    """What `decode_message` makes of `message`, as `decode_rows` answers it: None when
    it rejects anything in it."""
    decoded = decode_message(message)
    if decoded.rejected:
        return None
    rows = [
        (e.timestamp, e.metric, e.value, canonical_dimensions(e.dimensions), e.source, e.event_id)
        for e in decoded.events
    ]
    return rows, decoded.salt


def _same(
    fast: tuple[list[tuple[object, ...]], int], full: tuple[list[tuple[object, ...]], int]
) -> bool:
    # repr tells 0.0 from -0.0, and the timestamps' zones apart.
    return repr(fast) == repr(full)


_number_texts = st.from_regex(
    r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,25})?([eE][-+]?[0-9]{1,3})?", fullmatch=True
)
_texts = st.sampled_from(
    [
        "e-1",
        "",
        "a" * 101,
        "ü-1",
        "tab\\tx",
        "nul\\u0000",
        "del\x7f",
        "nbsp\u00a0",
        "\\ud800",
        'q\\"q',
    ]
)
_timestamps = st.sampled_from(
    [
        "2026-05-01T10:00:00Z",
        "2026-05-01T10:00:00.123456+00:00",
        "2026-05-01t10:00:00.5-07:00",
        "2026-05-01 10:00:00+05:30",
        "2026-05-01T10:00:00.1234567Z",
        "2026-05-01T10:00:00",
        "1969-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",
        "2026-05-01T24:00:00Z",
        "not a time at all...",
    ]
)


@st.composite
def _wire_messages(draw: st.DrawFn) -> bytes:
    """Message texts near ingest's wire form: its encoding of valid events, each with at
    most one field swapped for something else (written as JSON text), or left out."""
    events = []
    for _ in range(draw(st.integers(0, 3))):
        fields = {
            "event_id": f'"e-{draw(st.integers(0, 3))}"',
            "source": '"shop"',
            "metric": '"orders"',
            "value": draw(st.sampled_from(["2.5", "-0.0", "7", "1e15"])),
            "timestamp": '"2026-05-01T10:00:00.250000+00:00"',
            "dimensions": '{"channel":"web","region":"eu"}',
        }
        swap = draw(st.sampled_from([None, *fields, "drop", "extra"]))
        if swap in ("event_id", "source"):
            fields[swap] = f'"{draw(_texts)}"'
        elif swap == "metric":
            fields[swap] = draw(st.sampled_from(['"revenue.eu"', '"Orders"', '"new_one"', "1"]))
        elif swap == "value":
            fields[swap] = draw(st.one_of(_number_texts, st.sampled_from(["true", "null", '"1"'])))
        elif swap == "timestamp":
            fields[swap] = f'"{draw(_timestamps)}"'
        elif swap == "dimensions":
            fields[swap] = draw(
                st.sampled_from(
                    [
                        '{"region":"eu"}',
                        "{}",
                        "null",
                        '{"region":"eu","region":"na"}',
                        '{"Region":"eu"}',
                        '{"region":1}',
                        "[]",
                        '{"region":"e\\u0000u"}',
                    ]
                )
            )
        elif swap == "drop":
            del fields[draw(st.sampled_from(sorted(fields)))]
        elif swap == "extra":
            fields["extra"] = "1"
        events.append("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}")
    top = draw(
        st.sampled_from(
            ['"v":1', '"v":2', '"v":1.0', '"v":1,"salt":3', '"v":1,"salt":65', '"v":1,"x":0']
        )
    )
    return ("{" + top + ',"events":[' + ",".join(events) + "]}").encode()


def _one_event(**fields: object) -> bytes:
    event = {
        "event_id": "e-1",
        "source": "shop",
        "metric": "orders",
        "value": 2.5,
        "timestamp": "2026-05-01T10:00:00Z",
        **fields,
    }
    return orjson.dumps({"v": 1, "events": [event]})


@settings(max_examples=300, deadline=None)
@given(_wire_messages())
@example(_one_event(timestamp="1969-12-31T23:59:59Z"))
@example(_one_event(timestamp="0001-01-01T00:30:00+01:00"))
@example(_one_event(value=1e15 * (1 + 2**-52)))
@example(_one_event(event_id="e\u00a0"))
@example(_one_event(source="s\x85"))
@example(_one_event(dimensions={"region": "e\x00u"}))
def test_the_row_fast_path_agrees_with_decode_message(message: bytes) -> None:
    """`decode_rows` answers only for a message `decode_message` takes whole, and then
    with the same rows and salt; anything else it leaves to `decode_message`."""
    check({"metric": "orders", "value": 1, "dimensions": {"region": "eu", "channel": "web"}})
    check({"metric": "revenue.eu", "value": 1})
    fast = decode_rows(message)
    if fast is not None:
        full = _as_rows(message)
        assert full is not None and _same(fast, full), message


def test_the_row_fast_path_takes_ingests_wire_form() -> None:
    events = [
        MetricEvent("e-1", "shop", "orders", 2.5, NOW, {"region": "eu", "channel": "web"}),
        MetricEvent("e-2", "shop", "orders", -0.0, NOW + timedelta(microseconds=7), {}),
        MetricEvent("e-3", "crm", "orders", 1e15, NOW, {"region": "Zürich"}),
    ]
    for salt in (0, 5):
        message = encode_events(events, salt=salt)
        fast = decode_rows(message)
        full = _as_rows(message)
        assert fast is not None and full is not None and _same(fast, full)
        assert fast[1] == salt
