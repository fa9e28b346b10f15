"""Plans and check-ins over the api (SPEC §12): initiatives with milestones, progress and
the goal's summary; the `plan` alert opening for a late milestone and resolving when it is
ticked off; check-ins (cadence, manual values through the outbox, retries); strategy,
perspectives and categories; cycles and carry-forward."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from northstar.db.engine import create_engine
from northstar.db.models import OutboxEvent
from tests.api.conftest import Ingest, Judge, ok

DAY = timedelta(days=1)


async def _kpi(client: httpx.AsyncClient, key: str, **extra: Any) -> dict[str, Any]:
    body = {"key": key, "name": key.title(), "expression": f"last({key})", "kind": "lagging"}
    kpi: dict[str, Any] = ok(await client.post("/v1/kpis", json=body | extra), 201)
    return kpi


async def _goal(client: httpx.AsyncClient, now: datetime, **extra: Any) -> dict[str, Any]:
    body = {
        "title": "Goal",
        "target": 100,
        "start": (now - 10 * DAY).isoformat(),
        "due": (now + 20 * DAY).isoformat(),
    }
    goal: dict[str, Any] = ok(await client.post("/v1/goals", json=body | extra), 201)
    return goal


async def _outbox(database_url: str, type_: str) -> list[OutboxEvent]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(OutboxEvent).where(OutboxEvent.type == type_))).all()
    finally:
        await engine.dispose()
    return list(rows)  # type: ignore[arg-type]


async def test_initiative_progress_and_goal_summary(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    goal = await _goal(client, now)
    assert goal["status"]["initiatives"] is None

    created = ok(
        await client.post(
            "/v1/initiatives",
            json={
                "goal_id": goal["id"],
                "title": "Open the Lyon office",
                "status": "in_progress",
                "due": (now + 30 * DAY).isoformat(),
                "budget": {"amount": "50000", "currency": "EUR"},
                "spent": "12500.50",
                "milestones": [
                    {"title": "Lease signed", "due": (now + DAY).isoformat(), "done": True},
                    {"title": "Team hired", "due": (now + 10 * DAY).isoformat()},
                    {"title": "Opening", "due": (now + 30 * DAY).isoformat()},
                    {"title": "First client", "due": (now + 30 * DAY).isoformat()},
                ],
            },
        ),
        201,
    )
    assert created["progress"] == 0.25
    assert created["late"] is False
    assert created["budget"] == {"amount": "50000.00", "currency": "EUR"}
    assert [m["done_at"] is not None for m in created["milestones"]] == [True, False, False, False]
    ok(
        await client.post(
            "/v1/initiatives",
            json={
                "goal_id": goal["id"],
                "title": "Retire the old CRM",
                "status": "done",
                "budget": {"amount": "1000", "currency": "USD"},
                "spent": "900",
            },
        ),
        201,
    )

    status = ok(await client.get(f"/v1/goals/{goal['id']}/status"))
    summary = status["initiatives"]
    assert summary["count"] == 2
    assert summary["by_status"]["in_progress"] == 1
    assert summary["by_status"]["done"] == 1
    assert summary["progress"] == (0.25 + 1.0) / 2
    assert summary["budget"] == [
        {"currency": "EUR", "amount": 50000.0, "spent": 12500.5},
        {"currency": "USD", "amount": 1000.0, "spent": 900.0},
    ]
    [node] = ok(await client.get("/v1/goals/tree", params={"root": goal["id"]}))["items"]
    assert node["status"]["initiatives"] == summary

    # Ticking off a milestone keeps the others (by id) and moves progress and summary.
    steps = [{"id": m["id"], "title": m["title"], "due": m["due"]} for m in created["milestones"]]
    steps[1]["done"] = True  # type: ignore[assignment]
    patched = ok(await client.patch(f"/v1/initiatives/{created['id']}", json={"milestones": steps}))
    assert patched["progress"] == 0.5
    assert [m["id"] for m in patched["milestones"]] == [m["id"] for m in created["milestones"]]
    assert patched["milestones"][0]["done_at"] == created["milestones"][0]["done_at"]
    [node] = ok(await client.get("/v1/goals/tree", params={"root": goal["id"]}))["items"]
    assert node["status"]["initiatives"]["progress"] == (0.5 + 1.0) / 2

    listed = ok(await client.get("/v1/initiatives", params={"goal_id": goal["id"]}))["items"]
    assert [i["title"] for i in listed] == ["Open the Lyon office", "Retire the old CRM"]
    done = ok(await client.get("/v1/initiatives", params={"status": "done"}))["items"]
    assert [i["title"] for i in done] == ["Retire the old CRM"]

    ok(await client.delete(f"/v1/initiatives/{created['id']}"), 204)
    assert (await client.get(f"/v1/initiatives/{created['id']}")).status_code == 404
    status = ok(await client.get(f"/v1/goals/{goal['id']}/status"))
    assert status["initiatives"]["count"] == 1


async def test_initiative_validation(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    goal = await _goal(client, now)
    missing = str(uuid.uuid4())
    bad = await client.post("/v1/initiatives", json={"goal_id": missing, "title": "X"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "goal_id"
    no_budget = await client.post(
        "/v1/initiatives", json={"goal_id": goal["id"], "title": "X", "spent": "10"}
    )
    assert no_budget.status_code == 422
    assert no_budget.json()["errors"][0]["field"] == "spent"
    backwards = await client.post(
        "/v1/initiatives",
        json={
            "goal_id": goal["id"],
            "title": "X",
            "start": now.isoformat(),
            "due": (now - DAY).isoformat(),
        },
    )
    assert backwards.status_code == 422
    bad_status = await client.post(
        "/v1/initiatives", json={"goal_id": goal["id"], "title": "X", "status": "stalled"}
    )
    assert bad_status.status_code == 422


async def test_late_milestone_opens_a_plan_alert_that_resolves_when_done(
    client: httpx.AsyncClient, database_url: str
) -> None:
    now = datetime.now(UTC)
    goal = await _goal(client, now)
    initiative = ok(
        await client.post(
            "/v1/initiatives",
            json={
                "goal_id": goal["id"],
                "title": "Migrate billing",
                "milestones": [
                    {"title": "Vendor chosen", "due": (now - DAY).isoformat()},
                    {"title": "Cut-over", "due": (now + 5 * DAY).isoformat()},
                ],
            },
        ),
        201,
    )
    assert initiative["late"] is True
    [alert] = ok(await client.get("/v1/alerts", params={"kind": "plan"}))["items"]
    assert (alert["goal_id"], alert["severity"], alert["state"]) == (
        goal["id"],
        "warning",
        "open",
    )

    steps = [
        {"id": m["id"], "title": m["title"], "due": m["due"], "done": i == 0}
        for i, m in enumerate(initiative["milestones"])
    ]
    patched = ok(
        await client.patch(f"/v1/initiatives/{initiative['id']}", json={"milestones": steps})
    )
    assert patched["late"] is False
    [resolved] = ok(await client.get("/v1/alerts", params={"kind": "plan"}))["items"]
    assert resolved["id"] == alert["id"]
    assert resolved["state"] == "resolved"
    types = [r.data["kind"] for r in await _outbox(database_url, "alert.opened")]
    assert types.count("plan") == 1
    assert len(await _outbox(database_url, "alert.resolved")) == 1

    # An initiative past its own due opens one again; cancelling it resolves it.
    ok(
        await client.patch(
            f"/v1/initiatives/{initiative['id']}", json={"due": (now - DAY).isoformat()}
        )
    )
    assert (
        len(ok(await client.get("/v1/alerts", params={"kind": "plan", "state": "open"}))["items"])
        == 1
    )
    ok(await client.patch(f"/v1/initiatives/{initiative['id']}", json={"status": "cancelled"}))
    assert (
        ok(await client.get("/v1/alerts", params={"kind": "plan", "state": "open"}))["items"] == []
    )


async def test_check_ins_cadence_and_history(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    goal = await _goal(client, now, check_in_cadence="P7D")
    assert goal["check_in_cadence"] == "P7D"
    # No check-in yet: the first was due a week after the start (10 days ago).
    first = goal["status"]["check_in"]
    assert first["last_at"] is None
    assert first["overdue"] is True

    at = now - DAY
    check_in = ok(
        await client.post(
            f"/v1/goals/{goal['id']}/check-ins",
            json={
                "comment": "Pipeline is healthy",
                "confidence": 7,
                "blockers": "Hiring",
                "at": at.isoformat(),
            },
        ),
        201,
    )
    assert check_in["author"] == "bootstrap-admin"
    assert (check_in["confidence"], check_in["value"]) == (7, None)
    status = ok(await client.get(f"/v1/goals/{goal['id']}/status"))["check_in"]
    assert datetime.fromisoformat(status["last_at"]) == at
    assert datetime.fromisoformat(status["due_at"]) == at + 7 * DAY
    assert status["overdue"] is False

    listed = ok(await client.get(f"/v1/goals/{goal['id']}/check-ins"))["items"]
    assert [c["id"] for c in listed] == [check_in["id"]]
    history = ok(await client.get(f"/v1/goals/{goal['id']}/history"))["items"]
    entries = [e for e in history if e["type"] == "check_in"]
    assert [(e["check_in_id"], e["confidence"], e["comment"]) for e in entries] == [
        (check_in["id"], 7, "Pipeline is healthy")
    ]

    review = ok(
        await client.post("/v1/reviews", json={"title": "Monthly", "scope_goal_id": goal["id"]}),
        201,
    )
    [frozen] = review["snapshot"]
    assert datetime.fromisoformat(frozen["check_in"]["last_at"]) == at
    assert frozen["latest_check_in"]["confidence"] == 7

    for body in ({"confidence": 0}, {"confidence": 11}, {"comment": "no confidence"}):
        assert (
            await client.post(f"/v1/goals/{goal['id']}/check-ins", json=body)
        ).status_code == 422
    future = {"confidence": 5, "at": (now + 3 * DAY).isoformat()}
    assert (await client.post(f"/v1/goals/{goal['id']}/check-ins", json=future)).status_code == 422
    missing = await client.post(f"/v1/goals/{uuid.uuid4()}/check-ins", json={"confidence": 5})
    assert missing.status_code == 404


async def test_check_in_value_needs_a_manual_kpi_and_is_written_once(
    client: httpx.AsyncClient, database_url: str
) -> None:
    now = datetime.now(UTC)
    await _kpi(client, "revenue")
    pushed = await _goal(client, now, kpi="revenue")
    refused = await client.post(
        f"/v1/goals/{pushed['id']}/check-ins", json={"confidence": 5, "value": 3}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "value"

    several = await client.post(
        "/v1/kpis",
        json={
            "key": "margin",
            "name": "Margin",
            "expression": "sum(a) - sum(b)",
            "kind": "lagging",
            "source": "manual",
        },
    )
    assert several.status_code == 422

    kpi = await _kpi(client, "employee_satisfaction", source="manual", category="people")
    assert (kpi["source"], kpi["category"]) == ("manual", "people")
    goal = await _goal(client, now, kpi="employee_satisfaction", target=8, type="stay_above")
    check_in_id = str(uuid.uuid4())
    body = {"id": check_in_id, "confidence": 6, "value": 7.5, "comment": "Q3 survey"}
    first = await client.post(f"/v1/goals/{goal['id']}/check-ins", json=body)
    assert first.status_code == 201, first.text
    retry = await client.post(f"/v1/goals/{goal['id']}/check-ins", json=body)
    assert retry.status_code == 200
    assert retry.json() == first.json()

    [event] = await _outbox(database_url, "metric.recorded")
    assert event.data["event_id"] == check_in_id
    assert event.data["source"] == "check-in"
    assert event.data["metric"] == "employee_satisfaction"
    assert event.data["value"] == 7.5

    other = await _goal(client, now, kpi="employee_satisfaction")
    clash = await client.post(f"/v1/goals/{other['id']}/check-ins", json=body)
    assert clash.status_code == 409


async def test_strategy_perspective_and_category(client: httpx.AsyncClient) -> None:
    unit = ok(
        await client.post(
            "/v1/units",
            json={
                "name": "Acme",
                "kind": "organization",
                "vision": "Every shop runs on Acme",
                "mission": "Make retail simple",
                "values": ["Customers first", "Own it"],
            },
        ),
        201,
    )
    assert unit["values"] == ["Customers first", "Own it"]
    patched = ok(await client.patch(f"/v1/units/{unit['id']}", json={"mission": "Simplify"}))
    assert (patched["vision"], patched["mission"]) == ("Every shop runs on Acme", "Simplify")

    now = datetime.now(UTC)
    goal = await _goal(client, now, perspective="customer")
    assert goal["perspective"] == "customer"
    custom = await _goal(client, now, perspective="sustainability")
    assert custom["perspective"] == "sustainability"
    assert (
        await client.post("/v1/goals", json={"title": "X", "perspective": "Not OK"})
    ).status_code == 422
    untagged = await _goal(client, now)

    def ids(listed: dict[str, Any]) -> set[str]:
        return {g["id"] for g in listed["items"]}

    assert untagged["id"] in ids(ok(await client.get("/v1/goals")))
    customer = ok(await client.get("/v1/goals", params={"perspective": "customer"}))
    assert ids(customer) == {goal["id"]}
    assert ids(ok(await client.get("/v1/goals", params={"perspective": "nobody"}))) == set()
    kpi = await _kpi(client, "nps", category="customer")
    assert kpi["category"] == "customer"
    assert ok(await client.patch("/v1/kpis/nps", json={"category": None}))["category"] is None


async def test_cycles_and_goal_dates(client: httpx.AsyncClient) -> None:
    fy = ok(
        await client.post(
            "/v1/cycles",
            json={"name": "FY2027", "start": "2027-01-01T00:00:00Z", "due": "2028-01-01T00:00:00Z"},
        ),
        201,
    )
    taken = await client.post(
        "/v1/cycles",
        json={"name": "FY2027", "start": "2027-01-01T00:00:00Z", "due": "2028-01-01T00:00:00Z"},
    )
    assert taken.status_code == 409
    backwards = await client.post(
        "/v1/cycles",
        json={"name": "X", "start": "2027-01-01T00:00:00Z", "due": "2026-01-01T00:00:00Z"},
    )
    assert backwards.status_code == 422
    goal = ok(await client.post("/v1/goals", json={"title": "G", "cycle_id": fy["id"]}), 201)
    assert (goal["start"], goal["due"]) == ("2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z")
    assert goal["cycle_id"] == fy["id"]
    outside = ok(await client.post("/v1/goals", json={"title": "Outside any cycle"}), 201)
    in_fy = ok(await client.get("/v1/goals", params={"cycle_id": fy["id"]}))["items"]
    assert [g["id"] for g in in_fy] == [goal["id"]]
    assert outside["id"] in {g["id"] for g in ok(await client.get("/v1/goals"))["items"]}
    assert (await client.delete(f"/v1/cycles/{fy['id']}")).status_code == 409
    listed = ok(await client.get("/v1/cycles"))["items"]
    assert [c["name"] for c in listed] == ["FY2027"]


async def test_carry_forward_three_levels_with_initiatives(client: httpx.AsyncClient) -> None:
    q1 = ok(
        await client.post(
            "/v1/cycles",
            json={
                "name": "2027-Q1",
                "start": "2027-01-01T00:00:00Z",
                "due": "2027-04-01T00:00:00Z",
            },
        ),
        201,
    )
    q2 = ok(
        await client.post(
            "/v1/cycles",
            json={
                "name": "2027-Q2",
                "start": "2027-04-01T00:00:00Z",
                "due": "2027-07-01T00:00:00Z",
            },
        ),
        201,
    )
    await _kpi(client, "revenue")

    async def goal(title: str, parent: str | None, **extra: Any) -> dict[str, Any]:
        body = {"title": title, "cycle_id": q1["id"], "parent_id": parent} | extra
        created: dict[str, Any] = ok(await client.post("/v1/goals", json=body), 201)
        return created

    top = await goal("Grow", None)
    middle = await goal("Grow EU", top["id"])
    leaf = await goal(
        "EU revenue", middle["id"], kpi="revenue", target=1000, due="2027-03-15T00:00:00Z"
    )
    open_one = ok(
        await client.post(
            "/v1/initiatives",
            json={
                "goal_id": leaf["id"],
                "title": "Partner channel",
                "status": "in_progress",
                "due": "2027-03-31T00:00:00Z",
                "budget": {"amount": "1000", "currency": "EUR"},
                "spent": "400",
                "milestones": [
                    {"title": "Signed", "done_at": "2027-01-10T00:00:00Z"},
                    {"title": "Live", "due": "2027-03-01T00:00:00Z"},
                ],
            },
        ),
        201,
    )
    ok(
        await client.post(
            "/v1/initiatives", json={"goal_id": leaf["id"], "title": "Old promo", "status": "done"}
        ),
        201,
    )
    before = ok(await client.get("/v1/goals/tree", params={"root": top["id"]}))

    carried = ok(
        await client.post(
            f"/v1/cycles/{q1['id']}/carry-forward",
            json={"into_cycle_id": q2["id"], "goal_ids": [top["id"]], "target_factor": 1.1},
        ),
        201,
    )
    links = {c["carried_from"]: c["id"] for c in carried["goals"]}
    assert set(links) == {top["id"], middle["id"], leaf["id"]}
    [moved] = carried["initiatives"]
    assert moved["carried_from"] == open_one["id"]

    [new_top] = ok(await client.get("/v1/goals/tree", params={"root": links[top["id"]]}))["items"]
    assert (new_top["cycle_id"], new_top["carried_from"], new_top["parent_id"]) == (
        q2["id"],
        top["id"],
        None,
    )
    assert (new_top["start"], new_top["due"]) == ("2027-04-01T00:00:00Z", "2027-07-01T00:00:00Z")
    [new_middle] = new_top["children"]
    assert new_middle["carried_from"] == middle["id"]
    [new_leaf] = new_middle["children"]
    assert new_leaf["carried_from"] == leaf["id"]
    assert new_leaf["kpi"] == "revenue"
    assert new_leaf["target"] == pytest.approx(1100)
    assert new_leaf["due"] == "2027-06-13T00:00:00Z"  # 2027-03-15 moved by Q2 - Q1 (90 days)
    assert new_leaf["status"]["initiatives"]["count"] == 1

    copy = ok(await client.get(f"/v1/initiatives/{moved['id']}"))
    assert (copy["goal_id"], copy["title"], copy["status"]) == (
        links[leaf["id"]],
        "Partner channel",
        "in_progress",
    )
    assert copy["budget"] == {"amount": "600.00", "currency": "EUR"}
    assert copy["spent"] == "0.00"
    assert [m["title"] for m in copy["milestones"]] == ["Live"]
    assert copy["milestones"][0]["due"] == "2027-05-30T00:00:00Z"  # 2027-03-01 + 90 days

    # The old cycle is untouched.
    assert ok(await client.get("/v1/goals/tree", params={"root": top["id"]})) == before
    old = ok(await client.get(f"/v1/initiatives/{open_one['id']}"))
    assert (old["goal_id"], old["spent"], len(old["milestones"])) == (leaf["id"], "400.00", 2)

    not_in_cycle = await client.post(
        f"/v1/cycles/{q2['id']}/carry-forward",
        json={"into_cycle_id": q1["id"], "goal_ids": [top["id"]]},
    )
    assert not_in_cycle.status_code == 422


async def test_status_change_events_carry_the_plan_part(
    client: httpx.AsyncClient, ingest: Ingest, rejudge: Judge, database_url: str
) -> None:
    """`goal.status_changed` (webhooks, SPEC §6) sends the same status object as the api,
    check-in and initiatives included."""
    now = datetime.now(UTC)
    await _kpi(client, "orders")
    goal = await _goal(client, now, kpi="orders", type="stay_above", pacing="none", target=10)
    ok(await client.patch(f"/v1/goals/{goal['id']}", json={"check_in_cadence": "P14D"}))
    ok(
        await client.post(
            "/v1/initiatives",
            json={
                "goal_id": goal["id"],
                "title": "Promo",
                "budget": {"amount": "5", "currency": "EUR"},
            },
        ),
        201,
    )
    await ingest([("orders", 12.0, now - timedelta(hours=1), {})])
    await rejudge([goal["id"]])

    [event] = await _outbox(database_url, "goal.status_changed")
    sent = event.data["status"]
    assert (event.data["from"], event.data["to"]) == ("no_data", "on_track")
    shown = ok(await client.get(f"/v1/goals/{goal['id']}/status"))
    assert sent["initiatives"] == shown["initiatives"]
    assert sent["initiatives"]["budget"] == [{"currency": "EUR", "amount": 5.0, "spent": 0.0}]
    assert sent["check_in"]["overdue"] is False
    assert datetime.fromisoformat(sent["check_in"]["due_at"]) == datetime.fromisoformat(
        shown["check_in"]["due_at"]
    )
