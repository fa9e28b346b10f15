"""Owners are people: `owner_id` on units, KPIs and goals names a user, and a goal's owner
may contribute to it (handle its alerts, check in) without any unit role."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from tests.api.conftest import ok
from tests.api.test_sessions import make_user, signed_in
from tests.support import fetch


async def test_owner_ids_name_people(client: httpx.AsyncClient) -> None:
    owner = await make_user(client, "olga@example.org", role="member")
    unit = ok(
        await client.post(
            "/v1/units", json={"name": "Ops", "kind": "team", "owner_id": owner["id"]}
        ),
        201,
    )
    assert unit["owner_id"] == owner["id"]
    kpi = ok(
        await client.post(
            "/v1/kpis",
            json={
                "key": "tickets",
                "name": "Tickets",
                "expression": "sum(tickets)",
                "kind": "lagging",
                "owner_id": owner["id"],
            },
        ),
        201,
    )
    assert kpi["owner_id"] == owner["id"]
    goal = ok(
        await client.post(
            "/v1/goals",
            json={
                "title": "Fewer tickets",
                "kpi": "tickets",
                "owner_id": owner["id"],
                "owner": "Olga (legacy text)",
            },
        ),
        201,
    )
    assert goal["owner_id"] == owner["id"] and goal["owner"] == "Olga (legacy text)"
    tree = ok(await client.get("/v1/goals/tree"))
    assert tree["items"][0]["owner_id"] == owner["id"]
    nobody = str(uuid.uuid4())
    for path, body in (
        ("/v1/units", {"name": "X", "kind": "team", "owner_id": nobody}),
        ("/v1/goals", {"title": "X", "owner_id": nobody}),
    ):
        refused = await client.post(path, json=body)
        assert refused.status_code == 422
        assert refused.json()["errors"] == [
            {"field": "owner_id", "message": f"there is no user with id {nobody}"}
        ]
    cleared = ok(await client.patch(f"/v1/goals/{goal['id']}", json={"owner_id": None}))
    assert cleared["owner_id"] is None
    moved = ok(await client.patch(f"/v1/units/{unit['id']}", json={"owner_id": None}))
    assert moved["owner_id"] is None


async def test_a_goal_owner_contributes_but_does_not_edit(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    owner = await make_user(client, "owen@example.org", role="member")
    await make_user(client, "other@example.org", role="member")
    goal = ok(await client.post("/v1/goals", json={"title": "Ship", "owner_id": owner["id"]}), 201)
    alerts = []
    for _ in range(2):
        alert_id = uuid.uuid4()
        await fetch(
            database_url,
            "INSERT INTO alerts (id, goal_id, kind, severity, state, opened_at, updated_at) "
            "VALUES ($1, $2, $3, 'warning', 'open', now(), now())",
            alert_id,
            uuid.UUID(goal["id"]),
            "status" if not alerts else "forecast",
        )
        alerts.append(alert_id)
    async with signed_in(app, "other@example.org") as web:
        assert (await web.post(f"/v1/alerts/{alerts[0]}/ack")).status_code == 403
    async with signed_in(app, "owen@example.org") as web:
        acked = ok(await web.post(f"/v1/alerts/{alerts[0]}/ack", json={"note": "mine"}))
        assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "Owen"
        edit = await web.patch(f"/v1/goals/{goal['id']}", json={"title": "Mine now"})
        assert edit.status_code == 403
    audit = ok(await client.get("/v1/audit", params={"resource": f"alert:{alerts[0]}"}))
    assert audit["items"][0]["actor"] == {"kind": "user", "id": owner["id"], "name": "Owen"}
