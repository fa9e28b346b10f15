"""MeasurementWriter: the idempotent sink. All SQL that writes raw events lives here.

A batch arrives as `PreparedBatch`: unique within the batch, and already summarised per
minute, hour, day and week by the decoder (`northstar/rollups/batch.py`). Storing it is,
in the batch's transaction:

1. The dedupe ledger. The batch's `(source, event_id)` keys are COPYed into `event_keys`
   inside a savepoint. Almost always every key is new and that is the whole dedupe step.
   If one was stored before (a redelivered batch, a client re-sending), the unique key
   refuses the COPY, the savepoint is rolled back, and the keys are inserted again with
   `ON CONFLICT DO NOTHING RETURNING`, which names the new ones; only those go on, with
   their own summary. Redelivered or re-sent events therefore change nothing, whichever
   evaluator replica sees them. (COPY into the ledger is much cheaper than the
   `INSERT … ON CONFLICT` it replaces on the common path: docs/performance.md.)
2. Cardinality limits (`northstar.domain.cardinality`). First, without a lock, which of
   the batch's (metric, dimension set) pairs the store already has: a known set is
   always admitted and changes no count, so a batch of known sets (almost every batch
   once a metric's sets have been seen) is admitted as it is, taking no lock here. Only a
   batch that brings a new set locks the catalogue rows of its metrics in name order
   (inserted as placeholders for new metrics), which gives each metric's keys and set
   count before the batch; for a metric near its set cap the batch's other sets are
   looked up again under the lock. `admit` decides; the events it refuses leave the batch
   (and the ledger, so that a replay after the cap is raised is not taken for a
   duplicate) and are returned to the caller, which dead-letters them after the commit.
   The admitted new sets are inserted and counted on the catalogue row. With the rows
   locked, replicas adding sets to one metric take turns, so a cap is never overshot;
   replicas writing known sets do not wait for each other until the fold (step 4), as
   before the limits existed (docs/performance.md, "Cardinality caps").
3. The admitted new events are COPYed into `measurements`.
4. The metric catalogue and the minute/hour/day/week rollups are folded forward from the
   summary rows with commutative upserts (sums, counts, least/greatest, sketch merges),
   so the order in which replicas commit does not matter. Every upsert touches rows in
   key order, so concurrent replicas take row locks in one order and cannot deadlock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.engine import driver
from northstar.domain.cardinality import (
    Admission,
    CardinalityLimits,
    DimensionSet,
    MetricCardinality,
    Refusal,
    admit,
    needs_lookup,
)
from northstar.rollups.batch import MEASUREMENT_COLUMNS, BatchSummary, PreparedBatch
from northstar.rollups.levels import LEVELS, Level
from northstar.rollups.sketches import MERGE_INTO_LARGE, MERGE_INTO_SMALL

_KEY_COLUMNS = ("source", "event_id")
_INSERT_NEW_KEYS = """
INSERT INTO event_keys (source, event_id)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT DO NOTHING
RETURNING source, event_id
"""

_DELETE_KEYS = """
DELETE FROM event_keys k USING unnest($1::text[], $2::text[]) AS u(source, event_id)
WHERE k.source = u.source AND k.event_id = u.event_id
"""

# Locks the batch's catalogue rows in name order (the order every writer takes them in),
# inserting a placeholder for a new metric (its first/last are filled by the catalogue
# upsert below through least/greatest); answers what each metric had before the batch.
_LOCK_CATALOGUE = """
INSERT INTO metrics AS m (name, first_seen, last_seen, last_received, event_count)
SELECT u.name, 'infinity', '-infinity', '-infinity', 0
FROM unnest($1::text[]) AS u(name)
ORDER BY u.name
ON CONFLICT (name) DO UPDATE SET event_count = m.event_count
RETURNING m.name, m.dimensions, m.dimension_sets
"""

# A placeholder whose metric had every event refused.
_DROP_PLACEHOLDERS = """
DELETE FROM metrics WHERE name = ANY($1::text[]) AND event_count = 0
"""

# Which of the given (metric, canonical dimensions) the metric has (ingest asks it too).
KNOWN_DIMENSION_SETS = """
SELECT u.metric, u.dimensions
FROM unnest($1::text[], $2::text[]) AS u(metric, dimensions)
WHERE EXISTS (
    SELECT 1 FROM metric_dimension_sets s
    WHERE s.metric = u.metric AND s.dimensions = u.dimensions::jsonb
)
"""

_ADD_SETS = """
WITH added AS (
    INSERT INTO metric_dimension_sets (metric, dimensions, first_seen)
    SELECT u.metric, u.dimensions::jsonb, $3::timestamptz
    FROM unnest($1::text[], $2::text[]) AS u(metric, dimensions)
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING
    RETURNING metric
)
UPDATE metrics AS m SET dimension_sets = m.dimension_sets + a.n
FROM (SELECT metric, count(*) AS n FROM added GROUP BY metric) AS a
WHERE m.name = a.metric
"""

_UPSERT_CATALOGUE = """
INSERT INTO metrics AS m (name, first_seen, last_seen, last_received, event_count, dimensions)
SELECT u.name, u.first_seen, u.last_seen, $6::timestamptz, u.event_count,
       ARRAY(SELECT DISTINCT k FROM jsonb_array_elements_text(u.keys::jsonb) k ORDER BY k)
FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::text[])
     AS u(name, first_seen, last_seen, event_count, keys)
ORDER BY u.name
ON CONFLICT (name) DO UPDATE SET
    first_seen = least(m.first_seen, excluded.first_seen),
    last_seen = greatest(m.last_seen, excluded.last_seen),
    last_received = greatest(m.last_received, excluded.last_received),
    event_count = m.event_count + excluded.event_count,
    dimensions = ARRAY(
        SELECT DISTINCT d FROM unnest(m.dimensions || excluded.dimensions) d ORDER BY d
    )
"""

# {table} and {sketch} come from `levels` and `sketches`, never from input.
_FOLD_ROLLUP = """
INSERT INTO {table} AS r
    (metric, bucket, dimensions, count, sum, min, max, last_time, last_value, sketch)
SELECT u.metric, u.bucket, u.dimensions::jsonb, u.count, u.sum, u.min, u.max,
       u.last_time, u.last_value, u.sketch::jsonb
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bigint[], $5::float8[],
            $6::float8[], $7::float8[], $8::timestamptz[], $9::float8[], $10::text[])
     AS u(metric, bucket, dimensions, count, sum, min, max, last_time, last_value, sketch)
ORDER BY 1, 2, 3
ON CONFLICT (metric, bucket, dimensions) DO UPDATE SET
    count = r.count + excluded.count,
    sum = r.sum + excluded.sum,
    min = least(r.min, excluded.min),
    max = greatest(r.max, excluded.max),
    last_value = CASE WHEN excluded.last_time >= r.last_time
                      THEN excluded.last_value ELSE r.last_value END,
    last_time = greatest(r.last_time, excluded.last_time),
    sketch = {sketch}
