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
   once a metric's sets have been seen) is admitted as it is, taking no lock. Only new
   sets are admitted, under a lock on the catalogue rows of *their* metrics, taken in
   name order (inserted as placeholders for new metrics), which gives each metric's keys
   and set count; for a metric near its set cap the other sets are looked up again under
   the lock. `admit` decides; the events it refuses leave the batch (and the ledger, so
   that a replay after the cap is raised is not taken for a duplicate) and are returned
   to the caller, which dead-letters them after the commit. The admitted sets are
   inserted, and counted and their keys added on the catalogue row. With the rows
   locked, replicas adding sets to one metric take turns, so a cap is never overshot.
   The evaluator gives the admission its own short transaction (`store(...,
   admission=...)`), committed before the batch goes on, so a replica holds a metric's
   row for a few statements rather than for its whole batch: with series keying, new
   sets of one metric arrive at every replica at once (a new metric, a new region), and
   replicas would otherwise take turns batch by batch. The price: a set admitted for a
   batch that then fails for good keeps its place under the cap.
3. The admitted new events are COPYed into `measurements`.
4. The metric activity and the minute/hour/day/week rollups are folded forward from the
   summary rows with commutative upserts (sums, counts, least/greatest, sketch merges),
   so the order in which replicas commit does not matter. Every upsert touches rows in
   key order. Neither kind of row is shared between replicas: a rollup row belongs to
   one series (and salt), and every series is keyed to one partition
   (`northstar.events.routing`), whose owner alone writes it; a metric's activity is kept
   per shard, the partition its events came from (`metric_activity`), and summed by the
   readers. So replicas do not wait for each other's row locks at all
   (docs/architecture.md, "One writer per series"), only for a metric's catalogue row in
   step 2 while its new sets are being admitted.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
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

# Locks the catalogue rows of the metrics bringing new sets, in name order (the order
# every writer takes them in), inserting a placeholder (no sets) for a new metric;
# answers what each metric had before the batch.
_LOCK_CATALOGUE = """
INSERT INTO metrics AS m (name)
SELECT u.name FROM unnest($1::text[]) AS u(name)
ORDER BY u.name
ON CONFLICT (name) DO UPDATE SET dimension_sets = m.dimension_sets
RETURNING m.name, m.dimensions, m.dimension_sets
"""

# A placeholder whose metric had every new set refused.
_DROP_PLACEHOLDERS = """
DELETE FROM metrics WHERE name = ANY($1::text[]) AND dimension_sets = 0
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

# Inserts the admitted sets, and counts them and adds their keys on the (locked)
# catalogue rows. A set without keys (`{}`) counts too: the lateral join keeps it.
_ADD_SETS = """
WITH added AS (
    INSERT INTO metric_dimension_sets (metric, dimensions, first_seen)
    SELECT u.metric, u.dimensions::jsonb, $3::timestamptz
    FROM unnest($1::text[], $2::text[]) AS u(metric, dimensions)
    ORDER BY 1, 2
    ON CONFLICT DO NOTHING
    RETURNING metric, dimensions
)
UPDATE metrics AS m SET
    dimension_sets = m.dimension_sets + a.n,
    dimensions = ARRAY(SELECT DISTINCT d FROM unnest(m.dimensions || a.keys) d ORDER BY d)
FROM (
    SELECT added.metric, count(DISTINCT added.dimensions) AS n,
           array_remove(array_agg(DISTINCT k.key), NULL) AS keys
    FROM added LEFT JOIN LATERAL jsonb_object_keys(added.dimensions) AS k(key) ON true
    GROUP BY added.metric
) AS a
WHERE m.name = a.metric
"""

# The batch's activity per metric and shard (the partition its events came from): each
# row has one writer, the partition's owner (module docstring, step 4).
_UPSERT_ACTIVITY = """
INSERT INTO metric_activity AS a
    (metric, shard, first_seen, last_seen, last_received, event_count)
SELECT u.metric, u.shard, u.first_seen, u.last_seen, $6::timestamptz, u.event_count
FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::timestamptz[], $5::bigint[])
     AS u(metric, shard, first_seen, last_seen, event_count)
ORDER BY 1, 2
ON CONFLICT (metric, shard) DO UPDATE SET
    first_seen = least(a.first_seen, excluded.first_seen),
    last_seen = greatest(a.last_seen, excluded.last_seen),
    last_received = greatest(a.last_received, excluded.last_received),
    event_count = a.event_count + excluded.event_count
"""

# {table} and {sketch} come from `levels` and `sketches`, never from input.
_FOLD_ROLLUP = """
INSERT INTO {table} AS r
    (metric, bucket, dimensions, salt, count, sum, min, max, last_time, last_value, sketch)
