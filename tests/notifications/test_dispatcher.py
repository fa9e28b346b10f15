"""The webhook dispatcher against real receivers: signing, retries, giving up, deletion."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from services.evaluator.settings import EvaluatorSettings
from services.evaluator.worker import RetryPolicy, retry_delay
from tests.notifications.conftest import add_events, alert_data, create_webhook, deliveries, running
from tests.support import Received, Receiver, eventually, fetch


async def test_receiver_gets_a_signed_post_of_the_envelope(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    receivers: Callable[..., Receiver],
) -> None:
    receiver = receivers(lambda request: 204)
    secret = "a-secret-only-the-receiver-knows"
    hook = await create_webhook(api, receiver.url, ["alert.opened"], secret=secret)
    assert hook["secret"] == secret
    goal = str(uuid.uuid4())
    data = alert_data(goal)

    async with running(settings, engine):
        [event_id] = await add_events(engine, [("alert.opened", goal, data)])
        await eventually(
            lambda: asyncio.sleep(0, receiver.received), lambda r: len(r) == 1, within=10
        )
        [log] = await eventually(
            lambda: deliveries(api, hook["id"]),
            lambda d: len(d) == 1 and d[0]["status"] == "delivered",
            within=10,
        )

    [request] = receiver.received
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-northstar-signature"] == expected
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-northstar-event"] == "alert.opened"
    assert request.headers["x-northstar-delivery"] == log["id"]
    envelope = orjson.loads(request.body)
    assert set(envelope) == {"id", "type", "occurred_at", "data"}
    assert envelope["id"] == str(event_id) == log["event_id"]
    assert envelope["type"] == "alert.opened"
    assert envelope["data"]["id"] == data["id"]
    assert envelope["data"]["goal_id"] == goal
    assert log["attempts"] == 1
    assert log["last_status_code"] == 204
    assert log["delivered_at"] is not None and log["next_attempt_at"] is None


async def test_failing_receivers_get_every_delivery_exactly_once_after_they_recover(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    receivers: Callable[..., Receiver],
) -> None:
    # One receiver answers 500 to the first two attempts of every delivery.
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def flaky(request: Received) -> int:
        with lock:
            seen[request.delivery_id] += 1
            return 500 if seen[request.delivery_id] <= 2 else 200

    erring = receivers(flaky)
    # The other is down (connection refused) until we start it.
    down = receivers(lambda request: 200, start=False)
    erring_hook = await create_webhook(api, erring.url, ["alert.opened", "alert.resolved"])
    down_hook = await create_webhook(api, down.url, ["alert.opened", "alert.resolved"])

    goals = [str(uuid.uuid4()) for _ in range(4)]
    events = [("alert.opened", g, alert_data(g)) for g in goals]
    events += [("alert.resolved", g, alert_data(g, state="resolved")) for g in goals]

    async with running(settings, engine):
        await add_events(engine, events)
        await eventually(
            lambda: deliveries(api, down_hook["id"]),
            lambda d: len(d) == 8 and all(x["attempts"] >= 2 for x in d),
            within=15,
            what="failed attempts against the receiver that is down",
        )
        down.start()
        for hook in (erring_hook, down_hook):
            await eventually(
                lambda hook=hook: deliveries(api, hook["id"], status="delivered"),  # type: ignore[misc]
                lambda d: len(d) == 8,
                within=20,
                what="every delivery delivered",
            )

    for receiver, hook in ((erring, erring_hook), (down, down_hook)):
        log = await deliveries(api, hook["id"])
        delivered = receiver.delivered_ids()
        assert sorted(delivered) == sorted(d["id"] for d in log)  # each exactly once
        assert len(set(delivered)) == len(delivered) == 8
        assert all(d["attempts"] > 1 and d["last_status_code"] == 200 for d in log)
        assert all(d["last_error"] is None for d in log)
        # Every event reached the receiver once, whatever the number of attempts.
        bodies = [orjson.loads(r.body)["id"] for r in receiver.received if r.status == 200]
        assert len(set(bodies)) == 8
    assert all(d["attempts"] == 3 for d in await deliveries(api, erring_hook["id"]))
    assert await deliveries(api, erring_hook["id"], status="pending") == []


async def test_gives_up_after_max_attempts_and_records_why(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    receivers: Callable[..., Receiver],
) -> None:
    receiver = receivers(lambda request: 500)
    hook = await create_webhook(api, receiver.url, ["alert.opened"])
    goal = str(uuid.uuid4())
    async with running(settings.model_copy(update={"webhook_max_attempts": 3}), engine):
        await add_events(engine, [("alert.opened", goal, alert_data(goal))])
        [log] = await eventually(
            lambda: deliveries(api, hook["id"], status="failed"), lambda d: len(d) == 1, within=15
        )
        await asyncio.sleep(1)  # no attempt after giving up
    assert len(receiver.received) == 3
    assert log["attempts"] == 3
    assert log["last_status_code"] == 500
    assert log["last_error"] == "HTTP 500"  # the answer's body is never stored
    assert log["next_attempt_at"] is None and log["delivered_at"] is None


async def test_deleting_a_webhook_stops_its_pending_deliveries(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    receivers: Callable[..., Receiver],
    database_url: str,
) -> None:
    receiver = receivers(lambda request: 200, start=False)  # down for now
    hook = await create_webhook(api, receiver.url, ["alert.opened"])
    goal = str(uuid.uuid4())
    async with running(settings, engine):
        await add_events(engine, [("alert.opened", goal, alert_data(goal)) for _ in range(3)])
        await eventually(
            lambda: deliveries(api, hook["id"]),
            lambda d: len(d) == 3 and all(x["attempts"] >= 1 for x in d),
            within=10,
        )
    # Deleted between attempts: an attempt already on its way when the webhook goes may
    # still arrive (docs/notifications.md); what is pending must not. The dispatcher
    # stopped above with nothing in flight, and runs again below.
    assert (await api.delete(f"/v1/webhooks/{hook['id']}")).status_code == 204
    receiver.start()
    async with running(settings, engine):
        await asyncio.sleep(1.5)  # several retry periods
    assert receiver.received == []
    rows = await fetch(database_url, "SELECT status, last_error FROM webhook_deliveries")
    assert [(r["status"], r["last_error"]) for r in rows] == [
        ("failed", "webhook deleted before delivery")
    ] * 3


async def test_a_hanging_receiver_times_out_and_is_retried(
    settings: EvaluatorSettings,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    receivers: Callable[..., Receiver],
) -> None:
    answers = iter([None, 200])  # hang on the first attempt, answer the second
    receiver = receivers(lambda request: next(answers))
    hook = await create_webhook(api, receiver.url, ["alert.opened"])
    goal = str(uuid.uuid4())
    fast = settings.model_copy(update={"webhook_timeout_seconds": 0.5})
    async with running(fast, engine):
        await add_events(engine, [("alert.opened", goal, alert_data(goal))])
        [log] = await eventually(
            lambda: deliveries(api, hook["id"], status="delivered"),
            lambda d: len(d) == 1,
            within=10,
        )
    assert log["attempts"] == 2
    assert len(receiver.received) == 2


def test_backoff_grows_exponentially_up_to_the_cap_with_jitter() -> None:
    delays = [retry_delay(n, base=1, cap=3600, jitter=0.5) for n in range(1, 16)]
    assert delays[:4] == [1, 2, 4, 8]
    assert max(delays) == 3600
    assert delays == sorted(delays)
    assert retry_delay(3, base=1, cap=3600, jitter=0.0) == 2  # ×0.5
    assert retry_delay(3, base=1, cap=3600, jitter=0.999) < 6  # < ×1.5
    assert retry_delay(100, base=1, cap=60, jitter=0.5) == 60  # no overflow
    # The defaults (15 attempts) keep retrying for hours.
    assert 2 * 3600 < sum(delays[:14]) < 5 * 3600


def test_an_attempt_settles_as_delivered_retried_or_failed() -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=10, cap_seconds=3600)
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert policy.settle(1, True, now, 0.5) == (
        "delivered",
        {"status": "delivered", "delivered_at": now},
    )
    outcome, row = policy.settle(2, False, now, 0.5)
    assert outcome == "retried"
    assert row == {"status": "pending", "next_attempt_at": now + timedelta(seconds=20)}
    # The last allowed attempt failing ends the row; success on it still counts.
    assert policy.settle(3, False, now, 0.5) == ("failed", {"status": "failed"})
    assert policy.settle(3, True, now, 0.5)[0] == "delivered"
