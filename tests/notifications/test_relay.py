"""The outbox relay: committed events reach `northstar.alerts` and the webhook queue."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.outbox import UnknownEventType, add_event
from services.evaluator.outbox.relay import OutboxRelay
from services.evaluator.settings import EvaluatorSettings
from tests.notifications.conftest import add_events, alert_data, create_webhook
from tests.support import consume, fetch, fetchval


async def test_relay_publishes_alerts_and_queues_one_delivery_per_subscribed_webhook(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    database_url: str,
    kafka_bootstrap: str,
) -> None:
    goal = str(uuid.uuid4())
    alerts_hook = await create_webhook(api, "http://127.0.0.1:9/a", ["alert.opened"])
    goals_hook = await create_webhook(api, "http://127.0.0.1:9/g", ["goal.status_changed"])
    both_hook = await create_webhook(
        api, "http://127.0.0.1:9/b", ["alert.opened", "goal.status_changed"]
    )
    gone_hook = await create_webhook(api, "http://127.0.0.1:9/x", ["alert.opened"])
    assert (await api.delete(f"/v1/webhooks/{gone_hook['id']}")).status_code == 204

    opened = alert_data(goal)
    status = {"goal_id": goal, "title": "Grow revenue", "from": "on_track", "to": "at_risk"}
    opened_id, changed_id = await add_events(
        engine,
        [("alert.opened", goal, opened), ("goal.status_changed", goal, status | {"status": {}})],
    )
    # A transaction that rolls back leaves nothing to relay.
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await add_event(
                conn,
                type="alert.resolved",
                key=goal,
                data=alert_data(goal),
                occurred_at=datetime.now(UTC),
            )
            raise RuntimeError("the state change failed")

    relay = OutboxRelay(settings, engine)
    try:
        assert await relay.relay_once() == 2
        assert await relay.relay_once() == 0  # nothing left
    finally:
        await relay._close_producer()

    # Kafka: only the alert event, keyed by goal id, in the envelope.
    messages = await consume(kafka_bootstrap, settings.topic_prefix + "alerts", expect=1)
    assert len(messages) == 1
    key, envelope = messages[0]
    assert key == goal.encode()
    assert envelope["id"] == str(opened_id)
    assert envelope["type"] == "alert.opened"
    assert envelope["occurred_at"].endswith("Z")
    assert envelope["data"]["id"] == opened["id"]
    assert envelope["data"]["opened_at"] == opened["opened_at"].isoformat()

    # Webhooks: one pending delivery per active subscriber of each type, body = envelope.
    rows = await fetch(
        database_url,
        "SELECT webhook_id::text, event_id, event_type, body, status, attempts FROM"
        " webhook_deliveries ORDER BY event_type, webhook_id",
    )
    got = {(r["webhook_id"], r["event_type"]) for r in rows}
    assert got == {
        (alerts_hook["id"], "alert.opened"),
        (both_hook["id"], "alert.opened"),
        (goals_hook["id"], "goal.status_changed"),
        (both_hook["id"], "goal.status_changed"),
    }
    assert len(rows) == 4
    assert all(r["status"] == "pending" and r["attempts"] == 0 for r in rows)
    for row in rows:
        body = orjson.loads(row["body"])
        expected_id = opened_id if row["event_type"] == "alert.opened" else changed_id
        assert row["event_id"] == expected_id
        assert body["id"] == str(expected_id) and body["type"] == row["event_type"]
    alert_bodies = {bytes(r["body"]) for r in rows if r["event_type"] == "alert.opened"}
    assert len(alert_bodies) == 1
    assert orjson.loads(alert_bodies.pop()) == envelope  # the same bytes everywhere

    assert await fetchval(database_url, "SELECT count(*) FROM outbox WHERE relayed_at IS NULL") == 0


async def test_concurrent_relays_relay_each_event_once(
    settings: EvaluatorSettings, engine: AsyncEngine, kafka_bootstrap: str, database_url: str
) -> None:
    """Two replicas' relays racing over one outbox publish every event exactly once."""
    batched = settings.model_copy(update={"outbox_batch_size": 7})
    goals = [str(uuid.uuid4()) for _ in range(5)]
    written = await add_events(
        engine, [("alert.opened", goals[i % 5], alert_data(goals[i % 5])) for i in range(60)]
    )
    relays = [OutboxRelay(batched, engine), OutboxRelay(batched, engine)]

    async def drain(relay: OutboxRelay) -> int:
        total = 0
        for _ in range(100):
            total += await relay.relay_once()
            if not await fetchval(
                database_url, "SELECT count(*) FROM outbox WHERE relayed_at IS NULL"
            ):
                return total
            await asyncio.sleep(0)
        return total

    try:
        counts = await asyncio.gather(*(drain(r) for r in relays))
    finally:
        for relay in relays:
            await relay._close_producer()
    assert sum(counts) == 60

    messages = await consume(kafka_bootstrap, settings.topic_prefix + "alerts", expect=60)
    ids = [envelope["id"] for _, envelope in messages]
    assert sorted(ids) == sorted(str(i) for i in written)
    # Per goal, events arrive in the order they were written.
    order = {str(event_id): n for n, event_id in enumerate(written)}
    for goal in goals:
        seen = [order[e["id"]] for k, e in messages if k == goal.encode()]
        assert seen == sorted(seen)