SELECT u.metric, u.bucket, u.dimensions::jsonb, u.salt, u.count, u.sum, u.min, u.max,
       u.last_time, u.last_value, u.sketch::jsonb
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bigint[], $5::float8[],
            $6::float8[], $7::float8[], $8::timestamptz[], $9::float8[], $10::text[],
            $11::smallint[])
     AS u(metric, bucket, dimensions, count, sum, min, max, last_time, last_value, sketch,
          salt)
ORDER BY 1, 2, 3, 4
ON CONFLICT (metric, bucket, dimensions, salt) DO UPDATE SET
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


# Opens the short transaction the admission of new sets runs in, when the caller gives
# it one (module docstring, step 2): e.g. `engine.begin`.
AdmissionTransaction = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


class MeasurementWriter:
    def __init__(self, limits: CardinalityLimits | None = None) -> None:
        self._limits = limits or CardinalityLimits()

    async def store(
        self,
        conn: AsyncConnection,
        pending: PreparedBatch,
        *,
        received_at: datetime,
        admission: AdmissionTransaction | None = None,
    ) -> Stored:
        """Store the events not seen before and within the cardinality limits into
        `measurements`; return them (`pending` itself when all were) and the refused.
        New dimension sets are admitted in `conn`'s transaction, or in one of their own
        from `admission`, committed at once."""
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
        fresh, refused = await self._admit(raw, fresh, received_at, admission)
        if fresh:
            await raw.copy_records_to_table(
                "measurements", records=fresh.records, columns=MEASUREMENT_COLUMNS
            )
        return Stored(fresh, refused)

    async def _admit(
        self,
        raw: asyncpg.Connection,
        fresh: PreparedBatch,
        received_at: datetime,
        admission: AdmissionTransaction | None,
    ) -> tuple[PreparedBatch, list[RefusedEvent]]:
        """Step 2 of the module docstring: the events within the cardinality limits, and
        the refused ones (left out of the ledger too)."""
        pairs = fresh.dimension_sets()
        known = await self._known(raw, pairs)
        new = [(m, d) for m, d in pairs if d not in known.get(m, ())]
        if not new:
            return fresh, []
        if admission is None:
            decided = await self._admit_sets(raw, new, known, received_at)
        else:
            async with admission() as own:
                decided = await self._admit_sets(await driver(own), new, known, received_at)
        if not decided.refused:
            return fresh, []
        refused = [
            RefusedEvent(source, event_id, decided.refused[(metric, dims)])
            for (_, metric, _, dims, source, event_id) in fresh.records
            if (metric, dims) in decided.refused
        ]
        await raw.execute(_DELETE_KEYS, [r.source for r in refused], [r.event_id for r in refused])
        return fresh.without(decided.refused), refused

    async def _admit_sets(
        self,
        raw: asyncpg.Connection,
        new: list[tuple[str, str]],
        known: dict[str, set[str]],
        received_at: datetime,
    ) -> Admission:
        """Decide on the new sets with their metrics' catalogue rows locked; insert and
        count the admitted ones."""
        metrics = sorted({metric for metric, _ in new})
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
        decided = admit(self._limits, had, sets, known)
        admitted = [pair for pair in new if decided.admits(*pair)]
        await raw.execute(
            _ADD_SETS, [m for m, _ in admitted], [d for _, d in admitted], received_at
        )
        if decided.refused:
            await raw.execute(_DROP_PLACEHOLDERS, metrics)
        return decided

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

    async def fold(
        self, conn: AsyncConnection, summary: BatchSummary, received_at: datetime
    ) -> list[TouchedMetric]:
        """Fold a batch's summary into the metric activity and the rollups; return the
        metrics it touched."""
        raw = await driver(conn)
        activity = summary.metrics
        await raw.execute(
            _UPSERT_ACTIVITY,
            [a.metric for a in activity],
            [a.shard for a in activity],
            [a.first for a in activity],
            [a.last for a in activity],
            [a.count for a in activity],
            received_at,
        )
        await self.fold_rollups(conn, summary)
        touched: dict[str, TouchedMetric] = {}
        for a in activity:
            had = touched.get(a.metric)
            touched[a.metric] = (
                TouchedMetric(a.metric, a.first, a.last)
                if had is None
                else TouchedMetric(a.metric, min(had.first, a.first), max(had.last, a.last))
            )
        return list(touched.values())

    async def fold_rollups(self, conn: AsyncConnection, summary: BatchSummary) -> None:
        """Fold the summary into every rollup level. Separate so a bulk
        loader can fold history without the catalogue."""
        raw = await driver(conn)
        for level, rows in summary.rollups.items():
            if rows:
                await raw.execute(_FOLDS[level], *rows.columns())
