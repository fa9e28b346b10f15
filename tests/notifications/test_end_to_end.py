"""From pushed events to a signed webhook and a Kafka message, with every service a real
process: an alert the evaluator opens and one a person acknowledges through the api."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import orjson

from tests.conftest import StartService
from tests.notifications.conftest import FAST_ENV
from tests.support import Receiver, consume, eventually


async def test_an_alert_reaches_webhooks_and_kafka_from_pushed_events(
    start_service: StartService,
    receivers: Callable[..., Receiver],
    admin_key: str,
    kafka_bootstrap: str,
    topic_prefix: str,
) -> None:
    receiver = receivers(lambda request: 200)
    api = start_service("api")
    ingest = start_service("ingest")
    start_service("evaluator", env=FAST_ENV)
    admin = {"Authorization": f"Bearer {admin_key}"}
    async with httpx.AsyncClient(base_url=api.url, headers=admin, timeout=30) as http:

        async def post(path: str, body: dict[str, object], status: int = 201) -> dict[str, str]:
            response = await http.post(path, json=body)
            assert response.status_code == status, response.text
            answer: dict[str, str] = response.json()
            return answer

        hook = await post(
            "/v1/webhooks",
            {
                "url": receiver.url,
                "events": ["alert.opened", "alert.acknowledged", "goal.status_changed"],
            },
        )
        source = await post("/v1/api-keys", {"name": "crm", "scopes": ["events:write"]})
        await post(
            "/v1/kpis",
            {"key": "revenue", "name": "Revenue", "expression": "sum(revenue)", "kind": "lagging"},
        )
        now = datetime.now(UTC)
        goal = await post(
            "/v1/goals",
            {
                "title": "Revenue 2000",
                "kpi": "revenue",
                "target": 2000,
                "start": (now - timedelta(days=10)).isoformat(),
                "due": (now + timedelta(days=10)).isoformat(),
            },
        )
        # Halfway through the period 1000 is expected; 500 is off track (score 0.5).
        pushed = await http.post(
            f"{ingest.url}/v1/events",
            json={"metric": "revenue", "value": 500, "timestamp": now.isoformat()},
            headers={"Authorization": f"Bearer {source['key']}"},
        )
        assert pushed.status_code == 202, pushed.text

        def types() -> list[str]:
            return [r.headers["x-northstar-event"] for r in receiver.received]

        async def received_types() -> list[str]:
            return types()

        # Deliveries go out concurrently: wait for both, in whatever order they land.
        await eventually(
            received_types,
            lambda t: {"alert.opened", "goal.status_changed"} <= set(t),
            within=30,
            what="alert.opened and goal.status_changed",
        )
        opened = next(
            orjson.loads(r.body)
            for r in receiver.received
            if r.headers["x-northstar-event"] == "alert.opened"
        )
        alert = opened["data"]
        assert alert["goal_id"] == goal["id"]
        assert (alert["kind"], alert["severity"], alert["state"]) == ("status", "critical", "open")
        changed = next(
            orjson.loads(r.body)
            for r in receiver.received
            if r.headers["x-northstar-event"] == "goal.status_changed"
        )
        assert changed["data"]["goal_id"] == goal["id"]
        assert changed["data"]["to"] == "off_track"

        await post(f"/v1/alerts/{alert['id']}/ack", {"note": "On it."}, status=200)
        await eventually(
            received_types,
            lambda t: "alert.acknowledged" in t,
            within=30,
            what="alert.acknowledged",
        )

    for request in receiver.received:
        signature = hmac.new(hook["secret"].encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-northstar-signature"] == f"sha256={signature}"
    acked = next(
        orjson.loads(r.body)
        for r in receiver.received
        if r.headers["x-northstar-event"] == "alert.acknowledged"
    )
    assert acked["data"]["id"] == alert["id"]
    assert acked["data"]["note"] == "On it."

    # Kafka carries the alert events only, keyed by goal, in order.
    messages = await consume(kafka_bootstrap, topic_prefix + "alerts", expect=2)
    assert [(k, e["type"]) for k, e in messages] == [
        (goal["id"].encode(), "alert.opened"),
        (goal["id"].encode(), "alert.acknowledged"),
    ]
    assert [e["id"] for _, e in messages] == [opened["id"], acked["id"]]
