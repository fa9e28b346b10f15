"""The relay and dispatcher inside a real evaluator process: restarts and dead endpoints."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import StartService
from tests.notifications.conftest import (
    FAST_ENV,
    add_events,
    alert_data,
    create_webhook,
    deliveries,
)
from tests.support import Receiver, consume, eventually, fetchval


async def test_pending_deliveries_survive_an_evaluator_restart(
    start_service: StartService,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    receivers: Callable[..., Receiver],
    database_url: str,
    kafka_bootstrap: str,
    topic_prefix: str,
) -> None:
    healthy = False
    receiver = receivers(lambda request: 200 if healthy else 503)
    hook = await create_webhook(api, receiver.url, ["alert.opened", "alert.resolved"])
    evaluator = start_service("evaluator", env=FAST_ENV)

    goals = [str(uuid.uuid4()) for _ in range(3)]
    before = await add_events(engine, [("alert.opened", g, alert_data(g)) for g in goals])
    await eventually(
        lambda: deliveries(api, hook["id"]),
        lambda d: len(d) == 3 and all(x["attempts"] >= 1 for x in d),
        within=20,
        what="failed first attempts",
    )
    evaluator.terminate()

    # While the evaluator is down: the receiver recovers and more events are committed.
    healthy = True
    during = await add_events(
        engine, [("alert.resolved", g, alert_data(g, state="resolved")) for g in goals]
    )
    await asyncio.sleep(0.5)
    assert len(await deliveries(api, hook["id"])) == 3  # nobody relays while it is down

    evaluator.start()
    evaluator.wait_healthy(60, ready=True)
    log = await eventually(
        lambda: deliveries(api, hook["id"], status="delivered"),
        lambda d: len(d) == 6,
        within=30,
        what="every delivery after the restart",
    )
    assert sorted(receiver.delivered_ids()) == sorted(d["id"] for d in log)
    assert {d["event_id"] for d in log} == {str(e) for e in before + during}
    assert all(d["attempts"] >= 2 for d in log if d["event_type"] == "alert.opened")
    assert await fetchval(database_url, "SELECT count(*) FROM outbox WHERE relayed_at IS NULL") == 0

    messages = await consume(kafka_bootstrap, topic_prefix + "alerts", expect=6)
    assert sorted(e["id"] for _, e in messages) == sorted(str(e) for e in before + during)

    metrics = (await asyncio.to_thread(httpx.get, f"{evaluator.url}/metrics")).text
    assert "northstar_outbox_relayed_total 3.0" in metrics  # since the restart
    assert "northstar_outbox_pending 0.0" in metrics
    assert 'northstar_webhook_deliveries_total{outcome="delivered"} 6.0' in metrics


async def test_dead_endpoints_do_not_delay_the_relay_or_kafka(
    start_service: StartService,
    engine: AsyncEngine,
    api: httpx.AsyncClient,
    receivers: Callable[..., Receiver],
    database_url: str,
    kafka_bootstrap: str,
    topic_prefix: str,
) -> None:
    hanging = receivers(lambda request: None)  # accepts, never answers
    refused = receivers(lambda request: 200, start=False)  # nothing listening
    hanging_hook = await create_webhook(api, hanging.url, ["alert.opened"])
    await create_webhook(api, refused.url, ["alert.opened"])
    evaluator = start_service(
        "evaluator",
        env=FAST_ENV
        | {"NORTHSTAR_WEBHOOK_TIMEOUT_SECONDS": "30", "NORTHSTAR_WEBHOOK_MAX_IN_FLIGHT": "2"},
    )

    goal = str(uuid.uuid4())
    first = await add_events(engine, [("alert.opened", goal, alert_data(goal)) for _ in range(5)])
    # The dispatcher is now stuck: its two slots wait on the hanging receiver for 30 s.
    await eventually(lambda: asyncio.sleep(0, hanging.received), lambda r: len(r) >= 1, within=10)

    committed = time.monotonic()
    second = await add_events(engine, [("alert.opened", goal, alert_data(goal)) for _ in range(5)])
    # An outbox row is marked relayed only after the broker acknowledged its message.
    await eventually(
        lambda: fetchval(database_url, "SELECT count(*) FROM outbox WHERE relayed_at IS NULL"),
        lambda pending: pending == 0,
        within=10,
        interval=0.05,
    )
    relayed_in = time.monotonic() - committed
    assert relayed_in < 2, f"relaying took {relayed_in:.1f}s behind a hung webhook"
    messages = await consume(kafka_bootstrap, topic_prefix + "alerts", expect=10)
    assert sorted(e["id"] for _, e in messages) == sorted(str(e) for e in first + second)
    assert await fetchval(database_url, "SELECT count(*) FROM outbox WHERE relayed_at IS NULL") == 0
    assert await fetchval(database_url, "SELECT count(*) FROM webhook_deliveries") == 20
    assert not any(d["status"] == "delivered" for d in await deliveries(api, hanging_hook["id"]))
    assert (await asyncio.to_thread(httpx.get, f"{evaluator.url}/readyz")).status_code == 200
