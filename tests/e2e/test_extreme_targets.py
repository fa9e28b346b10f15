"""A goal with an extreme target still notifies, and holds up nobody (issue 10): its alert
reaches `northstar.alerts` and a webhook, and an alert of another goal raised after it
goes out at once. (Before, `"expected": 1e30` came back from JSONB as a 31-digit integer
that the relay could not encode, and every later alert waited behind it forever.)"""

from __future__ import annotations

import time

import orjson

from tests.conftest import StartService
from tests.e2e.conftest import Northstar
from tests.support import Receiver, consume, eventually

FAST_NOTIFICATIONS = {
    "NORTHSTAR_EVALUATION_INTERVAL": "2",
    "NORTHSTAR_WEBHOOK_POLL_INTERVAL_SECONDS": "0.1",
    "NORTHSTAR_OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
}


async def test_a_goal_with_target_1e30_alerts_everywhere_and_a_later_alert_is_not_delayed(
    start_service: StartService, admin_key: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    api = start_service("api")
    ingest = start_service("ingest")
    start_service("evaluator", env=FAST_NOTIFICATIONS)
    ns = Northstar(api.url, ingest.url, admin_key)
    await ns.setup()
    receiver = Receiver(lambda request: 200).start()
    try:
        await ns.post(
            "/v1/webhooks",
            {
                "url": receiver.url,
                "secret": "a-shared-secret-for-signatures",
                "events": ["alert.opened"],
            },
        )
        for key in ("galaxy", "stock"):
            await ns.post(
                "/v1/kpis",
                {"key": key, "name": key, "expression": f"last({key})", "kind": "leading"},
            )
        huge = await ns.post(
            "/v1/goals", {"title": "Astronomical", "kpi": "galaxy", "target": 1e30, **ns.period()}
        )
        normal = await ns.post(
            "/v1/goals", {"title": "Stock", "kpi": "stock", "target": 1000, **ns.period()}
        )

        await ns.push([{"metric": "galaxy", "value": 1, "timestamp": ns.at(0.5)}])
        await ns.wait_status(huge["id"], "off_track", actual=1)
        messages = await consume(kafka_bootstrap, f"{topic_prefix}alerts", expect=1)
        (first,) = [m for _, m in messages]
        assert first["type"] == "alert.opened"
        assert first["data"]["goal_id"] == huge["id"]

        # Another goal's alert, raised after it, is published within seconds.
        started = time.monotonic()
        await ns.push([{"metric": "stock", "value": 100, "timestamp": ns.at(0.5)}])
        await ns.wait_status(normal["id"], "off_track", actual=100)
        messages = await consume(kafka_bootstrap, f"{topic_prefix}alerts", expect=2)
        # (keyed by goal, so on different partitions: no order between the two)
        assert sorted(m["data"]["goal_id"] for _, m in messages) == sorted(
            [huge["id"], normal["id"]]
        )
        assert time.monotonic() - started < 20

        delivered = await eventually(
            lambda: _opened_goals(receiver),
            lambda goals: len(goals) == 2,
            within=20,
            what="both webhook deliveries",
        )
        assert sorted(delivered) == sorted([huge["id"], normal["id"]])
        alert = (await ns.get("/v1/alerts", goal_id=huge["id"]))["items"][0]
        assert alert["state"] == "open"
    finally:
        receiver.stop()
        await ns.http.aclose()


async def _opened_goals(receiver: Receiver) -> list[str]:
    return [
        orjson.loads(r.body)["data"]["goal_id"]
        for r in receiver.received
        if r.status is not None and 200 <= r.status < 300
    ]
