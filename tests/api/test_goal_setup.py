"""Setting up the cycle (issue 24) through the api: the roll-up cap and the children
counts of SPEC §5 as the status object shows them, archiving a goal, and KPIs a unit lead
defines for their unit (SPEC §11)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from tests.api.conftest import Ingest, Judge, ok

NOW = datetime.now(UTC)
PERIOD = {
    "start": (NOW - timedelta(days=10)).isoformat(),
    "due": (NOW + timedelta(days=10)).isoformat(),
}
PASSWORD = "a long enough password 24"


async def _goal(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    goal: dict[str, Any] = ok(await client.post("/v1/goals", json={"title": "Goal"} | fields), 201)
    return goal


async def test_a_child_far_ahead_no_longer_lifts_its_parent_and_children_are_counted(
    client: httpx.AsyncClient, ingest: Ingest, rejudge: Judge
) -> None:
    for key in ("ahead", "behind"):
        kpi = {"key": key, "name": key, "expression": f"sum({key})", "kind": "lagging"}
        ok(await client.post("/v1/kpis", json=kpi), 201)
    parent = await _goal(client, title="Company", **PERIOD)
    assert parent["rollup_cap"] == 1.0
    # Half the period has passed: "ahead" is at 1,600 % of its pace, "behind" at 60 %.
    ahead = await _goal(
        client, title="Ahead", parent_id=parent["id"], kpi="ahead", target=100, **PERIOD
    )
    behind = await _goal(
        client, title="Behind", parent_id=parent["id"], kpi="behind", target=100, **PERIOD
    )
    # Too early to count: no data yet.
    await _goal(client, title="Silent", parent_id=parent["id"], kpi="behind", start=PERIOD["due"])
    yesterday = NOW - timedelta(days=1)
    await ingest([("ahead", 800.0, yesterday, {}), ("behind", 30.0, yesterday, {})])
    await rejudge([ahead["id"], behind["id"]])

    status = ok(await client.get(f"/v1/goals/{parent['id']}"))["status"]
    scores = [ok(await client.get(f"/v1/goals/{g['id']}"))["status"] for g in (ahead, behind)]
    assert scores[0]["score"] > 10 and scores[1]["score"] < 0.85
    # (min(16, 1) + 0.6) / 2 = 0.8: off track, where the old 1.2 cap made it at risk (0.9)
    # and no cap at all on track.
    assert status["score"] == (1.0 + scores[1]["score"]) / 2
    assert status["status"] == "off_track"
    # "Ahead" has passed its target: achieved (its score still counts, capped).
    assert status["children"] == {
        "not_started": 1,
        "no_data": 0,
        "on_track": 0,
        "at_risk": 0,
        "off_track": 1,
        "achieved": 1,
        "missed": 0,
    }
    # A goal with a KPI has no children counts.
    assert scores[0]["children"] is None
    # The tree shows the same status object.
    [node] = ok(await client.get("/v1/goals/tree", params={"root": parent["id"]}))["items"]
    assert node["status"]["children"] == status["children"]

    # A cap of its own: 1.2 lets the child ahead count up to 120 %.
    capped = ok(await client.patch(f"/v1/goals/{parent['id']}", json={"rollup_cap": 1.2}))
    assert capped["rollup_cap"] == 1.2
    assert capped["status"]["score"] == (1.2 + scores[1]["score"]) / 2
    refused = await client.patch(f"/v1/goals/{parent['id']}", json={"rollup_cap": 0})
    assert refused.status_code == 422


async def test_an_archived_goal_leaves_the_tree_the_list_and_its_parents_rollup(
    client: httpx.AsyncClient, ingest: Ingest, rejudge: Judge
) -> None:
    kpi = {"key": "visits", "name": "Visits", "expression": "sum(visits)", "kind": "lagging"}
    ok(await client.post("/v1/kpis", json=kpi), 201)
    parent = await _goal(client, title="Parent", **PERIOD)
    good = await _goal(
        client, title="Good", parent_id=parent["id"], kpi="visits", target=10, **PERIOD
    )
    bad = await _goal(
        client, title="Bad", parent_id=parent["id"], kpi="visits", target=10_000, **PERIOD
    )
    await ingest([("visits", 20.0, NOW - timedelta(days=1), {})])
    await rejudge([good["id"], bad["id"]])
    before = ok(await client.get(f"/v1/goals/{parent['id']}"))["status"]
    assert before["children"]["off_track"] == 1

    # A goal with live sub-goals cannot be archived.
    refused = await client.patch(f"/v1/goals/{parent['id']}", json={"archived": True})
    assert refused.status_code == 409, refused.text
    assert "not archived" in refused.json()["detail"]

    archived = ok(await client.patch(f"/v1/goals/{bad['id']}", json={"archived": True}))
    assert archived["archived_at"] is not None
    after = ok(await client.get(f"/v1/goals/{parent['id']}"))["status"]
    assert after["children"]["off_track"] == 0
    assert sum(after["children"].values()) == 1
    assert after["status"] == "on_track"
    [node] = ok(await client.get("/v1/goals/tree"))["items"]
    assert [c["id"] for c in node["children"]] == [good["id"]]
    listed = ok(await client.get("/v1/goals"))["items"]
    assert bad["id"] not in [g["id"] for g in listed]
    archive = ok(await client.get("/v1/goals", params={"archived": "true"}))["items"]
    assert [g["id"] for g in archive] == [bad["id"]]
    # Still readable by id, with its history.
    assert ok(await client.get(f"/v1/goals/{bad['id']}"))["title"] == "Bad"
    # No sub-goal for an archived goal.
    orphan = await client.post("/v1/goals", json={"title": "Under", "parent_id": bad["id"]})
    assert orphan.status_code == 422

    restored = ok(await client.patch(f"/v1/goals/{bad['id']}", json={"archived": False}))
    assert restored["archived_at"] is None
    again = ok(await client.get(f"/v1/goals/{parent['id']}"))["status"]
    assert again["children"]["off_track"] == 1


async def test_a_lead_defines_kpis_for_their_unit_and_no_other(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    sales = ok(await client.post("/v1/units", json={"name": "Sales", "kind": "department"}), 201)
    ops = ok(await client.post("/v1/units", json={"name": "Ops", "kind": "department"}), 201)
    lead = ok(
        await client.post(
            "/v1/users",
            json={
                "email": "lea@example.com",
                "name": "Lea",
                "role": "member",
                "password": PASSWORD,
            },
        ),
        201,
    )
    ok(await client.put(f"/v1/units/{sales['id']}/members/{lead['id']}", json={"role": "lead"}))
    async with AsyncExitStack() as stack:
        web = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        )
        login = ok(
            await web.post("/v1/auth/login", json={"email": lead["email"], "password": PASSWORD})
        )
        web.headers["X-CSRF-Token"] = login["csrf_token"]

        def kpi(key: str, unit_id: str | None) -> dict[str, Any]:
            return {
                "key": key,
                "name": key,
                "expression": f"sum({key})",
                "kind": "lagging",
                "unit_id": unit_id,
            }

        mine = ok(await web.post("/v1/kpis", json=kpi("sales_calls", sales["id"])), 201)
        assert mine["unit_id"] == sales["id"]
        assert (await web.post("/v1/kpis", json=kpi("ops_tickets", ops["id"]))).status_code == 403
        assert (await web.post("/v1/kpis", json=kpi("everyone", None))).status_code == 403
        ok(await web.patch("/v1/kpis/sales_calls", json={"name": "Sales calls"}))
        moved = await web.patch("/v1/kpis/sales_calls", json={"unit_id": ops["id"]})
        assert moved.status_code == 403
        ok(await client.post("/v1/kpis", json=kpi("ops_tickets", ops["id"])), 201)
        assert (await web.patch("/v1/kpis/ops_tickets", json={"name": "x"})).status_code == 403
        assert (await web.delete("/v1/kpis/ops_tickets")).status_code == 403
        assert (await web.delete("/v1/kpis/sales_calls")).status_code == 204
    unknown = await client.post(
        "/v1/kpis", json=kpi("nowhere", "00000000-0000-0000-0000-000000000001")
    )
    assert unknown.status_code == 422


async def test_the_people_directory_is_for_everyone_and_holds_no_emails(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for email, name, role in (
        ("vi@example.com", "Vic Viewer", "viewer"),
        ("ed@example.com", "Eda Editor", "editor"),
        ("al@example.com", "Al 100%_sure", "member"),
    ):
        ok(
            await client.post(
                "/v1/users",
                json={"email": email, "name": name, "role": role, "password": PASSWORD},
            ),
            201,
        )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as web:
        ok(await web.post("/v1/auth/login", json={"email": "vi@example.com", "password": PASSWORD}))
        people = ok(await web.get("/v1/people"))["items"]
        assert [p["name"] for p in people] == sorted(p["name"] for p in people)
        assert {"Vic Viewer", "Eda Editor", "Al 100%_sure"} <= {p["name"] for p in people}
        assert all(set(p) == {"id", "name", "active"} for p in people)
        found = ok(await web.get("/v1/people", params={"q": "EDIT"}))["items"]
        assert [p["name"] for p in found] == ["Eda Editor"]
        # `%` and `_` are matched as themselves, not as patterns.
        literal = ok(await web.get("/v1/people", params={"q": "0%_s"}))["items"]
        assert [p["name"] for p in literal] == ["Al 100%_sure"]
        assert ok(await web.get("/v1/people", params={"q": "%"}))["items"][0]["name"] == (
            "Al 100%_sure"
        )
        first = ok(await web.get("/v1/people", params={"limit": 1}))
        second = ok(
            await web.get("/v1/people", params={"limit": 1, "cursor": first["next_cursor"]})
        )
        assert first["items"][0]["name"] < second["items"][0]["name"]