async def test_add_event_rejects_unknown_types(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        with pytest.raises(UnknownEventType, match=r"alert\.opened"):
            await add_event(
                conn, type="alert.exploded", key="g", data={}, occurred_at=datetime.now(UTC)
            )


async def test_broker_outage_keeps_events_until_the_broker_is_back(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    kafka_bootstrap: str,
    database_url: str,
) -> None:
    """Pointing at no broker: the batch rolls back, stays pending, and goes out later."""
    goal = str(uuid.uuid4())
    await add_events(engine, [("alert.opened", goal, alert_data(goal))])
    nowhere = settings.model_copy(
        update={"kafka_bootstrap": "127.0.0.1:1", "kafka_request_timeout_ms": 500}
    )
    dead = OutboxRelay(nowhere, engine)
    try:
        with pytest.raises(Exception):  # noqa: B017 - any broker error will do
            await dead.relay_once()
    finally:
        await dead._close_producer()
    assert await fetchval(database_url, "SELECT count(*) FROM outbox WHERE relayed_at IS NULL") == 1

    relay = OutboxRelay(settings, engine)
    try:
        assert await relay.relay_once() == 1
    finally:
        await relay._close_producer()
    messages = await consume(kafka_bootstrap, settings.topic_prefix + "alerts", expect=1)
    assert [e["type"] for _, e in messages] == ["alert.opened"]


async def test_add_event_stores_non_finite_numbers_as_null(
    engine: AsyncEngine, database_url: str
) -> None:
    async with engine.begin() as conn:
        await add_event(
            conn,
            type="goal.status_changed",
            key="g",
            data={"status": {"score": float("inf"), "actual": float("nan"), "target": 1.5}},
            occurred_at=datetime.now(UTC),
        )
    stored = await fetchval(database_url, "SELECT data::text FROM outbox")
    assert orjson.loads(str(stored)) == {"status": {"score": None, "actual": None, "target": 1.5}}


async def test_big_numbers_are_published_and_an_unpublishable_event_is_parked_not_blocking(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    database_url: str,
    kafka_bootstrap: str,
) -> None:
    goal = str(uuid.uuid4())
    huge = alert_data(goal) | {"expected": 1e30, "actual": -(10**25)}
    # JSONB holds any depth; JSON encoders do not (orjson stops at 255 levels).
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(300):
        deep = {"nested": deep}
    later = alert_data(goal)
    huge_id, deep_id, later_id = await add_events(
        engine,
        [
            ("alert.opened", goal, huge),
            ("alert.updated", goal, alert_data(goal) | {"detail": deep}),
            ("alert.resolved", goal, later),
        ],
    )
    relay = OutboxRelay(settings, engine)
    try:
        assert await relay.relay_once() == 3
        assert await relay.relay_once() == 0  # the parked one is not tried again
        await relay._observe_backlog()
    finally:
        await relay._close_producer()

    messages = await consume(kafka_bootstrap, settings.topic_prefix + "alerts", expect=2)
    assert [m["id"] for _, m in messages] == [str(huge_id), str(later_id)]
    published = messages[0][1]["data"]
    # JSONB gave back 1e30 as a 31-digit integer; it goes out as the float it was.
    assert published["expected"] == 1e30 and isinstance(published["expected"], float)
    assert published["actual"] == -1e25

    (parked,) = await fetch(
        database_url,
        "SELECT event_id, relayed_at, parked_at, parked_reason FROM outbox WHERE parked_at "
        "IS NOT NULL",
    )
    assert parked["event_id"] == deep_id and parked["relayed_at"] is None
    assert parked["parked_reason"].startswith("cannot encode")
    assert relay.backlog.parked == 1 and relay.backlog.pending == 0
