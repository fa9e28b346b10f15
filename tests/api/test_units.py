"""`/v1/units`: CRUD, parent and cycle rules, delete rules, pagination and scopes."""

from __future__ import annotations

import uuid

import httpx

from tests.api.conftest import ok


async def _unit(client: httpx.AsyncClient, name: str, kind: str, parent: str | None = None) -> str:
    body = {"name": name, "kind": kind} | ({"parent_id": parent} if parent else {})
    unit: dict[str, str] = ok(await client.post("/v1/units", json=body), 201)
    return unit["id"]


async def test_create_read_update_delete(client: httpx.AsyncClient) -> None:
    created = ok(await client.post("/v1/units", json={"name": "Acme", "kind": "organization"}), 201)
    assert created["name"] == "Acme"
    assert created["kind"] == "organization"
    assert created["parent_id"] is None
    assert created["created_at"] and created["updated_at"]

    sales = await _unit(client, "Sales", "department", created["id"])
    fetched = ok(await client.get(f"/v1/units/{sales}"))
    assert fetched["parent_id"] == created["id"]

    patched = ok(await client.patch(f"/v1/units/{sales}", json={"name": "Sales EU"}))
    assert patched["name"] == "Sales EU"
    assert patched["kind"] == "department"
    assert patched["parent_id"] == created["id"]
    assert patched["updated_at"] >= fetched["updated_at"]

    top = ok(await client.patch(f"/v1/units/{sales}", json={"parent_id": None}))
    assert top["parent_id"] is None

    ok(await client.delete(f"/v1/units/{sales}"), 204)
    gone = await client.get(f"/v1/units/{sales}")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert sales in gone.json()["detail"]


async def test_validation(client: httpx.AsyncClient) -> None:
    bad_kind = await client.post("/v1/units", json={"name": "X", "kind": "tribe"})
    assert bad_kind.status_code == 422
    assert bad_kind.json()["errors"][0]["field"] == "kind"

    extra = await client.post("/v1/units", json={"name": "X", "kind": "team", "colour": "red"})
    assert extra.status_code == 422
    assert extra.json()["errors"][0]["field"] == "colour"

    missing = str(uuid.uuid4())
    orphan = await client.post(
        "/v1/units", json={"name": "X", "kind": "team", "parent_id": missing}
    )
    assert orphan.status_code == 422
    assert orphan.json()["errors"] == [
        {"field": "parent_id", "message": f"there is no org unit with id {missing}"}
    ]

    unit = await _unit(client, "Team", "team")
    null_name = await client.patch(f"/v1/units/{unit}", json={"name": None})
    assert null_name.status_code == 422
    assert null_name.json()["errors"][0]["field"] == "name"

    assert (await client.get(f"/v1/units/{missing}")).status_code == 404
    assert (await client.patch(f"/v1/units/{missing}", json={"name": "Y"})).status_code == 404
    assert (await client.delete(f"/v1/units/{missing}")).status_code == 404


async def test_no_cycles(client: httpx.AsyncClient) -> None:
    org = await _unit(client, "Org", "organization")
    dept = await _unit(client, "Dept", "department", org)
    team = await _unit(client, "Team", "team", dept)

    for parent in (org, team, dept):
        if parent == org:
            continue
        response = await client.patch(f"/v1/units/{org}", json={"parent_id": parent})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "parent_id"
    self_parent = await client.patch(f"/v1/units/{dept}", json={"parent_id": dept})
    assert self_parent.status_code == 422


async def test_delete_is_refused_while_in_use(client: httpx.AsyncClient) -> None:
    org = await _unit(client, "Org", "organization")
    team = await _unit(client, "Team", "team", org)

    blocked = await client.delete(f"/v1/units/{org}")
    assert blocked.status_code == 409
    assert "1 child unit" in blocked.json()["detail"]

    goal = ok(await client.post("/v1/goals", json={"title": "G", "unit_id": team}), 201)
    blocked = await client.delete(f"/v1/units/{team}")
    assert blocked.status_code == 409
    assert "1 goal" in blocked.json()["detail"]

    ok(await client.delete(f"/v1/goals/{goal['id']}"), 204)
    ok(await client.delete(f"/v1/units/{team}"), 204)
    ok(await client.delete(f"/v1/units/{org}"), 204)


async def test_pagination_round_trip_and_filter(client: httpx.AsyncClient) -> None:
    org = await _unit(client, "Org", "organization")
    made = [org] + [await _unit(client, f"Team {i}", "team", org) for i in range(6)]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = ok(await client.get("/v1/units", params=params))
        seen += [u["id"] for u in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    assert pages == 3

    children = ok(await client.get("/v1/units", params={"parent_id": org}))
    assert [u["id"] for u in children["items"]] == made[1:]

    bad = await client.get("/v1/units", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400


async def test_scopes(client: httpx.AsyncClient) -> None:
    reader = ok(await client.post("/v1/api-keys", json={"name": "viewer", "scopes": ["read"]}), 201)
    headers = {"Authorization": f"Bearer {reader['key']}"}

    denied = await client.post("/v1/units", json={"name": "X", "kind": "team"}, headers=headers)
    assert denied.status_code == 403
    assert "write" in denied.json()["detail"]
    assert (await client.get("/v1/units", headers=headers)).status_code == 200
    for path in ("/v1/kpis", "/v1/goals", "/v1/goals/tree"):
        assert (await client.get(path, headers=headers)).status_code == 200
    denied_goal = await client.post("/v1/goals", json={"title": "X"}, headers=headers)
    assert denied_goal.status_code == 403

    anonymous = await client.get("/v1/units", headers={"Authorization": ""})
    assert anonymous.status_code == 401