"""


def _sketch_merge(level: Level) -> str:
    """The finest level's sketches are small, the coarser ones' large (see `sketches`); a
    level without sketches keeps its `{}`."""
    if not level.sketches:
        return "r.sketch"
    return MERGE_INTO_SMALL if level is LEVELS[0] else MERGE_INTO_LARGE


_FOLDS = {
    level: _FOLD_ROLLUP.format(table=level.table, sketch=_sketch_merge(level)) for level in LEVELS
}


@dataclass(frozen=True, slots=True)
class TouchedMetric:
    """A metric the batch stored new events for, and the time range they cover."""

    metric: str
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class RefusedEvent:
    """An event the cardinality limits refused, and why."""

    source: str
    event_id: str
    refusal: Refusal


@dataclass(frozen=True, slots=True)
class Stored:
    """What `store` did: the events stored (new, admitted), and those refused."""

    fresh: PreparedBatch
    refused: list[RefusedEvent]


class MeasurementWriter:
    def __init__(self, limits: CardinalityLimits | None = None) -> None:
        self._limits = limits or CardinalityLimits()

    async def store(
        self, conn: AsyncConnection, pending: PreparedBatch, *, received_at: datetime
    ) -> Stored:
        """Store the events not seen before and within the cardinality limits into
        `measurements`; return them (`pending` itself when all were) and the refused."""
        if not pending:
            return Stored(pending, [])
        raw = await driver(conn)
        keys = pending.keys
        try:
            async with raw.transaction():  # a savepoint: a refused COPY undoes nothing else
                await raw.copy_records_to_table("event_keys", records=keys, columns=_KEY_COLUMNS)
            fresh = pending
        except asyncpg.UniqueViolationError:
            sources, ids = zip(*keys, strict=True)
            rows = await raw.fetch(_INSERT_NEW_KEYS, list(sources), list(ids))
            fresh = pending.only({(row["source"], row["event_id"]) for row in rows})
        if not fresh:
            return Stored(fresh, [])
        fresh, refused = await self._admit(raw, fresh, received_at)
        if fresh:
            await raw.copy_records_to_table(
                "measurements", records=fresh.records, columns=MEASUREMENT_COLUMNS
            )
        return Stored(fresh, refused)

    async def _admit(
        self, raw: asyncpg.Connection, fresh: PreparedBatch, received_at: datetime
    ) -> tuple[PreparedBatch, list[RefusedEvent]]:
        """Step 2 of the module docstring: the events within the cardinality limits, and
        the refused ones (left out of the ledger too)."""
        pairs = fresh.dimension_sets()
        known = await self._known(raw, pairs)
        new = [(m, d) for m, d in pairs if d not in known.get(m, ())]
        if not new:
            return fresh, []
        # Every metric of the batch, not only those with new sets: the fold locks them all
        # in name order, so taking a subset now could lock out of that order (a replica
        # holding `b` here would then wait for `a` at its fold while another holds `a` and
        # waits for `b`).
        metrics = sorted({metric for metric, _ in pairs})
        had = {
            row["name"]: MetricCardinality(frozenset(row["dimensions"]), row["dimension_sets"])
            for row in await raw.fetch(_LOCK_CATALOGUE, metrics)
        }
        # Sets are only ever added, so what was known above still is; a set another
        # replica committed since is found by the second look, under the lock.
        sets = [DimensionSet(m, d, frozenset(orjson.loads(d))) for m, d in new]
        look_up = needs_lookup(self._limits, had, sets)
        if look_up:
            for metric, found in (
                await self._known(raw, [(m, d) for m, d in new if m in look_up])
            ).items():
                known.setdefault(metric, set()).update(found)
        admission = admit(self._limits, had, sets, known)
        refused: list[RefusedEvent] = []
        if admission.refused:
            fresh, refused = await self._refuse(raw, fresh, admission, metrics)
            new = [pair for pair in new if admission.admits(*pair)]
        await raw.execute(_ADD_SETS, [m for m, _ in new], [d for _, d in new], received_at)
        return fresh, refused

    @staticmethod
    async def _known(raw: asyncpg.Connection, pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
        """Which of the (metric, canonical dimensions) pairs the store has, per metric."""
        known: dict[str, set[str]] = {}
        if pairs:
            rows = await raw.fetch(
                KNOWN_DIMENSION_SETS, [m for m, _ in pairs], [d for _, d in pairs]
            )
            for row in rows:
                known.setdefault(row["metric"], set()).add(row["dimensions"])
        return known

    async def _refuse(
        self,
        raw: asyncpg.Connection,
        fresh: PreparedBatch,
        admission: Admission,
        metrics: list[str],
    ) -> tuple[PreparedBatch, list[RefusedEvent]]:
        refused = [
            RefusedEvent(source, event_id, admission.refused[(metric, dims)])
            for (_, metric, _, dims, source, event_id) in fresh.records
            if (metric, dims) in admission.refused
        ]
        await raw.execute(_DELETE_KEYS, [r.source for r in refused], [r.event_id for r in refused])
        fresh = fresh.without(admission.refused)
        still = {record[1] for record in fresh.records}
        await raw.execute(_DROP_PLACEHOLDERS, [m for m in metrics if m not in still])
        return fresh, refused

    async def fold(
        self, conn: AsyncConnection, summary: BatchSummary, received_at: datetime
    ) -> list[TouchedMetric]:
        """Fold a batch's summary into the catalogue and the rollups; return the metrics
        it touched."""
        raw = await driver(conn)
        metrics = summary.metrics
        await raw.execute(
            _UPSERT_CATALOGUE,
            [m.metric for m in metrics],
            [m.first for m in metrics],
            [m.last for m in metrics],
            [m.count for m in metrics],
            [orjson.dumps(m.dimension_keys).decode() for m in metrics],
            received_at,
        )
        await self.fold_rollups(conn, summary)
        return [TouchedMetric(m.metric, m.first, m.last) for m in metrics]

    async def fold_rollups(self, conn: AsyncConnection, summary: BatchSummary) -> None:
        """Fold the summary into every rollup level. Separate so a bulk
        loader can fold history without the catalogue."""
        raw = await driver(conn)
        for level, rows in summary.rollups.items():
            if rows:
                await raw.execute(_FOLDS[level], *rows.columns())
