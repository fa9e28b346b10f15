"""Live status read back over HTTP: a ratio KPI with label filters judged on_track,
at_risk, off_track, achieved and missed; weighted and worst roll-ups; the tree."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from northstar.db.engine import create_engine
from northstar.db.models import Goal
from tests.api.conftest import Ingest, ok

RATIO = '100 * sum(x{region="eu"}) / sum(y{region="eu"})'


@pytest.fixture
async def conversion(client: httpx.AsyncClient, ingest: Ingest) -> datetime:
    """KPI `conversion` = 90 in the EU over the last hours (other regions would change it)."""
    now = datetime.now(UTC)
    eu, us = {"region": "eu"}, {"region": "us"}
    hour = timedelta(hours=1)
    await ingest(
        [
            ("x", 20.0, now - 3 * hour, eu),
            ("x", 25.0, now - 2 * hour, eu),
            ("y", 50.0, now - 2 * hour, eu),
            ("x", 500.0, now - 2 * hour, us),
            ("y", 20.0, now - 2 * hour, us),
        ]
    )
    kpi = {"key": "conversion", "name": "Conversion", "expression": RATIO, "kind": "lagging"}
    ok(await client.post("/v1/kpis", json=kpi), 201)
    return now


async def _goal(client: httpx.AsyncClient, now: datetime, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Goal",
        "kpi": "conversion",
        "start": (now - timedelta(days=10)).isoformat(),
        "due": (now + timedelta(days=10)).isoformat(),
    } | fields
    goal: dict[str, Any] = ok(await client.post("/v1/goals", json=body), 201)
    return goal


def _stay_above(target: float, **fields: Any) -> dict[str, Any]:
    return {"type": "stay_above", "pacing": "none", "target": target} | fields


async def _status(client: httpx.AsyncClient, goal: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = ok(await client.get(f"/v1/goals/{goal['id']}/status"))
    return status


async def test_statuses(client: httpx.AsyncClient, conversion: datetime) -> None:
    now = conversion
    on_track = await _goal(client, now, **_stay_above(85))
    at_risk = await _goal(client, now, **_stay_above(100))
    off_track = await _goal(client, now, **_stay_above(120))
    achieved = await _goal(client, now, type="reach", baseline=0, target=80)
    missed = await _goal(
        client, now, **_stay_above(120), due=(now - timedelta(minutes=30)).isoformat()
    )
    later = await _goal(client, now, target=100, start=(now + timedelta(days=1)).isoformat())
    empty_kpi = {"key": "quiet", "name": "Quiet", "expression": "sum(nothing)", "kind": "leading"}
    ok(await client.post("/v1/kpis", json=empty_kpi), 201)
    no_data = await _goal(client, now, kpi="quiet", target=10)

    status = await _status(client, on_track)
    assert status == on_track["status"]
    assert status["goal_id"] == on_track["id"]
    assert status["status"] == "on_track"
    assert status["actual"] == pytest.approx(90.0)  # 100 * 45 / 50, US rows filtered out
    assert status["expected"] == 85
    assert status["target"] == 85
    assert status["score"] == pytest.approx(90 / 85)
    assert status["forecast"] is None  # fewer than 3 days of data
    assert status["evaluated_at"] is not None

    assert (await _status(client, at_risk))["score"] == pytest.approx(0.9)
    assert (await _status(client, at_risk))["status"] == "at_risk"
    assert (await _status(client, off_track))["status"] == "off_track"
    reached = await _status(client, achieved)
    assert reached["status"] == "achieved"
    assert reached["progress"] == pytest.approx(90 / 80)
    assert (await _status(client, missed))["status"] == "missed"
    assert (await _status(client, later))["status"] == "not_started"
    assert (await _status(client, no_data))["status"] == "no_data"

    listed = ok(await client.get("/v1/goals", params={"status": "at_risk"}))
    assert [g["id"] for g in listed["items"]] == [at_risk["id"]]

    # A PATCH re-judges at once.
    lowered = ok(
        await client.patch(
            f"/v1/goals/{off_track['id']}", json={"target": 80, "reason": "Too ambitious"}
        )
    )
    assert lowered["status"]["status"] == "on_track"


async def test_rollups_and_tree(client: httpx.AsyncClient, conversion: datetime) -> None:
    now = conversion
    company = await _goal(client, now, title="Company", kpi=None)
    assert company["status"]["status"] == "no_data"  # no child has a score yet

    # weighted: (3 · min(90/85, 1) + 1 · 0.75) / 4 ≈ 0.94 → at_risk; worst: 0.75 → off_track.
    strong = await _goal(client, now, parent_id=company["id"], weight=3, **_stay_above(85))
    weak = await _goal(client, now, parent_id=company["id"], **_stay_above(120))
    weighted = await _status(client, company)
    assert weighted["status"] == "at_risk"
    assert weighted["score"] == pytest.approx((3 * 1.0 + 0.75) / 4)

    worst = ok(await client.patch(f"/v1/goals/{company['id']}", json={"rollup": "worst"}))
    assert worst["status"]["status"] == "off_track"
    assert worst["status"]["score"] == pytest.approx(0.75)

    # A second tree: an at_risk child and an achieved one (its score counts at most 1.0).
    region = await _goal(client, now, title="Region", kpi=None, rollup="weighted")
    await _goal(client, now, parent_id=region["id"], **_stay_above(100))
    await _goal(client, now, parent_id=region["id"], type="reach", target=80)
    region_status = await _status(client, region)
    assert region_status["score"] == pytest.approx((0.9 + 1.0) / 2)
    assert region_status["status"] == "on_track"
    assert region_status["children"]["at_risk"] == 1
    assert region_status["children"]["achieved"] == 1

    tree = ok(await client.get("/v1/goals/tree"))
    assert [n["id"] for n in tree["items"]] == [company["id"], region["id"]]
    top = tree["items"][0]
    assert top["status"]["status"] == "off_track"
    assert [c["id"] for c in top["children"]] == [strong["id"], weak["id"]]
    assert [c["status"]["status"] for c in top["children"]] == ["on_track", "off_track"]
    assert all(c["children"] == [] for c in top["children"])
    assert [c["status"]["status"] for c in tree["items"][1]["children"]] == [
        "at_risk",
        "achieved",
    ]

    subtree = ok(await client.get("/v1/goals/tree", params={"root": region["id"]}))
    assert [n["id"] for n in subtree["items"]] == [region["id"]]
    assert len(subtree["items"][0]["children"]) == 2

    # Deleting a child re-judges the former parent.
    ok(await client.delete(f"/v1/goals/{weak['id']}"), 204)
    after = await _status(client, company)
    assert after["status"] == "on_track"
    assert after["score"] == pytest.approx(1.0)

    # Moving a child away re-judges the parent it left.
    ok(await client.patch(f"/v1/goals/{strong['id']}", json={"parent_id": region["id"]}))
    assert (await _status(client, company))["status"] == "no_data"
    assert (await _status(client, region))["score"] == pytest.approx((1.0 * 3 + 0.9 + 1.0) / 5)


async def test_tree_of_a_thousand_goals(client: httpx.AsyncClient, database_url: str) -> None:
    """Ten top-level goals, each with 99 children: one answer, built from two queries."""
    roots = [uuid.uuid4() for _ in range(10)]
    rows = [{"id": r, "title": f"Root {i}", "parent_id": None} for i, r in enumerate(roots)]
    rows += [
        {"id": uuid.uuid4(), "title": f"Child {i}", "parent_id": roots[i % 10]} for i in range(990)
    ]
    engine = create_engine(database_url, pool_size=1)
    async with engine.begin() as conn:
        await conn.execute(insert(Goal), rows)
    await engine.dispose()

    started = time.perf_counter()
    tree = ok(await client.get("/v1/goals/tree"))
    elapsed = time.perf_counter() - started
    assert len(tree["items"]) == 10
    assert sum(len(n["children"]) for n in tree["items"]) == 990
    assert all(c["status"]["status"] == "no_data" for n in tree["items"] for c in n["children"])
    assert elapsed < 3.0, f"the tree of 1,000 goals took {elapsed:.2f}s"
