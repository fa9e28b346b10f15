"""MeasurementWriter: the idempotent sink. All SQL that writes raw events lives here.

A batch arrives as `PreparedBatch`: unique within the batch, and already summarised per
minute, hour and day by the decoder (`northstar/rollups/batch.py`). Storing it is,
in the batch's transaction:

1. The dedupe ledger. The batch's `(source, event_id)` keys are COPYed into `event_keys`
   inside a savepoint. Almost always every key is new and that is the whole dedupe step.
   If one was stored before (a redelivered batch, a client re-sending), the unique key
   refuses the COPY, the savepoint is rolled back, and the keys are inserted again with
   `ON CONFLICT DO NOTHING RETURNING`, which names the new ones; only those go on, with
   their own summary. Redelivered or re-sent events therefore change nothing, whichever
   evaluator replica sees them. (COPY into the ledger is much cheaper than the
   `INSERT … ON CONFLICT` it replaces on the common path: docs/performance.md.)
2. The new events are COPYed into `measurements`.
3. The metric catalogue and the minute/hour/day rollups are folded forward from the
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
from northstar.rollups.batch import MEASUREMENT_COLUMNS, BatchSummary, PreparedBatch
from northstar.rollups.levels import LEVELS
from northstar.rollups.sketches import MERGE_INTO_LARGE, MERGE_INTO_SMALL

_KEY_COLUMNS = ("source", "event_id")
_INSERT_NEW_KEYS = """
INSERT INTO event_keys (source, event_id)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT DO NOTHING
RETURNING source, event_id
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
# The finest level's sketches are small, the coarser ones' large (see `sketches`).
_FOLDS = {
    level: _FOLD_ROLLUP.format(
        table=level.table, sketch=MERGE_INTO_SMALL if level is LEVELS[0] else MERGE_INTO_LARGE
    )
    for level in LEVELS
}


@dataclass(frozen=True, slots=True)
class TouchedMetric:
    """A metric the batch stored new events for, and the time range they cover."""

    metric: str
    first: datetime
    last: datetime


class MeasurementWriter:
    async def store(self, conn: AsyncConnection, pending: PreparedBatch) -> PreparedBatch:
        """Store the events not seen before into `measurements`; return them (`pending`
        itself when all were new)."""
        if not pending:
            return pending
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
        if fresh:
            await raw.copy_records_to_table(
                "measurements", records=fresh.records, columns=MEASUREMENT_COLUMNS
            )
        return fresh

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
