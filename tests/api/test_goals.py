"""`/v1/goals`: CRUD, validation, cascade rules, the SMART check, the reason rule and the
history timeline."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert

from northstar.db.engine import create_engine
from northstar.db.models import Review
from tests.api.conftest import ok

NOW = datetime.now(UTC)
PAST = (NOW - timedelta(days=10)).isoformat()
FUTURE = (NOW + timedelta(days=10)).isoformat()
LATER = (NOW + timedelta(days=40)).isoformat()


async def _goal(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"title": "Goal"} | fields
    goal: dict[str, Any] = ok(await client.post("/v1/goals", json=body), 201)
    return goal


async def _setup(client: httpx.AsyncClient) -> str:
    ok(
        await client.post(
            "/v1/kpis",
            json={
                "key": "revenue",
                "name": "Revenue",
                "expression": "sum(revenue)",
                "kind": "lagging",
            },
        ),
        201,
    )
    unit: dict[str, str] = ok(
        await client.post("/v1/units", json={"name": "Sales", "kind": "department"}), 201
    )
    return unit["id"]


async def test_create_read_update_delete(client: httpx.AsyncClient) -> None:
    unit = await _setup(client)
    goal = await _goal(
        client,
        title="Grow revenue",
        description="Reach 1M in Q1",
        owner="ana",
        unit_id=unit,
        kpi="revenue",
        type="reach",
        baseline=100,
        target=1_000_000,
        start=PAST,
        due="2099-03-31T23:59:59+02:00",
        pacing="linear",
        thresholds={"at_risk": 0.9, "off_track": 0.8},
        weight=2,
        window="P30D",
        rollup="worst",
        alert_clear_margin=0.05,
    )
    assert goal["kpi"] == "revenue"
    assert goal["unit_id"] == unit
    assert goal["thresholds"] == {"at_risk": 0.9, "off_track": 0.8}
    assert goal["window"] == "P30D"
    assert datetime.fromisoformat(goal["due"]) == datetime(2099, 3, 31, 21, 59, 59, tzinfo=UTC)
    assert goal["smart"]["complete"] is True
    # Evaluated at once: no events yet.
    assert goal["status"]["status"] == "no_data"
    assert goal["status"]["goal_id"] == goal["id"]
    assert goal["status"]["evaluated_at"] is not None
    assert goal["status"]["target"] == 1_000_000

    assert ok(await client.get(f"/v1/goals/{goal['id']}")) == goal

    patched = ok(
        await client.patch(
            f"/v1/goals/{goal['id']}",
            json={"title": "Grow revenue fast", "owner": None, "window": None},
        )
    )
    assert patched["title"] == "Grow revenue fast"
    assert patched["owner"] is None
    assert patched["window"] is None
    assert patched["target"] == 1_000_000

    defaults = await _goal(client, kpi="revenue", target=5)
    assert defaults["type"] == "reach"
    assert defaults["baseline"] == 0
    assert defaults["pacing"] == "linear"
    assert defaults["thresholds"] == {"at_risk": 0.95, "off_track": 0.85}
    assert defaults["weight"] == 1
    assert defaults["rollup"] == "weighted"
    assert defaults["alert_clear_margin"] == 0.02

    ok(await client.delete(f"/v1/goals/{goal['id']}"), 204)
    for method, path in (
        ("GET", f"/v1/goals/{goal['id']}"),
        ("GET", f"/v1/goals/{goal['id']}/status"),
        ("GET", f"/v1/goals/{goal['id']}/history"),
        ("PATCH", f"/v1/goals/{goal['id']}"),
        ("DELETE", f"/v1/goals/{goal['id']}"),
        ("GET", f"/v1/goals/tree?root={goal['id']}"),
    ):
        response = await client.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path)
        assert goal["id"] in response.json()["detail"]


async def test_validation(client: httpx.AsyncClient) -> None:
    unit = await _setup(client)
    missing = str(uuid.uuid4())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kpi": "nope"}, "kpi"),
        ({"unit_id": missing}, "unit_id"),
        ({"parent_id": missing}, "parent_id"),
        ({"start": FUTURE, "due": PAST}, "due"),
        ({"thresholds": {"at_risk": 0.8, "off_track": 0.9}}, "thresholds"),
        ({"thresholds": {"off_track": 0}}, "thresholds.off_track"),
        ({"thresholds": {"off_track": 0.99}}, "thresholds"),  # above the default at_risk
        ({"weight": -1}, "weight"),
        ({"alert_clear_margin": -0.1}, "alert_clear_margin"),
        ({"window": "a week"}, "window"),
        ({"start": "2026-01-01T00:00:00"}, "start"),  # no offset
        ({"type": "exceed"}, "type"),
        ({"pacing": "fast"}, "pacing"),
        ({"colour": "red"}, "colour"),
        ({"title": ""}, "title"),
    ]
    for fields, field in cases:
        response = await client.post("/v1/goals", json={"title": "G", "unit_id": unit} | fields)
        assert response.status_code == 422, (fields, response.text)
        problem = response.json()
        assert problem["errors"][0]["field"] == field, (fields, problem)
        assert problem["detail"]

    goal = await _goal(client, unit_id=unit, kpi="revenue", target=10, start=PAST, due=FUTURE)
    for fields, field in [
        ({"title": None}, "title"),
        ({"due": (NOW - timedelta(days=20)).isoformat(), "reason": "x"}, "due"),
        ({"thresholds": {"at_risk": 0.5}, "reason": "x"}, "thresholds"),
        ({"kpi": "nope"}, "kpi"),
    ]:
        response = await client.patch(f"/v1/goals/{goal['id']}", json=fields)
        assert response.status_code == 422, (fields, response.text)
        assert response.json()["errors"][0]["field"] == field


async def test_cascade_rules(client: httpx.AsyncClient) -> None:
    top = await _goal(client, title="Top")
    middle = await _goal(client, title="Middle", parent_id=top["id"])
    leaf = await _goal(client, title="Leaf", parent_id=middle["id"])

    for parent in (leaf["id"], middle["id"], top["id"]):
        cycle = await client.patch(f"/v1/goals/{top['id']}", json={"parent_id": parent})
        assert cycle.status_code == 422
        assert cycle.json()["errors"][0]["field"] == "parent_id"

    blocked = await client.delete(f"/v1/goals/{middle['id']}")
    assert blocked.status_code == 409
    assert "1 child goal" in blocked.json()["detail"]

    moved = ok(await client.patch(f"/v1/goals/{leaf['id']}", json={"parent_id": top["id"]}))
    assert moved["parent_id"] == top["id"]
    ok(await client.delete(f"/v1/goals/{middle['id']}"), 204)

    children = ok(await client.get("/v1/goals", params={"parent_id": top["id"]}))
    assert [g["id"] for g in children["items"]] == [leaf["id"]]


async def test_smart_check(client: httpx.AsyncClient) -> None:
    unit = await _setup(client)
    bare = await _goal(client, title="Be better")
    assert bare["smart"] == {
        "specific": ["no description"],
        "measurable": ["no KPI"],
        "achievable": ["no target"],
        "relevant": ["no parent goal or org unit"],
        "time_bound": ["no start date", "no due date"],
        "complete": False,
    }

    flat = await _goal(
        client,
        description="Hold revenue where it is",
        unit_id=unit,
        kpi="revenue",
        baseline=50,
        target=50,
        start=PAST,
    )
    assert flat["smart"]["achievable"] == ["target equals baseline"]
    assert flat["smart"]["time_bound"] == ["no due date"]
    assert flat["smart"]["measurable"] == []
    assert flat["smart"]["complete"] is False

    # Once it has children, a goal without a KPI is a roll-up: they measure it.
    parent = await _goal(
        client, title="Company", description="All of it", unit_id=unit, start=PAST, due=FUTURE
    )
    assert parent["smart"]["measurable"] == ["no KPI"]
    await _goal(client, parent_id=parent["id"], kpi="revenue", target=1)
    rollup = ok(await client.get(f"/v1/goals/{parent['id']}"))
    assert rollup["smart"]["measurable"] == []
    assert rollup["smart"]["achievable"] == []
    assert rollup["smart"]["complete"] is True


async def _review(database_url: str) -> str:
    """A review row (the reviews API is a later issue; revisions only refer to it)."""
    engine = create_engine(database_url, pool_size=1)
    async with engine.begin() as conn:
        review_id = await conn.scalar(
            insert(Review).values(title="Q1 review", held_at=NOW, snapshot=[]).returning(Review.id)
        )
    await engine.dispose()
    return str(review_id)


async def test_reason_rule_and_revisions(client: httpx.AsyncClient, database_url: str) -> None:
    await _setup(client)
    started = await _goal(client, kpi="revenue", baseline=0, target=100, start=PAST, due=FUTURE)
    path = f"/v1/goals/{started['id']}"

    refused = await client.patch(path, json={"target": 120})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "reason"
    assert "reason is required" in refused.json()["detail"]
    assert ok(await client.get(path))["target"] == 100

    # Fields outside the rule need no reason; sending an unchanged target needs none either.
    ok(await client.patch(path, json={"title": "Renamed", "target": 100}))

    unknown_review = await client.patch(
        path, json={"target": 120, "reason": "x", "review_id": str(uuid.uuid4())}
    )
    assert unknown_review.status_code == 422
    assert unknown_review.json()["errors"][0]["field"] == "review_id"

    review = await _review(database_url)
    changed = ok(
        await client.patch(
            path,
            json={
                "target": 120,
                "thresholds": {"off_track": 0.8},
                "due": LATER,
                "reason": "Q2 plan raised the bar",
                "review_id": review,
            },
        )
    )
    assert changed["target"] == 120
    assert changed["thresholds"] == {"at_risk": 0.95, "off_track": 0.8}
    assert changed["status"]["target"] == 120

    history = ok(await client.get(f"{path}/history"))
    assert history["goal_id"] == started["id"]
    revisions = [e for e in history["items"] if e["type"] == "revision"]
    assert len(revisions) == 1
    revision = revisions[0]
    assert revision["changed_by"] == "bootstrap-admin"
    assert revision["reason"] == "Q2 plan raised the bar"
    assert revision["review_id"] == review
    assert revision["changes"]["target"] == {"old": 100, "new": 120}
    assert revision["changes"]["thresholds"] == {
        "old": {"at_risk": 0.95, "off_track": 0.85},
        "new": {"at_risk": 0.95, "off_track": 0.8},
    }
    assert datetime.fromisoformat(revision["changes"]["due"]["new"]) == datetime.fromisoformat(
        LATER
    )
    statuses = [e for e in history["items"] if e["type"] == "status"]
    assert statuses and all(e["status"] == "no_data" for e in statuses)
    times = [datetime.fromisoformat(e["time"]) for e in history["items"]]
    assert times == sorted(times)

    # A window that ends before the change leaves the revision out.
    early = ok(
        await client.get(
            f"{path}/history",
            params={"to": datetime.fromisoformat(started["created_at"]).isoformat()},
        )
    )
    assert all(e["type"] == "status" for e in early["items"])

    # Before its start a goal is still a draft: no reason, no revision.
    planned = await _goal(client, kpi="revenue", target=100, start=FUTURE, due=LATER)
    assert planned["status"]["status"] == "not_started"
    ok(await client.patch(f"/v1/goals/{planned['id']}", json={"target": 150, "baseline": 10}))
    planned_history = ok(await client.get(f"/v1/goals/{planned['id']}/history"))
    assert [e["type"] for e in planned_history["items"]] == ["status"]
    assert planned_history["items"][0]["status"] == "not_started"

    bad = await client.get(f"{path}/history", params={"from": FUTURE, "to": PAST})
    assert bad.status_code == 422


async def test_list_filters_and_pagination(client: httpx.AsyncClient) -> None:
    unit = await _setup(client)
    planned = [
        await _goal(client, title=f"G{i}", kpi="revenue", target=5, unit_id=unit, start=FUTURE)
        for i in range(3)
    ]
    others = [await _goal(client, title=f"H{i}") for i in range(2)]

    seen: list[str] = []
    cursor = None
    while True:
        page = ok(
            await client.get(
                "/v1/goals", params={"limit": 2} | ({"cursor": cursor} if cursor else {})
            )
        )
        assert len(page["items"]) <= 2
        seen += [g["id"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [g["id"] for g in planned + others]

    by_unit = ok(await client.get("/v1/goals", params={"unit_id": unit}))
    assert [g["id"] for g in by_unit["items"]] == [g["id"] for g in planned]
    assert all(g["status"]["status"] == "not_started" for g in by_unit["items"])
    by_kpi = ok(await client.get("/v1/goals", params={"kpi": "revenue"}))
    assert len(by_kpi["items"]) == 3
    not_started = ok(await client.get("/v1/goals", params={"status": "not_started"}))
    assert len(not_started["items"]) == 3
    no_data = ok(await client.get("/v1/goals", params={"status": "no_data"}))
    assert [g["id"] for g in no_data["items"]] == [g["id"] for g in others]
    assert (await client.get("/v1/goals", params={"status": "great"})).status_code == 422
