"""Crafted input is a client error: out-of-range dates and durations, NULs, and cursors
the server did not sign are 4xx problem+json answers, never a 500."""

from __future__ import annotations

import base64

import httpx
import orjson
import pytest

from tests.api.conftest import ok


def _unsigned(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/v1/goals",
        "/v1/units",
        "/v1/kpis",
        "/v1/alerts",
        "/v1/reviews",
        "/v1/webhooks",
        "/v1/api-keys",
        "/v1/metrics",
    ],
)
@pytest.mark.parametrize(
    "position",
    [
        ["0001-01-01T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"],
        ["9999-12-31T23:59:59+00:00", "00000000-0000-0000-0000-000000000000"],
        ["revenue"],
    ],
)
async def test_an_unsigned_cursor_is_a_400(
    client: httpx.AsyncClient, path: str, position: list[str]
) -> None:
    response = await client.get(path, params={"cursor": _unsigned(position)})
    assert "next_cursor exactly as returned" in str(_problem(response, 400)["detail"])


async def test_a_signed_cursor_pages_on(client: httpx.AsyncClient) -> None:
    for n in range(3):
        ok(await client.post("/v1/units", json={"name": f"Unit {n}", "kind": "team"}), 201)
    first = ok(await client.get("/v1/units", params={"limit": 2}))
    assert first["next_cursor"]
    second = ok(await client.get("/v1/units", params={"limit": 2, "cursor": first["next_cursor"]}))
    assert len(second["items"]) == 1
    tampered = first["next_cursor"][:-2] + ("AA" if first["next_cursor"][-2:] != "AA" else "BB")
    _problem(await client.get("/v1/units", params={"cursor": tampered}), 400)


async def _kpi(client: httpx.AsyncClient) -> None:
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


async def test_kpi_values_from_year_one_is_a_422(client: httpx.AsyncClient) -> None:
    await _kpi(client)
    response = await client.get(
        "/v1/kpis/revenue/values",
        params={"from": "0001-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "step": "P7D"},
    )
    _problem(response, 422)
    response = await client.get(
        "/v1/kpis/revenue/values", params={"from": "0001-01-01T00:00:00Z", "step": "P7D"}
    )
    _problem(response, 422)


@pytest.mark.parametrize(
    "fields",
    [
        {"kpi": "revenue", "target": 10, "window": "P99999Y"},
        {"kpi": "revenue", "target": 10, "due": "9999-12-31T23:00:00-05:00"},
        {"kpi": "revenue", "target": 10, "start": "0001-01-01T00:30:00+01:00"},
        {"kpi": "revenue", "target": 10, "due": "2020-01-01T00:00:00Z"},
        {"kpi": "revenue", "target": 10, "title": "a\u0000b"},
        {"kpi": "revenue", "target": 10, "owner": "x\u0000"},
    ],
)
async def test_goals_with_out_of_range_or_nul_input_are_a_422(
    client: httpx.AsyncClient, fields: dict[str, object]
) -> None:
    await _kpi(client)
    response = await client.post("/v1/goals", json={"title": "Crafted"} | fields)
    _problem(response, 422)


async def test_a_goal_patched_out_of_range_is_a_422(client: httpx.AsyncClient) -> None:
    await _kpi(client)
    goal = ok(
        await client.post("/v1/goals", json={"title": "G", "kpi": "revenue", "target": 1}), 201
    )
    for change in ({"window": "P99999Y"}, {"due": "9999-12-31T23:00:00-05:00", "reason": "x"}):
        _problem(await client.patch(f"/v1/goals/{goal['id']}", json=change), 422)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/kpis/a%00b",
        "/v1/kpis/a%00b/values",
        "/v1/units?name=a%00b",
        "/v1/goals?kpi=a%00b",
        "/v1/alerts?kind=a%00b",
    ],
)
async def test_a_nul_in_a_path_or_query_is_a_client_error(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_nul_in_text_fields_is_a_422(client: httpx.AsyncClient) -> None:
    for path, body in (
        ("/v1/units", {"name": "a\u0000", "kind": "team"}),
        ("/v1/kpis", {"key": "k", "name": "a\u0000", "expression": "sum(x)", "kind": "leading"}),
        ("/v1/reviews", {"title": "a\u0000", "held_at": "2026-01-01T00:00:00Z"}),
    ):
        _problem(await client.post(path, json=body), 422)


async def test_a_reference_to_nothing_is_a_422_not_a_500(client: httpx.AsyncClient) -> None:
    """A foreign key the route did not check first (here: a membership of a user that
    does not exist) is the client's error."""
    unit = ok(await client.post("/v1/units", json={"name": "Team", "kind": "team"}), 201)
    response = await client.put(
        f"/v1/units/{unit['id']}/members/b27f46b3-8e91-4917-bb11-cf3c86472185",
        json={"role": "member"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
