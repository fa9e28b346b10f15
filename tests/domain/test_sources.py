"""The pure rules of sources (northstar/domain/sources.py, northstar/sources/rows.py):
schedules, windows, deterministic event ids, rows to events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from northstar.domain.sources import ScheduleError, parse_schedule, pull_window, pulled_event_id
from northstar.sources.rows import PulledRow, to_events

NOW = datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)


def test_interval_slots_are_aligned_to_the_epoch_so_every_replica_computes_the_same() -> None:
    schedule = parse_schedule({"every": "PT15M"})
    assert schedule.next_slot(NOW) == datetime(2026, 3, 10, 12, 15, tzinfo=UTC)
    assert schedule.next_slot(datetime(2026, 3, 10, 12, 15, tzinfo=UTC)) == datetime(
        2026, 3, 10, 12, 30, tzinfo=UTC
    )


def test_cron_slots_are_utc() -> None:
    schedule = parse_schedule({"cron": "0 6 * * *"})
    assert schedule.next_slot(NOW) == datetime(2026, 3, 11, 6, 0, tzinfo=UTC)
    assert schedule.as_dict() == {"cron": "0 6 * * *"}


@pytest.mark.parametrize(
    "raw",
    [{"cron": "61 * * * *"}, {"cron": "* * *"}, {"every": "PT1S"}, {"every": "soon"}, {}],
)
def test_bad_schedules_say_why(raw: dict[str, str]) -> None:
    with pytest.raises(ScheduleError):
        parse_schedule(raw)


def test_the_window_starts_a_lookback_before_the_watermark_and_ends_before_settle() -> None:
    window = pull_window(
        now=NOW,
        watermark=NOW - timedelta(hours=2),
        lookback=timedelta(hours=1),
        settle=timedelta(minutes=5),
    )
    assert window.start == NOW - timedelta(hours=3)
    assert window.end == NOW - timedelta(minutes=5)
    first = pull_window(now=NOW, watermark=None, lookback=timedelta(hours=1))
    assert first.start == NOW - timedelta(hours=1)
    since = NOW - timedelta(days=30)
    assert pull_window(now=NOW, watermark=None, lookback=timedelta(1), since=since).start == since


def test_event_ids_depend_on_time_dimensions_and_occurrence_only() -> None:
    one = pulled_event_id("tickets", NOW, '{"team":"a"}')
    assert one == pulled_event_id("tickets", NOW.astimezone(), '{"team":"a"}')
    assert one != pulled_event_id("tickets", NOW, '{"team":"b"}')
    assert one != pulled_event_id("tickets", NOW + timedelta(microseconds=1), '{"team":"a"}')
    assert one != pulled_event_id("tickets", NOW, '{"team":"a"}', 1)
    assert len(one) == 32


def test_equal_rows_get_distinct_ids_that_do_not_depend_on_the_order_returned() -> None:
    rows = [
        (0, PulledRow(NOW, 5.0, {"team": "a"})),
        (1, PulledRow(NOW, 3.0, {"team": "a"})),
        (2, PulledRow(NOW, 1.0, {"team": "b"})),
    ]
    events, problems = to_events(rows, source_name="shop", metric="tickets", received_at=NOW)
    again, _ = to_events(
        list(reversed(rows)), source_name="shop", metric="tickets", received_at=NOW
    )
    assert not problems
    assert len({e.event_id for e in events}) == 3
    assert {(e.event_id, e.value) for e in events} == {(e.event_id, e.value) for e in again}
    assert {e.source for e in events} == {"pull:shop"}


def test_rows_breaking_the_event_rules_are_left_out_with_the_reason() -> None:
    rows = [
        (0, PulledRow(NOW, 1.0, {"Bad Key": "x"})),
        (1, PulledRow(NOW + timedelta(days=3), 1.0, {})),
        (2, PulledRow(NOW, 2.0, {})),
    ]
    events, problems = to_events(rows, source_name="s", metric="m", received_at=NOW)
    assert [e.value for e in events] == [2.0]
    assert [p.index for p in problems] == [0, 1]
    assert "dimensions.Bad Key" in problems[0].message
    assert "future" in problems[1].message
