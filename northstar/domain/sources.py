"""Sources (SPEC §16) as pure rules: when a source runs, which rows a run asks for, and
the id each pulled value is stored under.

- **Schedule.** `{"cron": "*/15 * * * *"}` (five fields, UTC) or `{"every": "PT15M"}`.
  Both yield *slots*: the instants a source is due. Interval slots are aligned to the
  Unix epoch (every PT15M: :00, :15, :30, :45), so every collector replica computes the
  same slots and a slot names one run (the database's unique `(source_id, slot)` is what
  makes "never twice in a slot" hold).
- **Window.** A run asks for rows with `start <= time < end`, where `end = now - settle`
  (rows younger than `settle` may still change: they wait for a later run) and `start =
  watermark - lookback` (the newest row time a run has stored, minus a margin for rows
  that arrive late), or `since` / `end - lookback` before the first good run.
- **Event ids.** A pulled value's id is derived from the source, the metric, the row's
  time and its canonical dimension set, plus the row's occurrence among rows with the
  same time and dimensions (ordered by value), so a re-run, an overlapping window or two
  runs racing name every value the same and the dedupe ledger stores it once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import CroniterBadCronError, croniter

from northstar.domain.durations import DurationError, format_duration, parse_duration

__all__ = [
    "EPOCH",
    "MAX_LOOKBACK",
    "Schedule",
    "ScheduleError",
    "Window",
    "parse_schedule",
    "pull_window",
    "pulled_event_id",
    "pulled_source",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_MICROSECOND = timedelta(microseconds=1)

MAX_LOOKBACK = timedelta(days=7)
"""The longest lookback a source may have. The dedupe ledger keeps a key for
`NORTHSTAR_DEDUPE_WINDOW_DAYS` (30 by default); a lookback well inside it means every
row a run asks for again is still known to the ledger (docs/sources.md)."""

MIN_INTERVAL = timedelta(seconds=10)
"""The shortest interval schedule: shorter ones would keep a collector busy for nothing."""


class ScheduleError(ValueError):
    """A schedule that cannot be used; the message says why, for the client."""


@dataclass(frozen=True, slots=True)
class Schedule:
    """Exactly one of `cron` (five-field expression, UTC) or `every` is set."""

    cron: str | None = None
    every: timedelta | None = None

    def next_slot(self, after: datetime) -> datetime:
        """The first slot strictly after `after` (aware)."""
        if self.every is not None:
            step = self.every
            elapsed = after - EPOCH
            return EPOCH + (elapsed // step + 1) * step
        assert self.cron is not None
        found = croniter(self.cron, after.astimezone(UTC)).get_next(datetime)
        assert isinstance(found, datetime)
        return found.astimezone(UTC)

    def as_dict(self) -> dict[str, str]:
        if self.every is not None:
            return {"every": format_duration(self.every)}
        assert self.cron is not None
        return {"cron": self.cron}


def parse_schedule(raw: dict[str, str]) -> Schedule:
    """`{"cron": …}` or `{"every": ISO-8601 duration}` → Schedule, or ScheduleError."""
    if set(raw) == {"cron"}:
        expression = raw["cron"].strip()
        if len(expression.split()) != 5:
            raise ScheduleError(
                "cron must have five fields (minute hour day month weekday), e.g. '*/15 * * * *'"
            )
        try:
            croniter(expression, EPOCH)
        except (CroniterBadCronError, ValueError, KeyError) as error:
            raise ScheduleError(f"cron is not a valid expression: {error}") from None
        return Schedule(cron=expression)
    if set(raw) == {"every"}:
        try:
            every = parse_duration(raw["every"])
        except DurationError as error:
            raise ScheduleError(f"every: {error}") from None
        if every < MIN_INTERVAL:
            raise ScheduleError("every must be at least PT10S")
        return Schedule(every=every)
    raise ScheduleError('the schedule is {"cron": "…"} or {"every": "PT15M"}, one of the two')


@dataclass(frozen=True, slots=True)
class Window:
    """The rows a run asks for: `start <= time < end`."""

    start: datetime
    end: datetime


def pull_window(
    *,
    now: datetime,
    watermark: datetime | None,
    lookback: timedelta,
    settle: timedelta = timedelta(0),
    since: datetime | None = None,
) -> Window:
    """The window of the next run. Before the first good run (no watermark) it starts at
    `since`, or one lookback before its end; after, at `watermark - lookback`. `start`
    never passes `end` (a watermark in the future, e.g. from rows stamped ahead, still
    asks for the last lookback)."""
    end = now - settle
    if watermark is None:
        start = since if since is not None else end - lookback
    else:
        start = watermark - lookback
    if start > end:
        start = end - lookback
    return Window(start, end)


def pulled_source(name: str) -> str:
    """The `source` of a pulled event (SPEC §16): the ledger's half of the dedupe key."""
    return f"pull:{name}"


def pulled_event_id(
    metric: str, time: datetime, canonical_dimensions: str, occurrence: int = 0
) -> str:
    """The id of a pulled value: the same row (metric, time to the microsecond in UTC,
    dimension set, and its place among rows equal in those) gives the same id on every
    run. 32 hex digits of SHA-256: collisions are out of reach, and the id stays far
    inside the 100-character limit."""
    microseconds = (time - EPOCH) // _MICROSECOND  # the instant, whatever its time zone
    text = f"{metric}\0{microseconds}\0{canonical_dimensions}\0{occurrence}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]
