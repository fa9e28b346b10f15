"""The rollup levels, and how a time range splits into pieces each answered by the coarsest
level that fits it.

A KPI over `[start, end)` is answered from day buckets for the whole days inside it, hour
buckets for the whole hours left at either edge, minute buckets for the whole minutes
left, and raw events only for the seconds at the very edges. Whatever the range's length,
that is at most ~2·(24 + 60) bucket rows plus two minutes of raw events per dimension set,
which is what keeps a goal over ten million events a millisecond-scale query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, slots=True)
class Level:
    """One rollup level: its table, and the width of its buckets (UTC, from the epoch)."""

    table: str
    width: timedelta


# The rollup levels, finest first; each level's width is a whole multiple of the one
# before. Adding a level is adding it here (and its table, in a migration): the batch
# summarises into every level, the writer folds every level and the readers tile
# ranges and steps with them.
MINUTE = Level("rollup_1m", timedelta(minutes=1))
HOUR = Level("rollup_1h", timedelta(hours=1))
DAY = Level("rollup_1d", timedelta(days=1))
LEVELS: tuple[Level, ...] = (MINUTE, HOUR, DAY)
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


def decompose(start: datetime, end: datetime) -> list[Piece]:
    """Pieces that exactly tile `[start, end)`, coarsest first. Empty if end <= start."""
    pieces: list[Piece] = []
    _split(start, end, _COARSEST_FIRST, pieces)
    return pieces


_COARSEST_FIRST = tuple(reversed(LEVELS))


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


def level_for_step(step: timedelta) -> Level:
    """The coarsest level whose bucket divides `step`, so every step is a whole number of
    buckets. Raises `ValueError` for a step that is not a whole number of the finest."""
    for level in _COARSEST_FIRST:
        if step % level.width == timedelta(0):
            return level
    raise ValueError("step must be a whole number of minutes")
