"""All SQL of the collector: claiming due slots and queued runs, recording results, the
per-source health counters, and the goals a source's alerts go on.

Claiming is the scheduler's whole concurrency story (docs/sources.md, "Where it runs"):
1. `DUE`: sources whose `next_run_at` has come are locked with `FOR UPDATE SKIP LOCKED`
   (another replica holding one simply skips it); for each, a `queued` run is inserted
   for that slot (`ON CONFLICT (source_id, slot) DO NOTHING`: a slot is one run, full
   stop) and `next_run_at` moves to the next slot. One transaction.
2. `CLAIM`: queued runs (scheduled or "run now") are taken the same way and marked
   `running` with a lease; a replica takes only as many as it has room for.
3. `EXPIRE`: a `running` run whose lease passed (its collector died) is failed in words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_DUE = text(
    """
SELECT id, schedule, next_run_at FROM sources
WHERE enabled AND next_run_at <= :now
ORDER BY next_run_at
LIMIT :n
FOR UPDATE SKIP LOCKED
"""
)
_QUEUE_SLOT = text(
    """
INSERT INTO source_runs (id, source_id, slot, trigger, status, created_at)
VALUES (:id, :source_id, :slot, 'schedule', 'queued', :now)
ON CONFLICT (source_id, slot) DO NOTHING
"""
)
_ADVANCE = text("UPDATE sources SET next_run_at = :next WHERE id = :id")
_CLAIM = text(
    """
UPDATE source_runs r SET status = 'running', started_at = :now, claimed_by = :me,
    lease_until = CAST(:now AS timestamptz)
        + make_interval(secs => s.timeout_seconds + CAST(:grace AS double precision))
FROM sources s
WHERE s.id = r.source_id AND r.id IN (
    SELECT q.id FROM source_runs q
    WHERE q.status = 'queued'
    ORDER BY q.created_at
    LIMIT :n
    FOR UPDATE OF q SKIP LOCKED
)
RETURNING r.id, r.source_id, r.slot, r.trigger
"""
)
_EXPIRE = text(
    """
UPDATE source_runs SET status = 'failed', finished_at = :now,
    error = 'the collector running it stopped before it finished (its lease expired); '
            || 'the next run asks for these rows again'
WHERE id IN (
    SELECT id FROM source_runs
    WHERE status = 'running' AND lease_until < :now
    FOR UPDATE SKIP LOCKED
)
RETURNING source_id
"""
)
_SOURCE = text(
    """
SELECT id, name, kind, connection, query, metric, mapping, timeout_seconds, max_rows,
       lookback, settle, since, watermark, consecutive_failures
FROM sources WHERE id = :id
"""
)
_SOURCE_FOR_UPDATE = text("SELECT consecutive_failures FROM sources WHERE id = :id FOR UPDATE")
_WINDOW = text("UPDATE source_runs SET window_start = :start, window_end = :end WHERE id = :id")
_SUCCEEDED = text(
    """
UPDATE source_runs SET status = 'succeeded', finished_at = :now, rows = :rows,
    events = :events, duplicates = :duplicates, rejected = :rejected, error = :error
WHERE id = :id
"""
)
_FAILED = text(
    """
UPDATE source_runs SET status = 'failed', finished_at = :now, rows = :rows, error = :error
WHERE id = :id
"""
)
_SOURCE_SUCCEEDED = text(
    """
UPDATE sources SET consecutive_failures = 0, last_run_id = :run_id,
    watermark = CASE WHEN CAST(:newest AS timestamptz) IS NULL THEN watermark
                     ELSE GREATEST(watermark, CAST(:newest AS timestamptz)) END
WHERE id = :id
"""
)
_SOURCE_FAILED = text(
    """
UPDATE sources SET consecutive_failures = consecutive_failures + 1,
    last_run_id = COALESCE(:run_id, last_run_id)
WHERE id = :id RETURNING consecutive_failures
"""
)
_KNOWN_IDS = text("SELECT event_id FROM event_keys WHERE source = :source AND event_id = ANY(:ids)")
_GOALS_OF_METRIC = text(
    """
