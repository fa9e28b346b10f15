"""When a message may go out: grouping windows, quiet hours, digest periods, reminders.

Pure functions of plain values and `now` (always timezone-aware), so every rule has an
example test and none needs a clock or a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from northstar.notify.model import Severity


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily span of local time in which only critical messages go out. `start == end`
    means no quiet hours; `start > end` spans midnight (22:00–07:00)."""

    start: time
    end: time
    timezone: str

    def holds_until(self, now: datetime) -> datetime | None:
        """The instant quiet hours end if `now` is inside them, else None."""
        if self.start == self.end:
            return None
        local = now.astimezone(ZoneInfo(self.timezone))
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            inside = self.start <= clock < self.end
        else:
            inside = clock >= self.start or clock < self.end
        if not inside:
            return None
        end_day = local.date() if clock < self.end else local.date() + timedelta(days=1)
        return _at_local(end_day, self.end, self.timezone)


def send_at(
    first_event_at: datetime,
    window: timedelta,
    severity: Severity,
    quiet: QuietHours | None,
) -> datetime:
    """When a group of events opened at `first_event_at` goes out: at the end of its
    grouping window, later if the recipient's quiet hours then hold it (critical never
    waits for quiet hours)."""
    due = first_event_at + window
    if quiet is None or severity is Severity.CRITICAL:
        return due
    return quiet.holds_until(due) or due


class Cadence:
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True, slots=True)
class DigestPeriod:
    """One period of a digest: its key (unique per digest, the exactly-once guarantee),
    the instant it is due and the span it summarises."""

    key: str
    due_at: datetime
    since: datetime


def latest_period(
    cadence: str, at: time, timezone: str, now: datetime, *, weekday: int = 0
) -> DigestPeriod:
    """The most recent period whose due instant (`at` local time, every day or every
    `weekday`, Monday = 0) is not after `now`. Keys are the local date (`2026-03-02`) or
    the ISO week (`2026-W10`) of that instant, so every replica derives the same key."""
    local = now.astimezone(ZoneInfo(timezone))
    day = local.date()
    if cadence == Cadence.DAILY:
        if local.time().replace(tzinfo=None) < at:
            day -= timedelta(days=1)
        due = _at_local(day, at, timezone)
        return DigestPeriod(day.isoformat(), due, _at_local(day - timedelta(days=1), at, timezone))
    if cadence != Cadence.WEEKLY:
        raise ValueError(f"unknown cadence {cadence!r}")
    day -= timedelta(days=(day.weekday() - weekday) % 7)
    if day == local.date() and local.time().replace(tzinfo=None) < at:
        day -= timedelta(days=7)
    year, week, _ = day.isocalendar()
    due = _at_local(day, at, timezone)
    return DigestPeriod(
        f"{year}-W{week:02d}", due, _at_local(day - timedelta(days=7), at, timezone)
    )


def period_to_send(
    cadence: str,
    at: time,
    timezone: str,
    now: datetime,
    *,
    weekday: int = 0,
    set_at: datetime,
) -> DigestPeriod | None:
    """The period a digest set (created or moved) at `set_at` should send at `now`: the
    latest one due (`latest_period`), unless it fell due before the digest was set — a
    digest is never sent before its time, so a weekly one set on a Sunday for Mondays at
    08:30 first goes out on Monday at 08:30, not at once for the Monday just past.

    The comparison is to the minute (`set_at` truncated), the resolution digests are set
    in: one set at 12:15:40 for 12:15 is due, and goes out at once."""
    period = latest_period(cadence, at, timezone, now, weekday=weekday)
    if period.due_at < set_at.replace(second=0, microsecond=0):
        return None
    return period


@dataclass(frozen=True, slots=True)
class Reminder:
    """A check-in reminder: which missed period it is for (its dedupe key) and whether the
    unit lead hears about it too."""

    goal_id: str
    due_at: datetime
    missed: int
    escalate: bool

    @property
    def key(self) -> str:
        return f"reminder:{self.goal_id}:{self.due_at.isoformat()}"


def check_in_reminder(
    goal_id: str,
    cadence: timedelta,
    last_check_in_at: datetime,
    now: datetime,
    *,
    escalate_after: int,
) -> Reminder | None:
    """The reminder due now for a goal checked in every `cadence`, if any.

    The check-in is due at `last + cadence`; each further `cadence` without one is another
    missed check-in and another reminder (one per due instant, the latest). From the
    `escalate_after`-th missed check-in on, the unit lead is reminded as well."""
    if cadence <= timedelta(0) or now < last_check_in_at + cadence:
        return None
    missed = int((now - last_check_in_at) / cadence)
    due_at = last_check_in_at + missed * cadence
    return Reminder(goal_id, due_at, missed, escalate=missed >= escalate_after)


def _at_local(day: date, clock: time, timezone: str) -> datetime:
    """`clock` on `day` in `timezone`, as an aware datetime (a time skipped by a DST change
    is taken as the same wall time after it, as `zoneinfo` does with fold=0)."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(timezone))
