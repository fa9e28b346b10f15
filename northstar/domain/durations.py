"""ISO-8601 durations: parsing and canonical formatting.

Durations appear in the contract as a KPI's ``max_staleness`` and a goal's rolling
``window`` (SPEC §4, §5). They are always positive spans of wall-clock time, so they map
onto :class:`datetime.timedelta`; calendar-relative units are approximated (see
:func:`parse_duration`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_YEAR", "DurationError", "format_duration", "parse_duration"]

DAYS_PER_MONTH = 30
"""A month in a duration (``P1M``) is this many days: a window has a fixed length."""

DAYS_PER_YEAR = 365
"""A year in a duration (``P1Y``) is this many days."""

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DURATION = re.compile(
    rf"P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)
# Microseconds per unit, in the order of the regex groups above.
_UNIT_MICROSECONDS = (
    DAYS_PER_YEAR * 86_400_000_000,
    DAYS_PER_MONTH * 86_400_000_000,
    7 * 86_400_000_000,
    86_400_000_000,
    3_600_000_000,
    60_000_000,
    1_000_000,
)


class DurationError(ValueError):
    """A duration text that is not a positive ISO-8601 duration, or a non-positive span."""


def parse_duration(text: str) -> timedelta:
    """Parse a positive ISO-8601 duration such as ``P1D``, ``PT15M``, ``P2W``, ``P1DT12H``.

    Accepted: the designators ``Y M W D`` before ``T`` and ``H M S`` after it, in that
    order, each at most once; any component may carry a decimal fraction (``PT0.5S``,
    ``P0.5D``; ``,`` works as the decimal mark too). Letters are case-insensitive and
    surrounding whitespace is ignored.

    Months and years have no fixed length, but a business user writes ``P1M`` for a
    monthly window, so ``P1M`` is taken as exactly 30 days and ``P1Y`` as exactly 365
    days (:data:`DAYS_PER_MONTH`, :data:`DAYS_PER_YEAR`). The result is precise to the
    microsecond; finer fractions are truncated.

    Raises :class:`DurationError` for an empty or malformed text, a negative duration
    (``-P1D``) and a duration of zero length (``PT0S``): every use in Northstar needs a
    span of time that actually passes.
    """
    cleaned = text.strip().upper()
    if not cleaned:
        raise DurationError("empty duration: expected an ISO-8601 duration such as 'P1D'")
    if cleaned.startswith("-"):
        raise DurationError(f"duration {text!r} is negative: it must be a positive span")
    match = _DURATION.fullmatch(cleaned.removeprefix("+"))
    if match is None or cleaned.endswith("T") or match.lastindex is None:
        raise DurationError(
            f"invalid duration {text!r}: expected ISO-8601 such as 'P1D', 'PT15M', "
            "'P2W' or 'P1DT12H'"
        )
    total = Decimal(0)
    for group, unit in zip(match.groups(), _UNIT_MICROSECONDS, strict=True):
        if group is not None:
            try:
                total += Decimal(group.replace(",", ".")) * unit
            except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
                raise DurationError(f"invalid number {group!r} in duration {text!r}") from exc
    microseconds = int(total)
    if microseconds <= 0:
        raise DurationError(f"duration {text!r} is zero: it must be a positive span")
    try:
        return timedelta(microseconds=microseconds)
    except OverflowError as exc:
        raise DurationError(f"duration {text!r} is too long") from exc


def format_duration(duration: timedelta) -> str:
    """Return the canonical ISO-8601 text of a positive duration.

    Canonical means days plus a time part (``P1DT12H``, ``PT15M``, ``PT0.5S``, ``P14D``);
    weeks, months and years are never emitted, so the text is unambiguous and
    ``parse_duration(format_duration(d)) == d`` for every positive ``d``.
    Raises :class:`DurationError` for zero or negative durations.
    """
    if duration <= timedelta(0):
        raise DurationError(f"duration {duration} is not positive: it cannot be formatted")
    days = duration.days
    hours, rest = divmod(duration.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "P"
    if days:
        text += f"{days}D"
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or duration.microseconds:
        if duration.microseconds:
            fraction = f"{duration.microseconds:06d}".rstrip("0")
            time_part += f"{seconds}.{fraction}S"
        else:
            time_part += f"{seconds}S"
    if time_part:
        text += "T" + time_part
    return text
