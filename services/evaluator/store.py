"""MeasurementRepository: the idempotent sink. All SQL that writes raw events lives here.

A batch is written with COPY into a per-connection temporary table, then moved in one
statement: new `(source, event_id)` keys go into the dedupe ledger, and only the events
whose key was new go into `measurements` (and into `stored_events`, a second temporary
table the rest of the transaction reads). Redelivered or re-sent events therefore change
nothing, whichever evaluator replica sees them.

From `stored_events`, still in the same transaction, the batch is summarised per minute
(`batch_minutes`, `batch_minute_keys`), and from those the metric catalogue and the
minute/hour/day rollups are folded forward with commutative upserts (sums, counts,
least/greatest, sketch merges), so the order in which replicas commit does not matter.
Every upsert touches rows in key order, so concurrent replicas take row locks in one
order and cannot deadlock on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.engine import driver
from northstar.events.model import MetricEvent

_STAGING_DDL = (
    """
    CREATE TEMP TABLE IF NOT EXISTS incoming_events (
        time timestamptz NOT NULL,
        metric text NOT NULL,
        value double precision NOT NULL,
        dimensions jsonb NOT NULL,
        source text NOT NULL,
        event_id text NOT NULL
    ) ON COMMIT DELETE ROWS
    """,
    "CREATE TEMP TABLE IF NOT EXISTS stored_events (LIKE incoming_events) ON COMMIT DELETE ROWS",
)

_MOVE_NEW = """
WITH fresh AS (
    INSERT INTO event_keys (source, event_id)
    SELECT source, event_id FROM incoming_events
    ON CONFLICT DO NOTHING
    RETURNING source, event_id
), stored AS (
    INSERT INTO measurements (time, metric, value, dimensions, source, event_id)
    SELECT i.time, i.metric, i.value, i.dimensions, i.source, i.event_id
    FROM incoming_events i JOIN fresh USING (source, event_id)
    RETURNING time, metric, value, dimensions, source, event_id
)
INSERT INTO stored_events SELECT * FROM stored
"""

# The batch is aggregated once, to the minute, into two small temporary tables; every
# rollup level (and the catalogue) is then folded from those instead of from the events.
# Profiled (docs/performance.md): folding each level straight from `stored_events` sorted
# the whole batch three times and computed each event's sketch key three times, which
# was most of the evaluator's time per event.
_MINUTE_DDL = (
    """
    CREATE TEMP TABLE IF NOT EXISTS batch_minutes (
        metric text NOT NULL,
        bucket timestamptz NOT NULL,
        dimensions jsonb NOT NULL,
        count bigint NOT NULL,
        sum double precision NOT NULL,
        min double precision NOT NULL,
        max double precision NOT NULL,
        first_time timestamptz NOT NULL,
        last_time timestamptz NOT NULL,
        last_value double precision NOT NULL
    ) ON COMMIT DELETE ROWS
    """,
    """
    CREATE TEMP TABLE IF NOT EXISTS batch_minute_keys (
        metric text NOT NULL,
        bucket timestamptz NOT NULL,
        dimensions jsonb NOT NULL,
        key text NOT NULL,
        n bigint NOT NULL
    ) ON COMMIT DELETE ROWS
    """,
)
_AGGREGATE_MINUTES = (
    """
    INSERT INTO batch_minutes
    SELECT metric, date_trunc('minute', time, 'UTC'), dimensions,
           count(*), sum(value), min(value), max(value),
           min(time), max(time), (array_agg(value ORDER BY time DESC))[1]
    FROM stored_events GROUP BY 1, 2, 3
    """,
    """
    INSERT INTO batch_minute_keys
    SELECT metric, date_trunc('minute', time, 'UTC'), dimensions,
           northstar_sketch_key(value), count(*)
    FROM stored_events GROUP BY 1, 2, 3, 4
    """,
)

_UPSERT_CATALOGUE = """
INSERT INTO metrics AS m (name, first_seen, last_seen, last_received, event_count, dimensions)
SELECT metric, min(first_time), max(last_time), $1::timestamptz, sum(count),
       ARRAY(SELECT DISTINCT k FROM batch_minutes b2, jsonb_object_keys(b2.dimensions) k
             WHERE b2.metric = b.metric ORDER BY k)
FROM batch_minutes b
GROUP BY metric
ORDER BY metric
ON CONFLICT (name) DO UPDATE SET
    first_seen = least(m.first_seen, excluded.first_seen),
    last_seen = greatest(m.last_seen, excluded.last_seen),
    last_received = greatest(m.last_received, excluded.last_received),
    event_count = m.event_count + excluded.event_count,
    dimensions = ARRAY(
        SELECT DISTINCT d FROM unnest(m.dimensions || excluded.dimensions) d ORDER BY d
    )
"""

# {table}, {stats} and {keys} come from the fixed definitions below, never from input.
# The sketch merge is `northstar_sketch_merge` (schema 0002: counts added key by key)
# written inline over the batch's few keys only: the function, called per conflicting
# row, re-aggregated both sketches and was three quarters of the minute fold's time.
_FOLD_ROLLUP = """
INSERT INTO {table} AS r
    (metric, bucket, dimensions, count, sum, min, max, last_time, last_value, sketch)
