"""Retention for the bookkeeping tables that would otherwise grow with every event.

- `event_keys`, the dedupe ledger: kept `dedupe_window_days` (30). An event re-sent
  later than that with the same `(source, event_id)` is stored again; redeliveries and
  client retries happen within minutes, so the window is generous.
- `outbox`: relayed rows are kept `outbox_retention_days` (7) for inspection.
- `webhook_deliveries`: delivered and failed deliveries are kept
  `delivery_retention_days` (30) as the delivery log; pending ones are never pruned.
- `notification_messages`: sent and failed goal messages likewise. Digests and reminders
  are kept 400 days, since their rows are what makes each period's message unique: a
  reminder for a yearly check-in must still be there when the schedule looks again.

Runs after the periodic sweep, on the replica holding the sweep lock, deleting in chunks
so it never holds many row locks or a long transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

CHUNK = 10_000

_PRUNE = {
    "event_keys": "DELETE FROM event_keys WHERE ctid = ANY(ARRAY("
    "SELECT ctid FROM event_keys WHERE stored_at < :before LIMIT :n))",
    "outbox": "DELETE FROM outbox WHERE id = ANY(ARRAY("
    "SELECT id FROM outbox WHERE relayed_at < :before LIMIT :n))",
    "webhook_deliveries": "DELETE FROM webhook_deliveries WHERE id = ANY(ARRAY("
    "SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < :before "
    "LIMIT :n))",
    "notification_messages": "DELETE FROM notification_messages WHERE id = ANY(ARRAY("
    "SELECT id FROM notification_messages WHERE status <> 'pending' AND created_at < :before "
    "AND (kind = 'event' OR created_at < :before_once) LIMIT :n))",
}
# Digests and reminders: longer than any check-in cadence or digest period.
_ONCE_RETENTION = timedelta(days=400)


class Housekeeping:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        dedupe_window: timedelta,
        outbox_retention: timedelta,
        delivery_retention: timedelta,
    ) -> None:
        self._engine = engine
        self._keep = {
            "event_keys": dedupe_window,
            "outbox": outbox_retention,
            "webhook_deliveries": delivery_retention,
            "notification_messages": delivery_retention,
        }

    async def run(self, now: datetime) -> dict[str, int]:
        """Delete what is past its retention; return how many rows per table."""
        deleted: dict[str, int] = {}
        for table, sql in _PRUNE.items():
            total = 0
            while True:
                async with self._engine.begin() as conn:
                    result = await conn.execute(
                        text(sql),
                        {
                            "before": now - self._keep[table],
                            "before_once": now - _ONCE_RETENTION,
                            "n": CHUNK,
                        },
                    )
                total += result.rowcount
                if result.rowcount < CHUNK:
                    break
            deleted[table] = total
        if any(deleted.values()):
            log.info("housekeeping pruned rows", extra=deleted)
        return deleted
