"""`/v1/reviews`: the snapshot freezes the live statuses of the goals in scope (a subtree
or everything) and never changes afterwards; decisions are recorded and updated."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import Ingest, ok

NOW = datetime.now(UTC)


@pytest.fixture
async def goals(client: httpx.AsyncClient, ingest: Ingest) -> dict[str, dict[str, Any]]:
    """Company (roll-up) → sales (at_risk) → eu (on_track); support (off_track) elsewhere."""
    await ingest([("orders", 90.0, NOW - timedelta(hours=2), {})])
    kpi = {"key": "orders", "name": "Orders", "expression": "sum(orders)", "kind": "lagging"}
    ok(await client.post("/v1/kpis", json=kpi), 201)
    period = {
        "start": (NOW - timedelta(days=10)).isoformat(),
        "due": (NOW + timedelta(days=10)).isoformat(),
    }
    measured = {"kpi": "orders", "type": "stay_above", "pacing": "none"} | period

    async def goal(**fields: Any) -> dict[str, Any]:
        created: dict[str, Any] = ok(await client.post("/v1/goals", json=fields), 201)
        return created

    company = await goal(title="Company", **period)
    sales = await goal(title="Sales", parent_id=company["id"], target=100, **measured)
    eu = await goal(title="Sales EU", parent_id=sales["id"], target=80, **measured)
    support = await goal(title="Support", target=200, **measured)
    return {"company": company, "sales": sales, "eu": eu, "support": support}


async def _status(client: httpx.AsyncClient, goal: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = ok(await client.get(f"/v1/goals/{goal['id']}/status"))
    return status


def _without_context(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in ("title", "parent_id", "latest_check_in")}


async def test_snapshot_freezes_the_scope(
    client: httpx.AsyncClient, goals: dict[str, dict[str, Any]]
) -> None:
    company, sales, eu, support = (goals[k] for k in ("company", "sales", "eu", "support"))
    before = {g["id"]: await _status(client, g) for g in goals.values()}
    assert before[sales["id"]]["status"] == "at_risk"
    assert before[eu["id"]]["status"] == "on_track"
    assert before[support["id"]]["status"] == "off_track"

    body = {
        "title": "Q3 sales review",
        "scope_goal_id": company["id"],
        "period_start": (NOW - timedelta(days=90)).isoformat(),
        "period_end": NOW.isoformat(),
        "participants": ["Ada", " Grace "],
        "notes": "Sales behind plan.",
    }
    review = ok(await client.post("/v1/reviews", json=body), 201)
    assert review["title"] == "Q3 sales review"
    assert review["scope_goal_id"] == company["id"]
    assert review["participants"] == ["Ada", "Grace"]
    assert review["notes"] == "Sales behind plan."
    assert review["created_by"] == "bootstrap-admin"
    assert review["decisions"] == []
    held_at = datetime.fromisoformat(review["held_at"])
    assert abs(held_at - datetime.now(UTC)) < timedelta(minutes=1)  # default: now

    # The subtree, oldest goal first, each entry the live status object plus context.
    snapshot = review["snapshot"]
    assert [e["goal_id"] for e in snapshot] == [company["id"], sales["id"], eu["id"]]
    for entry in snapshot:
        assert _without_context(entry) == before[entry["goal_id"]]
    assert [(e["title"], e["parent_id"]) for e in snapshot] == [
        ("Company", None),
        ("Sales", company["id"]),
        ("Sales EU", sales["id"]),
    ]

    # Without a scope: every goal.
    everything = ok(await client.post("/v1/reviews", json={"title": "All hands"}), 201)
    assert {e["goal_id"] for e in everything["snapshot"]} == set(before)
    for entry in everything["snapshot"]:
        assert _without_context(entry) == before[entry["goal_id"]]

    # Statuses change later; the snapshot does not.
    ok(
        await client.patch(
            f"/v1/goals/{sales['id']}", json={"target": 200, "reason": "Stretch", "title": "S"}
        )
    )
    assert (await _status(client, sales))["status"] == "off_track"
    again = ok(await client.get(f"/v1/reviews/{review['id']}"))
    assert again == review
    assert again["snapshot"][1]["status"] == "at_risk"
    assert again["snapshot"][1]["title"] == "Sales"

    # Lists: most recently held first; filter by a goal in the snapshot; pagination.
    listed = ok(await client.get("/v1/reviews"))
    assert [r["id"] for r in listed["items"]] == [everything["id"], review["id"]]
    by_goal = ok(await client.get("/v1/reviews", params={"goal_id": support["id"]}))
    assert [r["id"] for r in by_goal["items"]] == [everything["id"]]
    page = ok(await client.get("/v1/reviews", params={"limit": 1}))
    rest = ok(await client.get("/v1/reviews", params={"limit": 1, "cursor": page["next_cursor"]}))
    assert [r["id"] for r in page["items"] + rest["items"]] == [everything["id"], review["id"]]
    assert rest["next_cursor"] is None

    # An explicit held_at is kept; the listing orders by it.
    earlier = (NOW - timedelta(days=30)).isoformat()
    old = ok(await client.post("/v1/reviews", json={"title": "Old", "held_at": earlier}), 201)
    assert datetime.fromisoformat(old["held_at"]) == datetime.fromisoformat(earlier)
    listed = ok(await client.get("/v1/reviews"))
    assert [r["id"] for r in listed["items"]][-1] == old["id"]


async def test_review_validation(
    client: httpx.AsyncClient, goals: dict[str, dict[str, Any]]
) -> None:
    missing = str(uuid.uuid4())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"scope_goal_id": missing}, "scope_goal_id"),
        (
            {"period_start": NOW.isoformat(), "period_end": (NOW - timedelta(days=1)).isoformat()},
            "period_end",
        ),
        ({"title": ""}, "title"),
        ({"held_at": "2026-01-01T00:00:00"}, "held_at"),
        ({"participants": [""]}, "participants.0"),
        ({"snapshot": []}, "snapshot"),
    ]
    for fields, field in cases:
        response = await client.post("/v1/reviews", json={"title": "R"} | fields)
        assert response.status_code == 422, (fields, response.text)
        assert response.json()["errors"][0]["field"] == field, (fields, response.json())
    response = await client.get(f"/v1/reviews/{missing}")
    assert response.status_code == 404
    assert missing in response.json()["detail"]
    assert ok(await client.get("/v1/reviews"))["items"] == []


async def test_decisions(client: httpx.AsyncClient, goals: dict[str, dict[str, Any]]) -> None:
    sales = goals["sales"]
    review = ok(await client.post("/v1/reviews", json={"title": "Weekly"}), 201)
    path = f"/v1/reviews/{review['id']}/decisions"
    due = (NOW + timedelta(days=7)).isoformat()

    action = ok(
        await client.post(
            path,
            json={"kind": "action", "text": "Call top accounts", "owner": "Ada", "due": due},
        ),
        201,
    )
    assert action["kind"] == "action"
    assert (action["owner"], action["done"], action["goal_id"]) == ("Ada", False, None)
    assert datetime.fromisoformat(action["due"]) == datetime.fromisoformat(due)
    change = ok(
        await client.post(
            path,
            json={"kind": "target_change", "text": "Lower to 95", "goal_id": sales["id"]},
        ),
        201,
    )
    assert change["goal_id"] == sales["id"]

    for body, field in [
        ({"kind": "target_change", "text": "Which goal?"}, "goal_id"),
        ({"kind": "decision", "text": "x", "goal_id": str(uuid.uuid4())}, "goal_id"),
        ({"kind": "vote", "text": "x"}, "kind"),
        ({"kind": "decision", "text": ""}, "text"),
    ]:
        response = await client.post(path, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"][0]["field"] == field
    missing = uuid.uuid4()
    response = await client.post(
        f"/v1/reviews/{missing}/decisions", json={"kind": "decision", "text": "x"}
    )
    assert response.status_code == 404

    done = ok(await client.patch(f"{path}/{action['id']}", json={"done": True, "owner": None}))
    assert (done["done"], done["owner"], done["text"]) == (True, None, "Call top accounts")
    assert done["due"] == action["due"]
    assert datetime.fromisoformat(done["updated_at"]) > datetime.fromisoformat(action["updated_at"])
    retext = ok(await client.patch(f"{path}/{action['id']}", json={"text": "Call all accounts"}))
    assert (retext["text"], retext["done"]) == ("Call all accounts", True)
    patches: list[tuple[dict[str, Any], str]] = [
        ({"text": None}, "text"),
        ({"done": None}, "done"),
        ({"kind": "x"}, "kind"),
    ]
    for change_body, field in patches:
        response = await client.patch(f"{path}/{action['id']}", json=change_body)
        assert response.status_code == 422, (change_body, response.text)
        assert response.json()["errors"][0]["field"] == field
    assert (await client.patch(f"{path}/{missing}", json={"done": True})).status_code == 404
    # A decision is addressed under its own review only.
    other = ok(await client.post("/v1/reviews", json={"title": "Other"}), 201)
    elsewhere = await client.patch(
        f"/v1/reviews/{other['id']}/decisions/{action['id']}", json={"done": False}
    )
    assert elsewhere.status_code == 404

    fetched = ok(await client.get(f"/v1/reviews/{review['id']}"))
    assert [d["id"] for d in fetched["decisions"]] == [action["id"], change["id"]]
    assert fetched["decisions"][0] == retext


async def test_openapi_describes_reviews(client: httpx.AsyncClient) -> None:
    document = ok(await client.get("/openapi.json"))
    for path, operations in document["paths"].items():
        if path.startswith("/v1/reviews"):
            for method, operation in operations.items():
                assert operation.get("summary"), (method, path)
    schemas = document["components"]["schemas"]
    for name in ("ReviewOut", "ReviewCreate", "SnapshotStatus", "DecisionOut", "DecisionCreate"):
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("description"), (name, field)
