"""Range decomposition over the rollup levels: exact tiling, coarsest pieces first."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from northstar.rollups.levels import (
    DAY,
    HOUR,
    LEVELS,
    MINUTE,
    RAW,
    WEEK,
    Piece,
    decompose,
    level_for_step,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday: the epoch's weeks begin on one


def test_a_long_range_uses_weeks_then_days_and_small_edges() -> None:
    start = T0 + timedelta(hours=5, minutes=7, seconds=3)
    end = T0 + timedelta(days=30, hours=2, minutes=1, seconds=9)
    pieces = decompose(start, end)
    sources = [p.source for p in pieces]
    assert sources[0] == "rollup_1w"
    assert sources.count("rollup_1d") == 2  # the days before and after the whole weeks
    assert sources.count(RAW) == 2
    raw_span = sum((p.end - p.start for p in pieces if p.source == RAW), timedelta())
    assert raw_span < timedelta(minutes=2)
    assert len(pieces) <= 9


def test_percentiles_read_only_levels_that_keep_sketches() -> None:
    start = T0 + timedelta(hours=5)
    pieces = decompose(start, start + timedelta(days=30), sketches=True)
    assert "rollup_1w" not in {p.source for p in pieces}
    assert pieces[0] == Piece("rollup_1d", T0 + timedelta(days=1), T0 + timedelta(days=30))
    assert level_for_step(timedelta(days=14), T0, sketches=True) is DAY


def test_aligned_range_is_one_piece() -> None:
    assert [p.source for p in decompose(T0, T0 + timedelta(weeks=5))] == ["rollup_1w"]
    assert [p.source for p in decompose(T0, T0 + timedelta(days=3))] == ["rollup_1d"]
    assert [p.source for p in decompose(T0, T0 + timedelta(minutes=3))] == ["rollup_1m"]
    assert decompose(T0, T0) == []


@given(
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=0, max_value=10**12),
)
def test_pieces_tile_the_range_exactly(offset_us: int, length_us: int) -> None:
    start = T0 + timedelta(microseconds=offset_us)
    end = start + timedelta(microseconds=length_us)
    pieces = sorted(decompose(start, end), key=lambda p: p.start)
    if length_us == 0:
        assert pieces == []
        return
    assert pieces[0].start == start and pieces[-1].end == end
    for before, after in itertools.pairwise(pieces):
        assert before.end == after.start
    steps = {level.table: level.width for level in LEVELS}
    for piece in pieces:
        if piece.source != RAW:
            step = steps[piece.source]
            assert (piece.start - T0) % step == timedelta(0)
            assert (piece.end - T0) % step == timedelta(0)


def test_a_step_reads_the_coarsest_level_whose_buckets_tile_it_from_its_start() -> None:
    assert level_for_step(timedelta(days=14), T0) is WEEK
    # Weeks counted from a Monday are not whole epoch weeks: read from days.
    monday = datetime(2026, 1, 5, tzinfo=UTC)
    assert level_for_step(timedelta(days=7), monday) is DAY
    assert level_for_step(timedelta(days=7), T0 + timedelta(hours=3)) is HOUR
    assert level_for_step(timedelta(hours=2), T0 + timedelta(minutes=30)) is MINUTE
    with pytest.raises(ValueError):
        level_for_step(timedelta(seconds=90), T0)
    # Off every boundary: the finest level, whose buckets are binned by their start.
    assert level_for_step(timedelta(minutes=5), T0 + timedelta(seconds=1)) is MINUTE
