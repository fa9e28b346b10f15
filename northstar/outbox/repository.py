"""OutboxRepository: all SQL of the machine path after `add_event` — the relay's batch,
webhook deliveries, parking, the backlog, and the webhook dispatcher's claim and record.

Works in its caller's connection and transaction and never commits: the relay's and the
dispatcher's loops (`services/evaluator/outbox/`) decide where a transaction ends. Rows
come back typed (`OutboxRow`, `ClaimedDelivery`, `Backlog`). The people path's SQL is
`northstar.notify.repository`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.models import OutboxEvent

# Arbitrary but fixed: the advisory lock key that makes one relay work at a time.
RELAY_LOCK: Final = 0x6E73_6F75_7462_6F78  # "nsoutbox"

_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:key)")

_QUEUE_DELIVERIES = text(
    """
    INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, next_attempt_at)
    SELECT gen_random_uuid(), w.id, e.event_id, e.type, e.body, now()
    FROM unnest(CAST(:event_ids AS uuid[]), CAST(:types AS text[]), CAST(:bodies AS bytea[]))
         AS e(event_id, type, body)
    JOIN webhooks AS w ON w.deleted_at IS NULL AND e.type = ANY(w.events)
    ON CONFLICT (webhook_id, event_id) DO NOTHING
    RETURNING id
    """
)

_CLAIM_DELIVERIES = text(
    """
    WITH due AS (
        SELECT d.id
        FROM webhook_deliveries AS d
        JOIN webhooks AS w ON w.id = d.webhook_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.deleted_at IS NULL
        ORDER BY d.next_attempt_at
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries AS d
    SET next_attempt_at = now() + make_interval(secs => :lease)
    FROM due, webhooks AS w
    WHERE d.id = due.id AND w.id = d.webhook_id
    RETURNING d.id, d.event_type, d.body, d.attempts, w.url,
        ARRAY(
            SELECT s.ciphertext FROM webhook_secrets AS s
            WHERE s.webhook_id = w.id AND (s.expires_at IS NULL OR s.expires_at > now())
            ORDER BY s.created_at DESC, s.id
        ) AS secrets
    """
)

RECORD_DELIVERY: Final = text(
    """
    UPDATE webhook_deliveries
    SET status = :status, attempts = :attempts, last_attempt_at = :attempted_at,
        last_status_code = :status_code, last_error = :error,
        delivered_at = :delivered_at, next_attempt_at = :next_attempt_at
    WHERE id = :id AND (status = 'pending' OR CAST(:status AS text) = 'delivered')
    """
)
"""How the dispatcher's loop (`services.evaluator.worker.QueueWorker`) records one
attempt. A success is recorded even if the webhook was deleted meanwhile (it did arrive);
a failure only while the delivery is still pending."""


class OutboxRow(NamedTuple):
    """One unrelayed outbox row, as the relay reads it."""

    id: int
    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    key: str
    data: Any  # JSONB: the event's `data` object


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: uuid.UUID
    event_type: str
    body: bytes
    attempts: int
    url: str
    secrets: tuple[str, ...]  # encrypted, newest first


@dataclass(slots=True)
class Backlog:
    """The outbox as of the relay's last pass."""

    pending: int = 0
    oldest_age: float = 0.0  # seconds; 0 when nothing waits
    parked: int = 0  # parked within the alerting window


class OutboxRepository:
    """The machine path's SQL, in the caller's connection (see module doc)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def try_relay_lock(self) -> bool:
        """The relay's transaction-scoped advisory lock; False while another replica
        holds it (that replica will take the rows)."""
        return bool(await self._conn.scalar(_TRY_LOCK, {"key": RELAY_LOCK}))

    async def unrelayed(self, limit: int) -> list[OutboxRow]:
        """The oldest unrelayed, unparked rows, locked (`FOR UPDATE SKIP LOCKED`)."""
        rows = await self._conn.execute(
            select(
                OutboxEvent.id,
                OutboxEvent.event_id,
                OutboxEvent.type,
                OutboxEvent.occurred_at,
                OutboxEvent.key,
                OutboxEvent.data,
            )
            .where(OutboxEvent.relayed_at.is_(None), OutboxEvent.parked_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [OutboxRow(*row) for row in rows]

    async def queue_deliveries(self, sendable: Sequence[tuple[OutboxRow, bytes]]) -> int:
        """One pending delivery per active webhook subscribed to each event's type (never
        twice: unique on `(webhook_id, event_id)`); return how many were queued."""
        result = await self._conn.execute(
            _QUEUE_DELIVERIES,
            {
                "event_ids": [row.event_id for row, _ in sendable],
                "types": [row.type for row, _ in sendable],
                "bodies": [body for _, body in sendable],
            },
        )
        return len(result.all())

    async def mark_relayed(self, ids: Sequence[int]) -> None:
        if ids:
            await self._conn.execute(
                update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(relayed_at=func.now())
            )

    async def park(self, row_id: int, reason: str) -> None:
        """Set aside an event that can never be published, with its reason."""
        await self._conn.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == row_id)
            .values(parked_at=func.now(), parked_reason=reason[:2000])
        )

    async def backlog(self, parked_window: timedelta) -> Backlog:
        """How many rows wait and how old the oldest is; how many were parked lately."""
        pending, oldest = (
            await self._conn.execute(
                select(func.count(), func.min(OutboxEvent.occurred_at)).where(
                    OutboxEvent.relayed_at.is_(None), OutboxEvent.parked_at.is_(None)
                )
            )
        ).one()
        parked = await self._conn.scalar(
            select(func.count()).where(OutboxEvent.parked_at > func.now() - parked_window)
        )
        age = max(0.0, time.time() - oldest.timestamp()) if oldest else 0.0
        return Backlog(pending, age, parked or 0)

    async def claim_deliveries(self, limit: int, lease_seconds: float) -> list[ClaimedDelivery]:
        """Due deliveries of webhooks not deleted, leased for `lease_seconds`."""
        rows = await self._conn.execute(_CLAIM_DELIVERIES, {"limit": limit, "lease": lease_seconds})
        return [
            ClaimedDelivery(
                id=row.id,
                event_type=row.event_type,
                body=bytes(row.body),
                attempts=row.attempts,
                url=row.url,
                secrets=tuple(row.secrets or ()),
            )
            for row in rows
        ]
