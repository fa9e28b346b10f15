"""ISO-8601 duration parsing and formatting."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from northstar.domain.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P1D", timedelta(days=1)),
        ("PT15M", timedelta(minutes=15)),
        ("P2W", timedelta(weeks=2)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("PT1H30M5S", timedelta(hours=1, minutes=30, seconds=5)),
        ("P0.5D", timedelta(hours=12)),
        ("PT1,5H", timedelta(minutes=90)),
        ("  pt5m ", timedelta(minutes=5)),
        ("P1M", timedelta(days=30)),
        ("P1Y", timedelta(days=365)),
        ("P1Y2M3DT4H", timedelta(days=365 + 60 + 3, hours=4)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("P", "invalid"),
        ("PT", "invalid"),
        ("P1DT", "invalid"),
        ("1D", "invalid"),
        ("P1H", "invalid"),
        ("PT1D", "invalid"),
        ("P1D1M", "invalid"),
        ("P-1D", "invalid"),
        ("-P1D", "negative"),
        ("PT0S", "zero"),
        ("P0D", "zero"),
        ("PT0.0000001S", "zero"),
    ],
)
def test_parse_duration_rejects(text: str, fragment: str) -> None:
    with pytest.raises(DurationError, match=fragment):
        parse_duration(text)


def test_duration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_duration("soon")


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=1), "P1D"),
        (timedelta(minutes=15), "PT15M"),
        (timedelta(days=1, hours=12), "P1DT12H"),
        (timedelta(milliseconds=500), "PT0.5S"),
        (timedelta(weeks=2), "P14D"),
        (timedelta(days=2, seconds=1, microseconds=1), "P2DT1.000001S"),
    ],
)
def test_format_duration(duration: timedelta, text: str) -> None:
    assert format_duration(duration) == text


@pytest.mark.parametrize("duration", [timedelta(0), timedelta(seconds=-1)])
def test_format_duration_rejects_non_positive(duration: timedelta) -> None:
    with pytest.raises(DurationError):
        format_duration(duration)


@given(st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=100_000)))
def test_format_round_trips_through_parse(duration: timedelta) -> None:
    assert parse_duration(format_duration(duration)) == duration
