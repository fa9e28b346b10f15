"""`GET /v1/goals/{id}/history` as one timeline: evaluations, alert changes, the reviews
that froze the goal's status, and the revision that carried out a review's target change
(citing the review by id and title), in time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.conftest import Ingest, ok

HOUR = timedelta(hours=1)


async def test_one_timeline(client: httpx.AsyncClient, ingest: Ingest) -> None:
    now = datetime.now(UTC)
    await ingest([("orders", 90.0, now - 2 * HOUR, {})])
    kpi = {"key": "orders", "name": "Orders", "expression": "sum(orders)", "kind": "lagging"}
    ok(await client.post("/v1/kpis", json=kpi), 201)
    fields = {
        "kpi": "orders",
        "type": "stay_above",
        "pacing": "none",
        "start": (now - timedelta(days=10)).isoformat(),
        "due": (now + timedelta(days=10)).isoformat(),
    }
    goal = ok(await client.post("/v1/goals", json={"title": "Orders", "target": 100} | fields), 201)
    other = ok(await client.post("/v1/goals", json={"title": "Other", "target": 200} | fields), 201)
    assert (goal["status"]["status"], other["status"]["status"]) == ("at_risk", "off_track")
    path = f"/v1/goals/{goal['id']}/history"

    [alert] = ok(await client.get("/v1/alerts", params={"goal_id": goal["id"]}))["items"]
    ok(await client.post(f"/v1/alerts/{alert['id']}/ack", json={"note": "Watching"}))

    review = ok(
        await client.post(
            "/v1/reviews", json={"title": "Monthly sales review", "scope_goal_id": goal["id"]}
        ),
        201,
    )
    ok(
        await client.post(
            f"/v1/reviews/{review['id']}/decisions",
            json={"kind": "target_change", "text": "Aim for 90", "goal_id": goal["id"]},
        ),
        201,
    )
    changed = ok(
        await client.patch(
            f"/v1/goals/{goal['id']}",
            json={"target": 90, "reason": "Agreed in review", "review_id": review["id"]},
        )
    )
    assert changed["status"]["status"] == "on_track"

    items: list[dict[str, Any]] = ok(await client.get(path))["items"]
    assert [e["type"] for e in items] == [
        "status",
        "alert",
        "alert",
        "review",
        "revision",
        "status",
        "alert",
    ]
    times = [datetime.fromisoformat(e["time"]) for e in items]
    assert times == sorted(times)

    opened, acknowledged, resolved = (e for e in items if e["type"] == "alert")
    assert opened == {
        "time": opened["time"],
        "type": "alert",
        "event": "alert.opened",
        "alert_id": alert["id"],
        "kind": "status",
        "severity": "warning",
        "state": "open",
        "actor": "northstar",
        "note": None,
    }
    assert (acknowledged["event"], acknowledged["state"]) == ("alert.acknowledged", "acknowledged")
    assert (acknowledged["actor"], acknowledged["note"]) == ("bootstrap-admin", "Watching")
    assert (resolved["event"], resolved["state"], resolved["actor"]) == (
        "alert.resolved",
        "resolved",
        "northstar",
    )

    entry = items[3]
    assert entry["review_id"] == review["id"]
    assert entry["title"] == "Monthly sales review"
    assert datetime.fromisoformat(entry["time"]) == datetime.fromisoformat(review["held_at"])
    snapshot_only = ("title", "parent_id", "latest_check_in")
    frozen = {k: v for k, v in review["snapshot"][0].items() if k not in snapshot_only}
    assert entry["status"] == frozen
    assert entry["status"]["status"] == "at_risk"

    revision = items[4]
    assert (revision["review_id"], revision["review_title"]) == (
        review["id"],
        "Monthly sales review",
    )
    assert revision["reason"] == "Agreed in review"
    assert revision["changes"]["target"] == {"old": 100, "new": 90}
    assert items[5]["status"] == "on_track"

    # The window applies to every source.
    before_review = ok(
        await client.get(path, params={"to": (times[3] - timedelta(microseconds=1)).isoformat()})
    )["items"]
    assert [e["type"] for e in before_review] == ["status", "alert", "alert"]
    from_review = ok(await client.get(path, params={"from": times[3].isoformat()}))["items"]
    assert [e["type"] for e in from_review] == ["review", "revision", "status", "alert"]

    # Another goal's alerts and reviews that did not hold it stay out of this timeline.
    other_items = ok(await client.get(f"/v1/goals/{other['id']}/history"))["items"]
    assert [e["type"] for e in other_items] == ["status", "alert"]
    assert other_items[1]["alert_id"] != alert["id"]