SELECT g.id FROM goals g JOIN kpis k ON k.key = g.kpi_key
WHERE :metric = ANY(k.metrics) ORDER BY g.id
"""
)
_HEALTH = text(
    "SELECT name, watermark, consecutive_failures FROM sources WHERE enabled ORDER BY name"
)


@dataclass(frozen=True, slots=True)
class ClaimedRun:
    id: uuid.UUID
    source_id: uuid.UUID
    slot: datetime | None
    trigger: str


class CollectorRepository:
    async def due_sources(
        self, conn: AsyncConnection, now: datetime, most: int
    ) -> list[tuple[uuid.UUID, dict[str, Any], datetime]]:
        rows = (await conn.execute(_DUE, {"now": now, "n": most})).all()
        return [(r.id, r.schedule, r.next_run_at) for r in rows]

    async def queue_slot(
        self, conn: AsyncConnection, source_id: uuid.UUID, slot: datetime, now: datetime
    ) -> bool:
        """A queued run for `slot`; False when that slot has its run already."""
        result = await conn.execute(
            _QUEUE_SLOT, {"id": uuid.uuid4(), "source_id": source_id, "slot": slot, "now": now}
        )
        return bool(result.rowcount)

    async def advance(self, conn: AsyncConnection, source_id: uuid.UUID, next_at: datetime) -> None:
        await conn.execute(_ADVANCE, {"id": source_id, "next": next_at})

    async def claim(
        self, conn: AsyncConnection, *, me: str, now: datetime, most: int, grace: float
    ) -> list[ClaimedRun]:
        rows = (await conn.execute(_CLAIM, {"now": now, "me": me, "n": most, "grace": grace})).all()
        return [ClaimedRun(r.id, r.source_id, r.slot, r.trigger) for r in rows]

    async def expire(self, conn: AsyncConnection, now: datetime) -> list[uuid.UUID]:
        return [r.source_id for r in (await conn.execute(_EXPIRE, {"now": now})).all()]

    async def source(self, conn: AsyncConnection, source_id: uuid.UUID) -> Any:
        return (await conn.execute(_SOURCE, {"id": source_id})).one_or_none()

    async def lock_source(self, conn: AsyncConnection, source_id: uuid.UUID) -> int | None:
        """Lock the source row (results of one source are recorded one at a time);
        its failures in a row so far, None when it was deleted meanwhile."""
        value = (await conn.execute(_SOURCE_FOR_UPDATE, {"id": source_id})).scalar()
        return None if value is None else int(value)

    async def set_window(
        self, conn: AsyncConnection, run_id: uuid.UUID, start: datetime, end: datetime
    ) -> None:
        await conn.execute(_WINDOW, {"id": run_id, "start": start, "end": end})

    async def succeeded(
        self,
        conn: AsyncConnection,
        *,
        run_id: uuid.UUID,
        source_id: uuid.UUID,
        now: datetime,
        rows: int,
        events: int,
        duplicates: int,
        rejected: int,
        error: str | None,
        newest: datetime | None,
    ) -> None:
        await conn.execute(
            _SUCCEEDED,
            {
                "id": run_id,
                "now": now,
                "rows": rows,
                "events": events,
                "duplicates": duplicates,
                "rejected": rejected,
                "error": error,
            },
        )
        await conn.execute(_SOURCE_SUCCEEDED, {"id": source_id, "run_id": run_id, "newest": newest})

    async def failed(
        self,
        conn: AsyncConnection,
        *,
        run_id: uuid.UUID,
        source_id: uuid.UUID,
        now: datetime,
        rows: int | None,
        error: str,
    ) -> int:
        """Record the failure; the source's failures in a row, this one included."""
        await conn.execute(_FAILED, {"id": run_id, "now": now, "rows": rows, "error": error})
        value = (await conn.execute(_SOURCE_FAILED, {"id": source_id, "run_id": run_id})).scalar()
        return int(value or 0)

    async def lost(self, conn: AsyncConnection, source_id: uuid.UUID) -> int:
        """Count a run lost with its collector as a failure; the failures in a row."""
        value = (await conn.execute(_SOURCE_FAILED, {"id": source_id, "run_id": None})).scalar()
        return int(value or 0)

    async def known_ids(self, conn: AsyncConnection, source: str, ids: list[str]) -> set[str]:
        """Which of `ids` the dedupe ledger holds for `source` already."""
        known: set[str] = set()
        for at in range(0, len(ids), 10_000):
            chunk = ids[at : at + 10_000]
            result = await conn.execute(_KNOWN_IDS, {"source": source, "ids": chunk})
            known.update(r[0] for r in result)
        return known

    async def goals_reading(self, conn: AsyncConnection, metric: str) -> list[uuid.UUID]:
        return [r[0] for r in await conn.execute(_GOALS_OF_METRIC, {"metric": metric})]

    async def health(self, conn: AsyncConnection) -> list[tuple[str, datetime | None, int]]:
        return [(r.name, r.watermark, r.consecutive_failures) for r in await conn.execute(_HEALTH)]