SELECT s.metric, s.bucket, s.dimensions, s.count, s.sum, s.min, s.max,
       s.last_time, s.last_value, k.sketch
FROM ({stats}) s
JOIN (
    SELECT metric, bucket, dimensions, jsonb_object_agg(key, n) AS sketch
    FROM ({keys}) keyed
    GROUP BY 1, 2, 3
) k USING (metric, bucket, dimensions)
ORDER BY 1, 2, 3
ON CONFLICT (metric, bucket, dimensions) DO UPDATE SET
    count = r.count + excluded.count,
    sum = r.sum + excluded.sum,
    min = least(r.min, excluded.min),
    max = greatest(r.max, excluded.max),
    last_value = CASE WHEN excluded.last_time >= r.last_time
                      THEN excluded.last_value ELSE r.last_value END,
    last_time = greatest(r.last_time, excluded.last_time),
    sketch = r.sketch || coalesce(
        (SELECT jsonb_object_agg(e.key, e.value::bigint + coalesce((r.sketch->>e.key)::bigint, 0))
         FROM jsonb_each_text(excluded.sketch) e),
        '{{}}'::jsonb)
"""
# The minute level takes the batch summaries as they are; coarser levels merge them.
_MINUTE_STATS = (
    "SELECT metric, bucket, dimensions, count, sum, min, max, last_time, last_value "
    "FROM batch_minutes"
)
_MINUTE_KEYS = "SELECT metric, bucket, dimensions, key, n FROM batch_minute_keys"
_COARSER_STATS = """
    SELECT metric, date_trunc('{unit}', bucket, 'UTC') AS bucket, dimensions,
           sum(count)::bigint AS count, sum(sum) AS sum, min(min) AS min, max(max) AS max,
           max(last_time) AS last_time,
           (array_agg(last_value ORDER BY last_time DESC))[1] AS last_value
    FROM batch_minutes GROUP BY 1, 2, 3
"""
_COARSER_KEYS = """
    SELECT metric, date_trunc('{unit}', bucket, 'UTC') AS bucket, dimensions, key,
           sum(n)::bigint AS n
    FROM batch_minute_keys GROUP BY 1, 2, 3, 4
"""
_FOLDS = tuple(
    _FOLD_ROLLUP.format(table=table, stats=stats, keys=keys)
    for table, stats, keys in (
        ("rollup_1m", _MINUTE_STATS, _MINUTE_KEYS),
        ("rollup_1h", _COARSER_STATS.format(unit="hour"), _COARSER_KEYS.format(unit="hour")),
        ("rollup_1d", _COARSER_STATS.format(unit="day"), _COARSER_KEYS.format(unit="day")),
    )
)
# Sorting and hashing a batch of 100k events needs more than the 4 MB default; for this
# transaction only, so other sessions keep the server's setting.
_WORK_MEM = "SET LOCAL work_mem = '64MB'"

_TOUCHED = """
SELECT metric, min(first_time) AS first, max(last_time) AS last FROM batch_minutes GROUP BY metric
"""


@dataclass(frozen=True, slots=True)
class TouchedMetric:
    """A metric the batch stored new events for, and the time range they cover."""

    metric: str
    first: datetime
    last: datetime


class MeasurementRepository:
    async def store(self, conn: AsyncConnection, events: Sequence[MetricEvent]) -> int:
        """Store the events not seen before into `measurements` and `stored_events`;
        return how many were new."""
        unique: dict[tuple[str, str], MetricEvent] = {}
        for event in events:
            unique.setdefault((event.source, event.event_id), event)
        raw = await driver(conn)
        for ddl in _STAGING_DDL:
            await raw.execute(ddl)
        if not unique:
            return 0
        await raw.copy_records_to_table(
            "incoming_events",
            records=[
                (
                    e.timestamp,
                    e.metric,
                    e.value,
                    orjson.dumps(e.dimensions).decode(),
                    e.source,
                    e.event_id,
                )
                for e in unique.values()
            ],
        )
        status = await raw.execute(_MOVE_NEW)
        return int(status.rsplit(" ", 1)[-1])

    async def fold(self, conn: AsyncConnection, received_at: datetime) -> list[TouchedMetric]:
        """Fold `stored_events` into the catalogue and the rollups; return what it touched."""
        raw = await driver(conn)
        await self.summarise(conn)
        await raw.execute(_UPSERT_CATALOGUE, received_at)
        await self.fold_rollups(conn)
        return [
            TouchedMetric(r["metric"], r["first"], r["last"]) for r in await raw.fetch(_TOUCHED)
        ]

    async def summarise(self, conn: AsyncConnection) -> None:
        """Summarise `stored_events` per minute into `batch_minutes` / `batch_minute_keys`."""
        raw = await driver(conn)
        await raw.execute(_WORK_MEM)
        for statement in (*_MINUTE_DDL, *_AGGREGATE_MINUTES):
            await raw.execute(statement)

    async def fold_rollups(self, conn: AsyncConnection) -> None:
        """Fold the minute summaries into the minute, hour and day rollups (after
        `summarise`). Separate so a bulk loader can fold history without the catalogue."""
        raw = await driver(conn)
        for statement in _FOLDS:
            await raw.execute(statement)
