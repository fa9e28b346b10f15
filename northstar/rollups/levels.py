"""Split a time range into pieces each answered by the coarsest rollup that fits it.

A KPI over `[start, end)` is answered from day buckets for the whole days inside it, hour
buckets for the whole hours left at either edge, minute buckets for the whole minutes
left, and raw events only for the seconds at the very edges. Whatever the range's length,
that is at most ~2·(24 + 60) bucket rows plus two minutes of raw events per dimension set,
which is what keeps a goal over ten million events a millisecond-scale query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

LEVELS: tuple[tuple[str, timedelta], ...] = (
    ("rollup_1d", timedelta(days=1)),
    ("rollup_1h", timedelta(hours=1)),
    ("rollup_1m", timedelta(minutes=1)),
)
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
    _split(start, end, 0, pieces)
    return pieces


def _split(start: datetime, end: datetime, level: int, out: list[Piece]) -> None:
    if end <= start:
        return
    if level == len(LEVELS):
        out.append(Piece(RAW, start, end))
        return
    table, step = LEVELS[level]
    inner_start, inner_end = _ceil(start, step), _floor(end, step)
    if inner_start >= inner_end:
        _split(start, end, level + 1, out)
        return
    out.append(Piece(table, inner_start, inner_end))
    _split(start, inner_start, level + 1, out)
    _split(inner_end, end, level + 1, out)
