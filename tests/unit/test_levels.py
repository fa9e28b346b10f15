"""Range decomposition over the rollup levels: exact tiling, coarsest pieces first."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from northstar.rollups.levels import RAW, decompose

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_long_range_uses_days_and_small_edges() -> None:
    start = T0 + timedelta(hours=5, minutes=7, seconds=3)
    end = T0 + timedelta(days=30, hours=2, minutes=1, seconds=9)
    pieces = decompose(start, end)
    sources = [p.source for p in pieces]
    assert sources[0] == "rollup_1d"
    assert sources.count(RAW) == 2
    raw_span = sum((p.end - p.start for p in pieces if p.source == RAW), timedelta())
    assert raw_span < timedelta(minutes=2)
    assert len(pieces) <= 7


def test_aligned_range_is_one_piece() -> None:
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
    steps = {
        "rollup_1d": timedelta(days=1),
        "rollup_1h": timedelta(hours=1),
        "rollup_1m": timedelta(minutes=1),
    }
    for piece in pieces:
        if piece.source != RAW:
            step = steps[piece.source]
            assert (piece.start - T0) % step == timedelta(0)
            assert (piece.end - T0) % step == timedelta(0)
