"""Ingest's cap check (`northstar/events/cardinality.py`) skips most of the work on the
common path by bounds; this checks that it refuses exactly what the full decision
(`admit`, knowing every stored set) refuses, for any catalogue and request. The stored
sets come from a dict here instead of PostgreSQL (the query is exercised by
`tests/pipeline/test_cardinality.py`)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from northstar.domain.cardinality import (
    CardinalityLimits,
    DimensionSet,
    MetricCardinality,
    admit,
)
from northstar.events.cardinality import CardinalityGate
from northstar.events.model import MetricEvent

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_DIMENSIONS = st.dictionaries(st.sampled_from("abcdef"), st.sampled_from("xyz"), max_size=3)
_EVENTS = st.lists(st.tuples(st.sampled_from(["m", "n", "o"]), _DIMENSIONS), max_size=40)


def _canonical(dimensions: dict[str, str]) -> str:
    return json.dumps(dimensions, sort_keys=True, separators=(",", ":"))


class _Gate(CardinalityGate):
    def __init__(self, limits: CardinalityLimits, stored: dict[str, set[str]]) -> None:
        super().__init__(None, limits, ttl=3600)  # type: ignore[arg-type]
        self._catalogue = {
            metric: MetricCardinality(
                frozenset(k for text in texts for k in json.loads(text)), len(texts)
            )
            for metric, texts in stored.items()
        }
        self._loaded_at = time.monotonic()
        self.stored = stored

    async def _known(self, pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
        known: dict[str, set[str]] = {}
        for metric, dimensions in pairs:
            if dimensions in self.stored.get(metric, set()):
                known.setdefault(metric, set()).add(dimensions)
        return known


@settings(max_examples=300, deadline=None)
@given(
    stored=_EVENTS,
    request=_EVENTS,
    max_keys=st.integers(1, 6),
    max_sets=st.integers(1, 10),
)
def test_the_gate_refuses_exactly_what_admit_refuses_knowing_everything(
    stored: list[tuple[str, dict[str, str]]],
    request: list[tuple[str, dict[str, str]]],
    max_keys: int,
    max_sets: int,
) -> None:
    held: dict[str, set[str]] = {}
    for metric, dimensions in stored:
        held.setdefault(metric, set()).add(_canonical(dimensions))
    limits = CardinalityLimits(max_keys=max_keys, max_sets=max_sets)
    gate = _Gate(limits, held)
    events = [
        MetricEvent(str(i), "s", metric, 1.0, NOW, dimensions)
        for i, (metric, dimensions) in enumerate(request)
    ]
    got = asyncio.run(gate.refusals(events))

    sets = [DimensionSet(m, _canonical(d), frozenset(d)) for m, d in request]
    assert gate._catalogue is not None
    full = admit(limits, gate._catalogue, sets, held)
    want = {
        i: full.refused[(s.metric, s.dimensions)]
        for i, s in enumerate(sets)
        if not full.admits(s.metric, s.dimensions)
    }
    assert {i: r.message for i, r in got.items()} == {i: r.message for i, r in want.items()}
