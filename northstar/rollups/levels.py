"""The rollup levels, and how a time range splits into pieces each answered by the coarsest
level that fits it.

A KPI over `[start, end)` is answered from week buckets for the whole weeks inside it,
day buckets for the whole days left at either edge, hour buckets for the whole hours
left, minute buckets for the whole minutes left, and raw events only for the seconds at
the very edges. Whatever the range's length, that is at most ~2·(6 + 24 + 60) bucket rows
plus two minutes of raw events per dimension set, besides one row per whole week: a
30-day breakdown by 1,000 customers reads 6,000–12,000 rows instead of 30,000 day rows
(docs/performance.md, "Week rollups").

Buckets are counted from the Unix epoch in UTC, at every level: a week bucket starts on a
Thursday (1 January 1970 was one), as the api's 7-day chart steps do. Weeks are a storage
level, not a calendar: `decompose` tiles any range with them, whatever day it starts on.

The week level keeps no quantile sketch. Merging a batch's sketches into the stored ones
is most of what folding a coarse level costs (a week's sketch is as large as a day's and
is rewritten by every batch), so a percentile is read from the levels that keep sketches
(`decompose(..., sketches=True)`): day buckets for its whole days, as before the week
level existed. Every other function reads weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, slots=True)
class Level:
    """One rollup level: its table, the width of its buckets (UTC, from the epoch), and
    whether its rows keep quantile sketches (without, their `sketch` is `{}`)."""

    table: str
    width: timedelta
    sketches: bool = True


# The rollup levels, finest first; each level's width is a whole multiple of the one
# before. Adding a level is adding it here (and its table, in a migration): the batch
# summarises into every level, the writer folds every level and the readers tile
# ranges and steps with them.
MINUTE = Level("rollup_1m", timedelta(minutes=1))
HOUR = Level("rollup_1h", timedelta(hours=1))
DAY = Level("rollup_1d", timedelta(days=1))
WEEK = Level("rollup_1w", timedelta(days=7), sketches=False)
LEVELS: tuple[Level, ...] = (MINUTE, HOUR, DAY, WEEK)
RAW = "measurements"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Piece:
    source: str  # a rollup table, or RAW
    start: datetime
    end: datetime  # exclusive


def _floor(moment: datetime, step: timedelta) -> datetime:
    return _EPOCH + ((moment - _EPOCH) // step) * step


def _ceil(moment: datetime, step: timedelta) -> datetime:
    floored = _floor(moment, step)
    return floored if floored == moment else floored + step


def decompose(start: datetime, end: datetime, *, sketches: bool = False) -> list[Piece]:
    """Pieces that exactly tile `[start, end)`, coarsest first. Empty if end <= start.
    With `sketches`, only levels that keep quantile sketches are used."""
    pieces: list[Piece] = []
    _split(start, end, _SKETCHED_COARSEST_FIRST if sketches else _COARSEST_FIRST, pieces)
    return pieces


_COARSEST_FIRST = tuple(reversed(LEVELS))
_SKETCHED_COARSEST_FIRST = tuple(level for level in _COARSEST_FIRST if level.sketches)


def _split(start: datetime, end: datetime, levels: tuple[Level, ...], out: list[Piece]) -> None:
    if end <= start:
        return
    if not levels:
        out.append(Piece(RAW, start, end))
        return
    level, finer = levels[0], levels[1:]
    inner_start, inner_end = _ceil(start, level.width), _floor(end, level.width)
    if inner_start >= inner_end:
        _split(start, end, finer, out)
        return
    out.append(Piece(level.table, inner_start, inner_end))
    _split(start, inner_start, finer, out)
    _split(inner_end, end, finer, out)


def level_for_step(step: timedelta, start: datetime, *, sketches: bool = False) -> Level:
    """The coarsest level whose buckets tile steps of `step` from `start`: the bucket
    width divides `step` and `start` is on a bucket boundary, so every step is a whole
    number of buckets. A start off every boundary gets the finest level (its steps then
    hold the buckets that start within them). With `sketches`, only levels that keep
    quantile sketches. Raises `ValueError` for a step that is not a whole number of the
    finest level's buckets."""
    for level in _SKETCHED_COARSEST_FIRST if sketches else _COARSEST_FIRST:
        if step % level.width == timedelta(0) and (
            level is LEVELS[0] or _floor(start, level.width) == start
        ):
            return level
    raise ValueError("step must be a whole number of minutes")
