"""Cardinality limits at ingest: refuse early what ingest can already know.

The evaluator is the authority (a message can reach Kafka without ingest; it decides
with each metric's catalogue row locked, `northstar.rollups.writer`). Ingest applies the
same decision (`northstar.domain.cardinality.admit`) to a catalogue it caches for a few
seconds, so a client learns at once, as a per-event 422, that an event would pass a cap:

    request's events → metrics whose keys or set count could pass a cap (one pass)
                     → for those only: the events' sets, looked up where the set count
                       is near the cap → admit → refused events by index

The common path (every metric known, its keys known, far from the set cap) costs one
pass over the events and no query. A cache a few seconds old can let through an event
the evaluator then refuses (dead-lettered with the same reason); it never refuses one
the evaluator would take unless a cap was lowered meanwhile. When the database cannot be
read, ingest refuses nothing and leaves the decision to the evaluator.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.db.engine import driver
from northstar.domain.cardinality import (
    NEW_METRIC,
    CardinalityLimits,
    DimensionSet,
    MetricCardinality,
    Refusal,
    admit,
    needs_lookup,
)
from northstar.events.model import MetricEvent
from northstar.rollups.writer import KNOWN_DIMENSION_SETS

log = logging.getLogger(__name__)

_CATALOGUE = "SELECT name, dimensions, dimension_sets FROM metrics"


class CardinalityGate:
    def __init__(self, engine: AsyncEngine, limits: CardinalityLimits, *, ttl: float) -> None:
        self._engine = engine
        self._limits = limits
        self._ttl = ttl
        self._catalogue: dict[str, MetricCardinality] | None = None
        self._loaded_at = 0.0
        self._refreshing = asyncio.Lock()

    async def refusals(self, events: Sequence[MetricEvent]) -> dict[int, Refusal]:
        """The events (by position in `events`) that would push their metric past a cap."""
        catalogue = await self._current()
        if catalogue is None:
            return {}
        suspects = self._suspects(catalogue, events)
        if not suspects:
            return {}
        positions: list[int] = []
        sets: list[DimensionSet] = []
        for position, event in enumerate(events):
            if event.metric in suspects:
                dims = orjson.dumps(event.dimensions, option=orjson.OPT_SORT_KEYS).decode()
                positions.append(position)
                sets.append(DimensionSet(event.metric, dims, frozenset(event.dimensions)))
        look_up = needs_lookup(self._limits, catalogue, sets)
        try:
            known = await self._known(
                [(s.metric, s.dimensions) for s in sets if s.metric in look_up]
            )
        except Exception:
            log.warning("cannot look up dimension sets; leaving it to the evaluator")
            return {}
        admission = admit(self._limits, catalogue, sets, known)
        return {
            position: admission.refused[(s.metric, s.dimensions)]
            for position, s in zip(positions, sets, strict=True)
            if not admission.admits(s.metric, s.dimensions)
        }

    def _suspects(
        self, catalogue: dict[str, MetricCardinality], events: Sequence[MetricEvent]
    ) -> set[str]:
        """The metrics of `events` that could pass a cap: new keys beyond the key cap, or
        more events than room for new sets."""
        keys: dict[str, set[str]] = {}
        counts: dict[str, int] = {}
        for event in events:
            metric = event.metric
            seen = keys.get(metric)
            if seen is None:
                seen = keys[metric] = set()
                counts[metric] = 0
            seen.update(event.dimensions)
            counts[metric] += 1
        limits = self._limits
        suspects = set()
        for metric, metric_keys in keys.items():
            had = catalogue.get(metric, NEW_METRIC)
            new_keys = metric_keys - had.keys
            if (new_keys and len(had.keys) + len(new_keys) > limits.max_keys) or (
                had.sets + counts[metric] > limits.max_sets
            ):
                suspects.add(metric)
        return suspects

    async def _current(self) -> dict[str, MetricCardinality] | None:
        """The cached catalogue, refreshed when older than `ttl` (requests arriving during
        a refresh use the one they have); None while it could never be read."""
        if time.monotonic() - self._loaded_at < self._ttl or (
            self._refreshing.locked() and self._catalogue is not None
        ):
            return self._catalogue
        async with self._refreshing:
            if time.monotonic() - self._loaded_at >= self._ttl:
                try:
                    async with self._engine.connect() as conn:
                        rows = (await conn.execute(text(_CATALOGUE))).all()
                except Exception:
                    log.warning("cannot read the metric catalogue; leaving caps to the evaluator")
                    self._loaded_at = time.monotonic()  # try again after `ttl`, not per request
                    return self._catalogue
                self._catalogue = {
                    name: MetricCardinality(frozenset(dimensions), sets)
                    for name, dimensions, sets in rows
                }
                self._loaded_at = time.monotonic()
        return self._catalogue

    async def _known(self, pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
        known: dict[str, set[str]] = {}
        if not pairs:
            return known
        async with self._engine.connect() as conn:
            raw = await driver(conn)
            rows = await raw.fetch(
                KNOWN_DIMENSION_SETS, [m for m, _ in pairs], [d for _, d in pairs]
            )
        for row in rows:
            known.setdefault(row["metric"], set()).add(row["dimensions"])
        return known
