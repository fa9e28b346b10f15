"""Cardinality limits before Kafka: refuse early what ingest (and the collector) can
already know.

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
from collections import Counter
from collections.abc import Sequence
from operator import attrgetter, countOf

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
from northstar.rollups.batch import canonical_dimensions
from northstar.rollups.writer import KNOWN_DIMENSION_SETS

log = logging.getLogger(__name__)
_metric = attrgetter("metric")
_dimensions = attrgetter("dimensions")

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
        if not events:
            return {}
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
                dims = canonical_dimensions(event.dimensions)
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
        more events than room for new sets.

        On the common path this runs in C: the request's metrics, and the union of every
        event's keys, which bounds each metric's new keys (as the request's size bounds
        each metric's new sets); events are counted per metric only where that bound
        does not clear the set cap, and their keys gathered one by one only where the
        keys' bound does not clear the key cap."""
        limits = self._limits
        every_key = set().union(*map(_dimensions, events))
        suspects = set()
        unsure = set()
        tight = []
        for metric in set(map(_metric, events)):
            had = catalogue.get(metric, NEW_METRIC)
            if had.sets + len(events) > limits.max_sets:
                tight.append(metric)  # perhaps: counted below
            if not every_key <= had.keys and len(every_key | had.keys) > limits.max_keys:
                unsure.add(metric)
        if tight:
            metrics = list(map(_metric, events))
            counts = (
                Counter(metrics)
                if len(tight) > 16
                else {metric: countOf(metrics, metric) for metric in tight}
            )
            for metric in tight:
                if catalogue.get(metric, NEW_METRIC).sets + counts[metric] > limits.max_sets:
                    suspects.add(metric)
        if unsure:
            keys: dict[str, set[str]] = {metric: set() for metric in unsure}
            for event in events:
                if event.metric in unsure:
                    keys[event.metric].update(event.dimensions)
            for metric, metric_keys in keys.items():
                had = catalogue.get(metric, NEW_METRIC)
                if len(metric_keys | had.keys) > limits.max_keys and not metric_keys <= had.keys:
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
