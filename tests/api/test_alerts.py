"""`/v1/alerts` over a real evaluation path: a goal falls behind (warning), further
(critical, the same alert), is acknowledged, recovers past the hysteresis margin (resolved
by the system), falls again and is resolved by hand (and reopens while the condition still
holds); the outbox holds one event per change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from northstar.db.engine import create_engine
from northstar.db.models import OutboxEvent
from tests.api.conftest import Ingest, Judge, ok

HOUR = timedelta(hours=1)


async def _orders_goal(client: httpx.AsyncClient, ingest: Ingest, now: datetime) -> dict[str, Any]:
    """A stay_above goal of 100 orders on a KPI that reads 90: at_risk (score 0.9)."""
    await ingest([("orders", 90.0, now - 2 * HOUR, {})])
    kpi = {"key": "orders", "name": "Orders", "expression": "sum(orders)", "kind": "lagging"}
    ok(await client.post("/v1/kpis", json=kpi), 201)
    body = {
        "title": "Orders",
        "kpi": "orders",
        "type": "stay_above",
        "pacing": "none",
        "target": 100,
        "start": (now - timedelta(days=10)).isoformat(),
        "due": (now + timedelta(days=10)).isoformat(),
    }
    goal: dict[str, Any] = ok(await client.post("/v1/goals", json=body), 201)
    return goal


async def _retarget(client: httpx.AsyncClient, goal: dict[str, Any], target: float) -> str:
    changed = ok(
        await client.patch(
            f"/v1/goals/{goal['id']}", json={"target": target, "reason": "test the alerts"}
        )
    )
    status: str = changed["status"]["status"]
    return status


async def _alerts(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(await client.get("/v1/alerts", params=params))["items"]
    return items


def _events(alert: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [(e["type"], e["severity"], e["state"], e["actor"]) for e in alert["events"]]


async def test_alert_lifecycle(
    client: httpx.AsyncClient, ingest: Ingest, rejudge: Judge, database_url: str
) -> None:
    now = datetime.now(UTC)
    goal = await _orders_goal(client, ingest, now)
    assert goal["status"]["status"] == "at_risk"

    # at_risk → one open warning.
    [opened] = await _alerts(client, state="open")
    assert opened["goal_id"] == goal["id"]
    assert opened["goal_title"] == "Orders"
    assert (opened["kind"], opened["severity"], opened["state"]) == ("status", "warning", "open")
    assert opened["details"]["status"] == "at_risk"
    assert opened["details"]["score"] == 0.9
    first = opened["id"]

    # off_track → the same alert, now critical, with an alert.updated event.
    assert await _retarget(client, goal, 120) == "off_track"
    [escalated] = await _alerts(client, state="unresolved")
    assert escalated["id"] == first
    assert escalated["severity"] == "critical"
    detail = ok(await client.get(f"/v1/alerts/{first}"))
    assert _events(detail) == [
        ("alert.opened", "warning", "open", "northstar"),
        ("alert.updated", "critical", "open", "northstar"),
    ]

    # Acknowledge with a note; a second acknowledgement is a conflict.
    acked = ok(await client.post(f"/v1/alerts/{first}/ack", json={"note": " On it. "}))
    assert acked["state"] == "acknowledged"
    assert acked["acknowledged_by"] == "bootstrap-admin"
    assert acked["acknowledged_at"] is not None
    assert acked["note"] == "On it."
    assert acked["events"][-1]["type"] == "alert.acknowledged"
    assert acked["events"][-1]["note"] == "On it."
    again = await client.post(f"/v1/alerts/{first}/ack", json={})
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["detail"] == (
        f"Alert {first}: cannot acknowledge an alert that is acknowledged."
    )

    # Back to at_risk: severity never lowers while the alert is unresolved.
    assert await _retarget(client, goal, 100) == "at_risk"
    # 96 → on_track (0.96 ≥ 0.95) but inside the margin (< 0.97): the alert stays.
    await ingest([("orders", 6.0, now - HOUR, {})])
    await rejudge([goal["id"]])
    assert ok(await client.get(f"/v1/goals/{goal['id']}/status"))["status"] == "on_track"
    held = ok(await client.get(f"/v1/alerts/{first}"))
    assert (held["state"], held["severity"]) == ("acknowledged", "critical")
    assert len(held["events"]) == 3
    # 98 → score 0.98 ≥ at_risk + alert_clear_margin: resolved by the system.
    await ingest([("orders", 2.0, now - HOUR, {})])
    await rejudge([goal["id"]])
    resolved = ok(await client.get(f"/v1/alerts/{first}"))
    assert resolved["state"] == "resolved"
    assert resolved["resolved_by"] == "northstar"
    assert resolved["note"] == "On it."  # the acknowledgement's note stays
    assert _events(resolved)[-1] == ("alert.resolved", "critical", "resolved", "northstar")
    assert await _alerts(client, state="unresolved") == []

    # Falls again: a new alert. Resolved by hand with a note.
    assert await _retarget(client, goal, 120) == "off_track"
    [second] = await _alerts(client, state="open")
    assert second["id"] != first
    assert second["severity"] == "critical"
    closed = ok(await client.post(f"/v1/alerts/{second['id']}/resolve", json={"note": "Known"}))
    assert closed["state"] == "resolved"
    assert closed["resolved_by"] == "bootstrap-admin"
    assert closed["events"][-1]["note"] == "Known"
    assert closed["events"][-1]["actor"] == "bootstrap-admin"
    for action, reason in (
        ("resolve", "cannot resolve an alert that is already resolved"),
        ("ack", "cannot acknowledge an alert that is resolved"),
    ):
        conflict = await client.post(f"/v1/alerts/{second['id']}/{action}")
        assert conflict.status_code == 409, conflict.text
        assert conflict.json()["detail"] == f"Alert {second['id']}: {reason}."
    # The condition still holds at the next evaluation: a new alert opens.
    await rejudge([goal["id"]])
    [third] = await _alerts(client, state="open")
    assert third["id"] not in (first, second["id"])

    # Filters, newest first, and pagination.
    everything = await _alerts(client)
    assert [a["id"] for a in everything] == [third["id"], second["id"], first]
    assert [a["id"] for a in await _alerts(client, state="resolved")] == [second["id"], first]
    assert [a["id"] for a in await _alerts(client, goal_id=goal["id"], kind="status")] == [
        a["id"] for a in everything
    ]
    assert await _alerts(client, goal_id=str(uuid.uuid4())) == []
    assert await _alerts(client, kind="forecast") == []
    assert await _alerts(client, severity="warning") == []
    page = ok(await client.get("/v1/alerts", params={"limit": 2}))
    rest = ok(await client.get("/v1/alerts", params={"limit": 2, "cursor": page["next_cursor"]}))
    assert [a["id"] for a in page["items"] + rest["items"]] == [a["id"] for a in everything]
    assert rest["next_cursor"] is None
    bad = await client.get("/v1/alerts", params={"state": "closed"})
    assert bad.status_code == 422

    # One outbox event per change, in order, each carrying the alert object.
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(OutboxEvent.type, OutboxEvent.data, OutboxEvent.key)
                    .where(OutboxEvent.type.like("alert.%"))
                    .order_by(OutboxEvent.id)
                )
            ).all()
    finally:
        await engine.dispose()
    assert [(r.type, r.data["id"]) for r in rows] == [
        ("alert.opened", first),
        ("alert.updated", first),
        ("alert.acknowledged", first),
        ("alert.resolved", first),
        ("alert.opened", second["id"]),
        ("alert.resolved", second["id"]),
        ("alert.opened", third["id"]),
    ]
    assert all(r.key == goal["id"] for r in rows)
    assert rows[2].data["state"] == "acknowledged"
    assert rows[2].data["note"] == "On it."
    assert rows[5].data["resolved_by"] == "bootstrap-admin"


async def test_not_found_and_scopes(
    client: httpx.AsyncClient, ingest: Ingest, app: FastAPI
) -> None:
    missing = uuid.uuid4()
    for method, path in (
        ("GET", f"/v1/alerts/{missing}"),
        ("POST", f"/v1/alerts/{missing}/ack"),
        ("POST", f"/v1/alerts/{missing}/resolve"),
    ):
        response = await client.request(method, path)
        assert response.status_code == 404, (method, path, response.text)
        assert str(missing) in response.json()["detail"]

    goal = await _orders_goal(client, ingest, datetime.now(UTC))
    [alert] = await _alerts(client)
    reader = ok(await client.post("/v1/api-keys", json={"name": "viewer", "scopes": ["read"]}), 201)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {reader['key']}"},
    ) as viewer:
        assert (await viewer.get(f"/v1/alerts/{alert['id']}")).status_code == 200
        assert (await viewer.post(f"/v1/alerts/{alert['id']}/ack")).status_code == 403
        assert (await viewer.post(f"/v1/alerts/{alert['id']}/resolve")).status_code == 403
    unknown_field = await client.post(f"/v1/alerts/{alert['id']}/ack", json={"colour": "red"})
    assert unknown_field.status_code == 422
    # Nothing changed by the refused requests.
    assert ok(await client.get(f"/v1/alerts/{alert['id']}"))["state"] == "open"
    assert goal["status"]["status"] == "at_risk"


async def test_openapi_describes_alerts(client: httpx.AsyncClient) -> None:
    document = ok(await client.get("/openapi.json"))
    for path in ("/v1/alerts", "/v1/alerts/{alert_id}", "/v1/alerts/{alert_id}/ack"):
        for operation in document["paths"][path].values():
            assert operation.get("summary") and operation.get("description"), path
    schemas = document["components"]["schemas"]
    for name in ("AlertOut", "AlertDetail", "AlertEventOut", "AlertAction"):
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("description"), (name, field)
