"""Retention of the bookkeeping tables, against a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from northstar.db.engine import create_engine
from services.evaluator.housekeeping import Housekeeping


async def test_prunes_only_what_is_past_retention(database_url: str) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO event_keys (source, event_id, stored_at) VALUES ('s', $1, $2)",
            [(f"old-{i}", old) for i in range(3)] + [("recent", recent)],
        )
        await conn.executemany(
            "INSERT INTO outbox (event_id, type, occurred_at, key, data, relayed_at) "
            "VALUES ($1, 'alert.opened', $2, 'g', '{}', $3)",
            [(uuid.uuid4(), old, old), (uuid.uuid4(), old, None), (uuid.uuid4(), recent, recent)],
        )
        webhook = await conn.fetchval(
            "INSERT INTO webhooks (id, url, events) VALUES ($1, 'http://x', '{}') RETURNING id",
            uuid.uuid4(),
        )
        await conn.executemany(
            "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, status, "
            "next_attempt_at, created_at) VALUES ($1, $2, $3, 'alert.opened', '', $4, $5, $5)",
            [
                (uuid.uuid4(), webhook, uuid.uuid4(), "delivered", old),
                (uuid.uuid4(), webhook, uuid.uuid4(), "pending", old),
                (uuid.uuid4(), webhook, uuid.uuid4(), "failed", recent),
            ],
        )
        channel = await conn.fetchval(
            "INSERT INTO notification_channels (id, name, kind, target, owner_kind, owner_id) "
            "VALUES ($1, 'c', 'email', '', 'unit', $1) RETURNING id",
            uuid.uuid4(),
        )
        ancient = now - timedelta(days=500)
        await conn.executemany(
            "INSERT INTO notification_messages (id, channel_id, kind, group_key, severity, "
            "status, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'info', $5, $6, $6)",
            [
                (uuid.uuid4(), channel, "event", "goal:a", "delivered", old),  # pruned
                (uuid.uuid4(), channel, "event", "goal:b", "pending", old),
                (uuid.uuid4(), channel, "digest", "digest:d:2026-01-01", "delivered", old),
                (uuid.uuid4(), channel, "reminder", "reminder:x", "delivered", ancient),  # pruned
            ],
        )
        engine = create_engine(database_url)
        housekeeping = Housekeeping(
            engine,
            dedupe_window=timedelta(days=30),
            outbox_retention=timedelta(days=7),
            delivery_retention=timedelta(days=30),
        )
        deleted = await housekeeping.run(now)
        await engine.dispose()
        assert deleted == {
            "event_keys": 3,
            "outbox": 1,
            "webhook_deliveries": 1,
            "notification_messages": 2,
        }
        # A digest's row outlives the delivery log: it keeps its period's message unique.
        kept = await conn.fetch("SELECT group_key FROM notification_messages ORDER BY group_key")
        assert [r["group_key"] for r in kept] == ["digest:d:2026-01-01", "goal:b"]
        assert await conn.fetchval("SELECT count(*) FROM event_keys") == 1
        # An unrelayed event is never pruned, however old; nor is a pending delivery.
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE relayed_at IS NULL") == 1
        statuses = await conn.fetch("SELECT status FROM webhook_deliveries ORDER BY status")
        assert [r["status"] for r in statuses] == ["failed", "pending"]
    finally:
        await conn.close()
