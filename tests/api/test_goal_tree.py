"""`GET /v1/goals/tree` and the api's cache of rendered nodes: every change to a goal or to
its status shows in the very next tree, whichever path wrote it, and each node is the goal
exactly as `GET /v1/goals/{id}` shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from northstar.db.engine import create_engine
from services.api.goals.nodes import GoalNodes
from services.api.goals.schemas import GoalOut
from tests.api.conftest import Ingest, Judge, ok

NOW = datetime.now(UTC)
PERIOD = {
    "start": (NOW - timedelta(days=10)).isoformat(),
    "due": (NOW + timedelta(days=10)).isoformat(),
}


async def _goal(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    goal: dict[str, Any] = ok(await client.post("/v1/goals", json={"title": "Goal"} | fields), 201)
    return goal


async def _tree(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """The tree, checked node by node against the single-goal read (a separate path: ORM
    and pydantic), as nodes by id."""
    nodes: dict[str, dict[str, Any]] = {}
    pending = list(ok(await client.get("/v1/goals/tree"))["items"])
    while pending:
        node = pending.pop()
        assert list(node) == [*GoalOut.model_fields, "children"]
        goal = {k: v for k, v in node.items() if k != "children"}
        assert goal == ok(await client.get(f"/v1/goals/{node['id']}"))
        nodes[node["id"]] = node
        pending += node["children"]
    return nodes


async def _sql(database_url: str, statement: str, **params: Any) -> None:
    engine = create_engine(database_url, pool_size=1)
    async with engine.begin() as conn:
        await conn.execute(text(statement), params)
    await engine.dispose()


async def test_every_change_shows_in_the_next_tree(
    client: httpx.AsyncClient, app: FastAPI, ingest: Ingest, rejudge: Judge, database_url: str
) -> None:
    kpi = {"key": "sales", "name": "Sales", "expression": "sum(sales)", "kind": "lagging"}
    ok(await client.post("/v1/kpis", json=kpi), 201)
    company = await _goal(client, title="Company", description="All of it", owner="ana")
    sales = await _goal(
        client,
        title="Sales",
        parent_id=company["id"],
        kpi="sales",
        type="stay_above",
        pacing="none",
        target=100,
        **PERIOD,
    )
    tree = await _tree(client)
    assert tree[sales["id"]]["status"]["status"] == "no_data"
    assert len(app.state.goal_nodes) == 2  # rendered once, kept
    assert await _tree(client) == tree

    # The evaluator judges new events: the next tree has the new status, up the cascade.
    await ingest([("sales", 150.0, NOW - timedelta(hours=1), {})])
    await rejudge([sales["id"]])
    tree = await _tree(client)
    assert tree[sales["id"]]["status"]["status"] == "on_track"
    assert tree[sales["id"]]["status"]["actual"] == 150.0
    assert tree[company["id"]]["status"]["score"] == 1.0  # a child counts at most 1.0
    assert tree[company["id"]]["children"][0]["status"]["actual"] == 150.0

    # An edit through the api.
    ok(await client.patch(f"/v1/goals/{sales['id']}", json={"title": "Sales, all regions"}))
    tree = await _tree(client)
    assert tree[sales["id"]]["title"] == "Sales, all regions"
    assert tree[company["id"]]["children"][0]["title"] == "Sales, all regions"

    # Writes that leave updated_at and evaluated_at alone still show.
    await _sql(
        database_url,
        "UPDATE goals SET description = 'fixed by hand' WHERE id = :id",
        id=company["id"],
    )
    await _sql(database_url, "UPDATE goal_state SET score = 0.5 WHERE goal_id = :g", g=sales["id"])
    tree = await _tree(client)
    assert tree[company["id"]]["description"] == "fixed by hand"
    assert tree[sales["id"]]["status"]["score"] == 0.5

    # A goal's first child makes it a roll-up: its SMART check changes, its row does not.
    lone = await _goal(client, title="Lone", description="Alone", owner="bo", **PERIOD)
    assert (await _tree(client))[lone["id"]]["smart"]["measurable"] == ["no KPI"]
    await _goal(client, title="Child", parent_id=lone["id"], kpi="sales", target=5, **PERIOD)
    assert (await _tree(client))[lone["id"]]["smart"]["measurable"] == []

    # The subtree of one goal answers from the same nodes.
    subtree = ok(await client.get("/v1/goals/tree", params={"root": company["id"]}))
    assert subtree["items"] == [tree[company["id"]]]


async def test_a_tree_larger_than_the_cache(
    client: httpx.AsyncClient, app: FastAPI, rejudge: Judge
) -> None:
    """A bounded cache keeps at most `max_goals` goals; the answer stays whole and current."""
    app.state.goal_nodes = GoalNodes(max_goals=3)
    top = await _goal(client, title="Top")
    kids = [await _goal(client, title=f"Kid {i}", parent_id=top["id"]) for i in range(6)]
    first = await _tree(client)
    assert len(first) == 7
    assert len(app.state.goal_nodes) == 3
    ok(await client.patch(f"/v1/goals/{kids[0]['id']}", json={"title": "First kid"}))
    second = await _tree(client)
    assert second[kids[0]["id"]]["title"] == "First kid"
    assert [k["id"] for k in second[top["id"]]["children"]] == [k["id"] for k in kids]
