"""Renaming a cycle to a name another cycle holds is a 409, like creating one."""

from __future__ import annotations

import httpx


async def test_renaming_a_cycle_to_a_taken_name_is_a_409(client: httpx.AsyncClient) -> None:
    dates = {"start": "2031-01-01T00:00:00Z", "due": "2032-01-01T00:00:00Z"}
    first = await client.post("/v1/cycles", json={"name": "FY2031 names", **dates})
    second = await client.post("/v1/cycles", json={"name": "FY2031 other", **dates})
    assert first.status_code == second.status_code == 201, (first.text, second.text)

    answer = await client.patch(f"/v1/cycles/{second.json()['id']}", json={"name": "FY2031 names"})

    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "FY2031 names" in answer.json()["detail"]
