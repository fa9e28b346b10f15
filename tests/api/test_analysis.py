"""Breakdown and drivers over HTTP (SPEC §13), from events stored as the evaluator stores
them: values per group read from the rollups and the raw edges, a planted driver found
without being named, and the errors a user can act on."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import Event, Ingest, ok

DAY = timedelta(days=1)


async def _kpi(client: httpx.AsyncClient, key: str, expression: str) -> None:
    body = {"key": key, "name": key, "expression": expression, "kind": "lagging"}
    ok(await client.post("/v1/kpis", json=body), 201)


@pytest.fixture
async def sales(client: httpx.AsyncClient, ingest: Ingest) -> datetime:
    """Thirty days of orders in three regions and two channels; the EU's orders halve in
    the last fifteen days, everything else stays flat."""
    now = datetime.now(UTC).replace(microsecond=0)
    events: list[Event] = []
    for day in range(1, 31):
        at = now - day * DAY + timedelta(seconds=7)  # off the minute: raw edges count too
        recent = day <= 15
        for region, amount in (("eu", 100.0), ("us", 60.0), ("apac", 30.0)):
            for channel in ("web", "store"):
                value = amount / 2 if (region == "eu" and recent) else amount
                dims = {"region": region, "channel": channel}
                events.append(("revenue", value, at, dims))
                events.append(("visit", 1.0, at, dims))
                if region != "apac" or channel == "web":
                    events.append(("order", 1.0, at, dims))
    await ingest(events)
    await _kpi(client, "revenue", "sum(revenue)")
    await _kpi(client, "conversion", "100 * count(order) / count(visit)")
    await _kpi(client, "typical_order", "p50(revenue)")
    return now


async def test_breakdown_of_a_sum_lists_groups_other_and_total(
    client: httpx.AsyncClient, sales: datetime
) -> None:
    start = (sales - 30 * DAY).isoformat()
    body = ok(
        await client.get(
            "/v1/kpis/revenue/breakdown",
            params={"by": "region", "from": start, "to": sales.isoformat(), "limit": 2},
        )
    )
    # EU: 15 days * 2 channels * 100 + 15 * 2 * 50 = 4500; US 3600; APAC 1800.
    assert [(i["dimensions"], i["value"]) for i in body["items"]] == [
        ({"region": "eu"}, 4500),
        ({"region": "us"}, 3600),
    ]
    assert body["other"]["value"] == 1800
    assert body["total"] == 9900
    assert body["additive"] is True
    assert math.isclose(sum(i["share"] for i in body["items"]) + body["other"]["share"], 1)
    assert body["by"] == ["region"]
    assert datetime.fromisoformat(body["from"]) == sales - 30 * DAY


async def test_breakdown_by_two_dimensions_and_of_a_ratio(
    client: httpx.AsyncClient, sales: datetime
) -> None:
    pair = ok(
        await client.get("/v1/kpis/revenue/breakdown", params={"by": "region,channel", "limit": 10})
    )
    assert len(pair["items"]) == 6 and pair["other"] is None
    assert {"region": "apac", "channel": "store"} in [i["dimensions"] for i in pair["items"]]

    ratio = ok(await client.get("/v1/kpis/conversion/breakdown", params={"by": "region"}))
    assert ratio["additive"] is False
    values = {i["dimensions"]["region"]: i["value"] for i in ratio["items"]}
    # Each region's conversion is its own orders over its own visits, not a sum of parts.
    assert values == {"eu": pytest.approx(100), "us": pytest.approx(100), "apac": pytest.approx(50)}
    assert ratio["total"] == pytest.approx(100 * 150 / 180)

    median = ok(await client.get("/v1/kpis/typical_order/breakdown", params={"by": "region"}))
    by_region = {i["dimensions"]["region"]: i["value"] for i in median["items"]}
    assert by_region["us"] == pytest.approx(60, rel=0.02)
    assert by_region["apac"] == pytest.approx(30, rel=0.02)


async def test_breakdown_errors(client: httpx.AsyncClient, sales: datetime) -> None:
    missing = await client.get("/v1/kpis/nope/breakdown", params={"by": "region"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    for bad in ("Region", "a,b,c,d", "region,region", ""):
        response = await client.get("/v1/kpis/revenue/breakdown", params={"by": bad})
        assert response.status_code == 422, bad
    backwards = await client.get(
        "/v1/kpis/revenue/breakdown",
        params={"by": "region", "from": sales.isoformat(), "to": (sales - DAY).isoformat()},
    )
    assert backwards.status_code == 422


async def _goal(client: httpx.AsyncClient, now: datetime, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Revenue",
        "kpi": "revenue",
        "start": (now - 15 * DAY).isoformat(),
        "due": (now + 15 * DAY).isoformat(),
        "target": 19_000,
    } | fields
    goal: dict[str, Any] = ok(await client.post("/v1/goals", json=body), 201)
    return goal


async def test_drivers_find_the_region_that_dropped_without_being_told(
    client: httpx.AsyncClient, sales: datetime
) -> None:
    goal = await _goal(client, sales)
    body = ok(await client.get(f"/v1/goals/{goal['id']}/drivers", params={"compare": "previous"}))
    assert body["dimension"] == "region"
    assert body["method"] == "additive"
    # This period: 15 days at 1500 + 1200 + 600 ... previous 15 days: EU at 200 a day more.
    assert body["gap"] == pytest.approx(-1500)
    top = body["items"][0]
    assert top["value"] == "eu"
    assert top["contribution"] == pytest.approx(-1500)
    assert top["share_of_gap"] == pytest.approx(1)
    assert math.fsum(i["contribution"] for i in body["items"]) == pytest.approx(body["gap"])
    assert body["reference_kind"] == "previous"
    assert [a["dimension"] for a in body["alternatives"]] == ["channel"]
    assert body["concentration"] > body["alternatives"][0]["concentration"]


async def test_drivers_against_the_expected_pace(
    client: httpx.AsyncClient, sales: datetime
) -> None:
    goal = await _goal(client, sales)
    body = ok(await client.get(f"/v1/goals/{goal['id']}/drivers", params={"by": "region"}))
    assert body["compare"] == "expected"
    assert body["reference_kind"] == "expected_by_history"
    assert body["reference"] == pytest.approx(9500, rel=1e-3)  # half-way to 19,000
    assert body["gap"] == pytest.approx(body["actual"] - body["reference"])
    assert body["items"][0]["value"] == "eu"
    assert math.fsum(i["contribution"] for i in body["items"]) == pytest.approx(body["gap"])


async def test_drivers_of_a_new_kpi_compare_each_value_with_its_peers(
    client: httpx.AsyncClient, ingest: Ingest
) -> None:
    """A KPI ten days old, so the goal's period has no previous one: the channels split
    the bookings evenly, while one of four products sells at a fifth of the others. The
    expected value is shared by peers, and the product is named, with `by` and without."""
    now = datetime.now(UTC).replace(microsecond=0)
    events: list[Event] = []
    for day in range(1, 11):
        at = now - day * DAY + timedelta(seconds=7)
        for product, amount in (("p1", 100.0), ("p2", 100.0), ("p3", 100.0), ("p4", 20.0)):
            for channel in ("web", "store"):
                events.append(("booking", amount, at, {"product": product, "channel": channel}))
    await ingest(events)
    await _kpi(client, "bookings", "sum(booking)")
    # Expected after 10 of 20 days: 8,000 of 16,000 (each product at 200 a day); actual
    # 6,400, of which p4 400.
    goal = await _goal(
        client,
        now,
        kpi="bookings",
        start=(now - 10 * DAY).isoformat(),
        due=(now + 10 * DAY).isoformat(),
        target=16_000,
    )
    url = f"/v1/goals/{goal['id']}/drivers"
    body = ok(await client.get(url))
    assert body["reference_kind"] == "expected_by_peers"
    assert body["dimension"] == "product"
    assert [a["dimension"] for a in body["alternatives"]] == ["channel"]
    assert body["concentration"] > body["alternatives"][0]["concentration"]
    top = body["items"][0]
    assert top["value"] == "p4"
    assert top["actual"] == pytest.approx(400)
    assert top["reference"] == pytest.approx(2000, rel=1e-3)  # a quarter of 8,000
    assert top["contribution"] == pytest.approx(-1600, rel=1e-3)
    assert top["share_of_gap"] == pytest.approx(1, rel=1e-3)
    assert math.fsum(i["contribution"] for i in body["items"]) == pytest.approx(body["gap"])
    by_product = ok(await client.get(url, params={"by": "product"}))
    assert (by_product["reference_kind"], by_product["items"][0]["value"]) == (
        "expected_by_peers",
        "p4",
    )
    # Against the previous period, which held no bookings: a sum of nothing is 0.
    previous = ok(await client.get(url, params={"compare": "previous"}))
    assert (previous["reference_kind"], previous["reference"]) == ("previous", 0)


async def test_drivers_of_a_ratio_use_rate_and_mix(
    client: httpx.AsyncClient, sales: datetime
) -> None:
    goal = await _goal(client, sales, kpi="conversion", target=90, type="stay_above")
    body = ok(
        await client.get(
            f"/v1/goals/{goal['id']}/drivers", params={"by": "channel", "compare": "previous"}
        )
    )
    assert body["method"] == "rate_mix"
    assert body["gap"] == pytest.approx(0, abs=1e-9)


async def test_drivers_errors(client: httpx.AsyncClient, sales: datetime) -> None:
    unknown = await client.get("/v1/goals/00000000-0000-0000-0000-000000000000/drivers")
    assert unknown.status_code == 404
    parent = ok(
        await client.post("/v1/goals", json={"title": "Company", "start": sales.isoformat()}), 201
    )
    rollup = await client.get(f"/v1/goals/{parent['id']}/drivers")
    assert rollup.status_code == 422
    assert "roll-up" in rollup.json()["detail"]
    later = await _goal(client, sales, start=(sales + DAY).isoformat())
    assert (await client.get(f"/v1/goals/{later['id']}/drivers")).status_code == 422
    goal = await _goal(client, sales)
    bad = await client.get(f"/v1/goals/{goal['id']}/drivers", params={"by": "a,b"})
    assert bad.status_code == 422


async def test_a_constant_kpi_has_no_groups_to_break_down_or_split(
    client: httpx.AsyncClient, sales: datetime
) -> None:
    """An expression without aggregations reads no events (schemathesis found the empty
    grouped query this once built answering 500)."""
    await _kpi(client, "six", "2 * 3")
    body = ok(await client.get("/v1/kpis/six/breakdown", params={"by": "region"}))
    assert (body["items"], body["other"], body["total"]) == ([], None, 6)
    goal = await _goal(client, sales, kpi="six", target=10)
    drivers = ok(await client.get(f"/v1/goals/{goal['id']}/drivers", params={"by": "region"}))
    assert (drivers["actual"], drivers["items"], drivers["concentration"]) == (6, [], 0)
    without_by = await client.get(f"/v1/goals/{goal['id']}/drivers")
    assert without_by.status_code == 422
    assert "no dimensions" in without_by.json()["detail"]
