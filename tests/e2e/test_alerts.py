"""Alerts through real processes (SPEC §6): a goal driven on_track → at_risk → off_track
→ on_track by pushed events raises exactly one alert, raised to critical and then
resolved — seen in the api, on `northstar.alerts` and at a webhook receiver that was
down for part of the time. A review freezes the statuses of the moment."""

from __future__ import annotations

import hashlib
import hmac

import orjson

from tests.conftest import StartService
from tests.e2e.conftest import Northstar
from tests.support import Receiver, consume, eventually

FAST_NOTIFICATIONS = {
    "NORTHSTAR_EVALUATION_INTERVAL": "2",
    "NORTHSTAR_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "NORTHSTAR_WEBHOOK_RETRY_CAP_SECONDS": "1",
    "NORTHSTAR_WEBHOOK_POLL_INTERVAL_SECONDS": "0.1",
    "NORTHSTAR_OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
}


async def test_one_alert_raised_to_critical_then_resolved_everywhere(
    start_service: StartService, admin_key: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    api = start_service("api")
    ingest = start_service("ingest")
    start_service("evaluator", env=FAST_NOTIFICATIONS)
    ns = Northstar(api.url, ingest.url, admin_key)
    await ns.setup()
    receiver = Receiver(lambda request: 200)  # its port is reserved, but it is down for now
    try:
        secret = "a-shared-secret-for-signatures"
        await ns.post(
            "/v1/webhooks",
            {
                "url": receiver.url,
                "secret": secret,
                "events": [
                    "alert.opened",
                    "alert.updated",
                    "alert.resolved",
                    "goal.status_changed",
                ],
            },
        )
        await ns.post(
            "/v1/kpis",
            {
                "key": "stock_level",
                "name": "Stock level",
                "expression": "last(stock)",
                "kind": "leading",
            },
        )
        goal = await ns.post(
            "/v1/goals",
            {
                "title": "Stock 1,000 units",
                "kpi": "stock_level",
                "target": 1000,
                **ns.period(10, 10),
            },
        )
        goal_id = goal["id"]  # expected value now: 500

        async def level(value: float, days_ago: float, status: str) -> None:
            await ns.push([{"metric": "stock", "value": value, "timestamp": ns.at(days_ago)}])
            await ns.wait_status(goal_id, status, actual=value)

        await level(600, 0.5, "on_track")  # score 1.2
        await level(450, 0.4, "at_risk")  # 0.9 → a warning alert opens
        (opened,) = (await ns.get("/v1/alerts", goal_id=goal_id))["items"]
        assert (opened["kind"], opened["severity"], opened["state"]) == (
            "status",
            "warning",
            "open",
        )
        await level(300, 0.3, "off_track")  # 0.6 → the same alert becomes critical
        await level(600, 0.2, "on_track")  # 1.2 → resolved by the system

        async def goal_alerts() -> list[dict[str, object]]:
            items: list[dict[str, object]] = (await ns.get("/v1/alerts", goal_id=goal_id))["items"]
            return items

        (alert,) = await eventually(
            goal_alerts, lambda a: len(a) == 1 and a[0]["state"] == "resolved", what="resolution"
        )
        assert alert["id"] == opened["id"]
        assert alert["severity"] == "critical"
        assert alert["resolved_by"] == "northstar"
        detail = await ns.get(f"/v1/alerts/{alert['id']}")
        assert [e["type"] for e in detail["events"]] == [
            "alert.opened",
            "alert.updated",
            "alert.resolved",
        ]
        assert [e["severity"] for e in detail["events"]] == ["warning", "critical", "critical"]

        # The same three changes on the Kafka topic, keyed by the goal.
        messages = await consume(kafka_bootstrap, f"{topic_prefix}alerts", expect=3)
        assert [m["type"] for _, m in messages] == [
            "alert.opened",
            "alert.updated",
            "alert.resolved",
        ]
        assert {key for key, _ in messages} == {goal_id.encode()}
        assert {m["data"]["id"] for _, m in messages} == {alert["id"]}

        # The receiver comes up late and still gets every delivery, signed.
        receiver.start()
        expected = ["alert.opened", "alert.updated", "alert.resolved"] + ["goal.status_changed"] * 4
        await eventually(
            lambda: _delivered(receiver),
            lambda got: sorted(got) == sorted(expected),
            within=30,
            what="every webhook delivery",
        )
        for request in receiver.received:
            signature = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
            assert request.headers["x-northstar-signature"] == f"sha256={signature}"
        changes = [
            (b["data"]["from"], b["data"]["to"])
            for b in (orjson.loads(r.body) for r in receiver.received)
            if b["type"] == "goal.status_changed"
        ]
        assert sorted(changes) == sorted(
            [
                ("no_data", "on_track"),
                ("on_track", "at_risk"),
                ("at_risk", "off_track"),
                ("off_track", "on_track"),
            ]
        )
        webhook = (await ns.get("/v1/webhooks"))["items"][0]
        log = (await ns.get(f"/v1/webhooks/{webhook['id']}/deliveries"))["items"]
        assert {d["status"] for d in log} == {"delivered"}
        assert max(d["attempts"] for d in log) > 1  # the receiver was down at first

        # A review freezes the statuses as they are now.
        status = await ns.status(goal_id)
        review = await ns.post(
            "/v1/reviews", {"title": "Weekly stock review", "scope_goal_id": goal_id}
        )
        (frozen,) = review["snapshot"]
        for field in ("goal_id", "status", "actual", "expected", "score", "target"):
            assert frozen[field] == status[field], field
        await level(300, 0.1, "off_track")
        again = await ns.get(f"/v1/reviews/{review['id']}")
        assert again["snapshot"][0]["status"] == "on_track"
    finally:
        receiver.stop()
        await ns.http.aclose()


async def _delivered(receiver: Receiver) -> list[str]:
    return [
        orjson.loads(r.body)["type"]
        for r in receiver.received
        if r.status is not None and 200 <= r.status < 300
    ]
