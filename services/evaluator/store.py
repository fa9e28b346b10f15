"""MeasurementRepository: the idempotent sink. All SQL that writes raw events lives here.

A batch is written with COPY into a per-connection temporary table, then moved in one
statement: new `(source, event_id)` keys go into the dedupe ledger, and only the events
whose key was new go into `measurements` (and into `stored_events`, a second temporary
table the rest of the transaction reads). Redelivered or re-sent events therefore change
nothing, whichever evaluator replica sees them.

From `stored_events`, still in the same transaction, the metric catalogue and the
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

_UPSERT_CATALOGUE = """
INSERT INTO metrics AS m (name, first_seen, last_seen, last_received, event_count, dimensions)
SELECT metric, min(time), max(time), $1::timestamptz, count(*),
       ARRAY(SELECT DISTINCT k FROM stored_events s2, jsonb_object_keys(s2.dimensions) k
             WHERE s2.metric = s.metric ORDER BY k)
FROM stored_events s
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

# {table} and {unit} come from the fixed list below, never from input.
_FOLD_ROLLUP = """
INSERT INTO {table} AS r
    (metric, bucket, dimensions, count, sum, min, max, last_time, last_value, sketch)
SELECT s.metric, s.bucket, s.dimensions, s.count, s.sum, s.min, s.max,
       s.last_time, s.last_value, k.sketch
FROM (
    SELECT metric, date_trunc('{unit}', time, 'UTC') AS bucket, dimensions,
           count(*) AS count, sum(value) AS sum, min(value) AS min, max(value) AS max,
           max(time) AS last_time, (array_agg(value ORDER BY time DESC))[1] AS last_value
    FROM stored_events GROUP BY 1, 2, 3
) s
JOIN (
    SELECT metric, bucket, dimensions, jsonb_object_agg(key, n) AS sketch
    FROM (
        SELECT metric, date_trunc('{unit}', time, 'UTC') AS bucket, dimensions,
               northstar_sketch_key(value) AS key, count(*) AS n
        FROM stored_events GROUP BY 1, 2, 3, 4
    ) keyed
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
    sketch = northstar_sketch_merge(r.sketch, excluded.sketch)
"""
ROLLUP_TABLES = (("rollup_1m", "minute"), ("rollup_1h", "hour"), ("rollup_1d", "day"))

_TOUCHED = """
SELECT metric, min(time) AS first, max(time) AS last FROM stored_events GROUP BY metric
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
        await raw.execute(_UPSERT_CATALOGUE, received_at)
        for table, unit in ROLLUP_TABLES:
            await raw.execute(_FOLD_ROLLUP.format(table=table, unit=unit))
        return [
            TouchedMetric(r["metric"], r["first"], r["last"]) for r in await raw.fetch(_TOUCHED)
        ]
