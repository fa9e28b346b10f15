"""When notifications may go out: quiet hours, grouping windows, digest periods and
check-in reminders (northstar/notify/timing.py), and how events rank."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from northstar.notify.model import Severity, severity_of
from northstar.notify.timing import QuietHours, check_in_reminder, latest_period, send_at

BERLIN = "Europe/Berlin"
NIGHT = QuietHours(time(22, 0), time(7, 0), BERLIN)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(BERLIN))  # type: ignore[misc]


def test_quiet_hours_spanning_midnight_hold_until_the_local_morning() -> None:
    assert NIGHT.holds_until(berlin(2026, 3, 2, 23, 30)) == berlin(2026, 3, 3, 7, 0)
    assert NIGHT.holds_until(berlin(2026, 3, 3, 6, 59)) == berlin(2026, 3, 3, 7, 0)
    assert NIGHT.holds_until(berlin(2026, 3, 3, 7, 0)) is None
    assert NIGHT.holds_until(berlin(2026, 3, 2, 21, 59)) is None


def test_quiet_hours_within_a_day_and_empty_quiet_hours() -> None:
    lunch = QuietHours(time(12, 0), time(13, 0), "UTC")
    noon = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
    assert lunch.holds_until(noon) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    assert QuietHours(time(9, 0), time(9, 0), "UTC").holds_until(noon) is None


def test_a_message_goes_at_the_end_of_its_window_unless_quiet_hours_hold_it() -> None:
    window = timedelta(seconds=60)
    evening = berlin(2026, 3, 2, 23, 0)
    assert send_at(evening, window, Severity.WARNING, None) == evening + window
    assert send_at(evening, window, Severity.WARNING, NIGHT) == berlin(2026, 3, 3, 7, 0)
    # Critical messages are never held.
    assert send_at(evening, window, Severity.CRITICAL, NIGHT) == evening + window


def test_daily_digest_periods_are_the_local_date_of_the_last_due_time() -> None:
    before = latest_period("daily", time(8, 30), BERLIN, berlin(2026, 3, 2, 8, 0))
    assert (before.key, before.due_at) == ("2026-03-01", berlin(2026, 3, 1, 8, 30))
    assert before.since == berlin(2026, 2, 28, 8, 30)
    after = latest_period("daily", time(8, 30), BERLIN, berlin(2026, 3, 2, 8, 30))
    assert (after.key, after.due_at) == ("2026-03-02", berlin(2026, 3, 2, 8, 30))
    # The same instant seen from UTC gives the same key: every replica agrees.
    utc = latest_period("daily", time(8, 30), BERLIN, berlin(2026, 3, 2, 8, 30).astimezone(UTC))
    assert utc == after


def test_weekly_digest_periods_are_iso_weeks_on_the_chosen_weekday() -> None:
    # Monday 2026-03-02 is in ISO week 10.
    monday = latest_period("weekly", time(9, 0), "UTC", datetime(2026, 3, 4, 12, tzinfo=UTC))
    assert (monday.key, monday.due_at) == ("2026-W10", datetime(2026, 3, 2, 9, tzinfo=UTC))
    early = latest_period("weekly", time(9, 0), "UTC", datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert early.key == "2026-W09"
    friday = latest_period(
        "weekly", time(16, 0), "UTC", datetime(2026, 3, 4, 12, tzinfo=UTC), weekday=4
    )
    assert friday.due_at == datetime(2026, 2, 27, 16, tzinfo=UTC)


@given(
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.sampled_from(["daily", "weekly"]),
    st.sampled_from(["UTC", BERLIN, "America/New_York", "Asia/Kolkata"]),
)
def test_the_latest_period_is_due_and_the_next_one_is_not(
    naive: datetime, cadence: str, zone: str
) -> None:
    now = naive.replace(tzinfo=UTC)
    period = latest_period(cadence, time(8, 30), zone, now)
    assert period.due_at <= now
    step = timedelta(days=1 if cadence == "daily" else 7)
    assert now < period.due_at + step + timedelta(hours=1)  # one DST hour of slack
    assert period.since < period.due_at


def test_reminders_come_once_per_missed_check_in_and_escalate() -> None:
    last = datetime(2026, 3, 2, 9, tzinfo=UTC)
    week = timedelta(days=7)
    assert (
        check_in_reminder("g", week, last, last + week - timedelta(seconds=1), escalate_after=2)
        is None
    )
    first = check_in_reminder("g", week, last, last + week + timedelta(hours=1), escalate_after=2)
    assert first is not None
    assert (first.missed, first.escalate, first.due_at) == (1, False, last + week)
    second = check_in_reminder(
        "g", week, last, last + 2 * week + timedelta(hours=1), escalate_after=2
    )
    assert second is not None
    assert (second.missed, second.escalate) == (2, True)
    assert first.key != second.key


def test_severity_of_events() -> None:
    assert severity_of("alert.opened", {"severity": "critical"}) is Severity.CRITICAL
    assert severity_of("goal.status_changed", {"to": "at_risk"}) is Severity.WARNING
    assert severity_of("goal.status_changed", {"to": "missed"}) is Severity.CRITICAL
    assert severity_of("goal.status_changed", {"to": "on_track"}) is Severity.INFO
