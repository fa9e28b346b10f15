"""MeasurementRepository: the idempotent sink. All SQL for raw events lives here.

A batch is written with COPY into a per-connection temporary table, then moved in one
statement: new `(source, event_id)` keys go into the dedupe ledger, and only the events
whose key was new go into `measurements`. Redelivered or re-sent events therefore change
nothing, whichever evaluator replica sees them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.events.model import MetricEvent

_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS incoming_events (
    time timestamptz NOT NULL,
    metric text NOT NULL,
    value double precision NOT NULL,
    dimensions jsonb NOT NULL,
    source text NOT NULL,
    event_id text NOT NULL
) ON COMMIT DELETE ROWS
"""

_MOVE_NEW = """
WITH fresh AS (
    INSERT INTO event_keys (source, event_id)
    SELECT source, event_id FROM incoming_events
    ON CONFLICT DO NOTHING
    RETURNING source, event_id
)
INSERT INTO measurements (time, metric, value, dimensions, source, event_id)
SELECT i.time, i.metric, i.value, i.dimensions, i.source, i.event_id
FROM incoming_events i JOIN fresh USING (source, event_id)
RETURNING source, event_id
"""

# Rows are sorted by name so concurrent evaluators lock catalogue rows in one order.
_UPSERT_CATALOGUE = """
INSERT INTO metrics AS m (name, first_seen, last_seen, last_received, event_count, dimensions)
SELECT name, first_seen, last_seen, last_received, event_count, dims::text[]
FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[],
            $5::bigint[], $6::text[])
     AS u(name, first_seen, last_seen, last_received, event_count, dims)
ORDER BY name
ON CONFLICT (name) DO UPDATE SET
    first_seen = least(m.first_seen, excluded.first_seen),
    last_seen = greatest(m.last_seen, excluded.last_seen),
    last_received = greatest(m.last_received, excluded.last_received),
    event_count = m.event_count + excluded.event_count,
    dimensions = ARRAY(
        SELECT DISTINCT d FROM unnest(m.dimensions || excluded.dimensions) d ORDER BY d
    )
"""


class MeasurementRepository:
    async def store(
        self, conn: AsyncConnection, events: Sequence[MetricEvent]
    ) -> list[MetricEvent]:
        """Store the events not seen before; return exactly those (in batch order)."""
        unique: dict[tuple[str, str], MetricEvent] = {}
        for event in events:
            unique.setdefault((event.source, event.event_id), event)
        if not unique:
            return []
        # Through SQLAlchemy first: its asyncpg adapter opens the transaction lazily, on its
        # first statement, and the COPY below must run inside it.
        await conn.exec_driver_sql(_STAGING_DDL)
        raw = await _driver(conn)
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
        new_keys = {(r["source"], r["event_id"]) for r in await raw.fetch(_MOVE_NEW)}
        return [event for key, event in unique.items() if key in new_keys]

    async def update_catalogue(
        self, conn: AsyncConnection, stored: Sequence[MetricEvent], received_at: datetime
    ) -> None:
        if not stored:
            return
        first: dict[str, datetime] = {}
        last: dict[str, datetime] = {}
        count: dict[str, int] = defaultdict(int)
        keys: dict[str, set[str]] = defaultdict(set)
        for e in stored:
            first[e.metric] = min(first.get(e.metric, e.timestamp), e.timestamp)
            last[e.metric] = max(last.get(e.metric, e.timestamp), e.timestamp)
            count[e.metric] += 1
            keys[e.metric].update(e.dimensions)
        names = sorted(count)
        raw = await _driver(conn)
        await raw.execute(
            _UPSERT_CATALOGUE,
            names,
            [first[n] for n in names],
            [last[n] for n in names],
            [received_at] * len(names),
            [count[n] for n in names],
            # A text[][] must be rectangular; ship each metric's keys as one array literal.
            ["{" + ",".join(sorted(keys[n])) + "}" for n in names],
        )


async def _driver(conn: AsyncConnection):  # type: ignore[no-untyped-def]
    """The asyncpg connection under SQLAlchemy's, in the same transaction (for COPY)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection
