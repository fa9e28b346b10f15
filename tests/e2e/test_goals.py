"""KPIs and goals defined through the api, events pushed through ingest, statuses read
back from the api — with all three services running as real processes (SPEC §4–5)."""

from __future__ import annotations

import pytest

from tests.conftest import StartService
from tests.e2e.conftest import Northstar
from tests.support import eventually, fetchval


async def _define_sales(ns: Northstar) -> dict[str, str]:
    """Revenue in the EU (a label filter) with goals that land in every status, a ratio
    KPI, and a weighted and a worst-child roll-up parent."""
    await ns.post(
        "/v1/kpis",
        {
            "key": "revenue_eu",
            "name": "Revenue (EU)",
            "unit": "EUR",
            "expression": 'sum(revenue{region="eu"})',
            "kind": "lagging",
        },
    )
    await ns.post(
        "/v1/kpis",
        {
            "key": "web_conversion",
            "name": "Web conversion",
            "unit": "%",
            "expression": '100 * count(signup{channel="web"}) / count(visit{channel="web"})',
            "kind": "leading",
        },
    )
    period = ns.period(10, 10)  # elapsed 0.5: a reach goal's expected value is half its target
    parent = await ns.post("/v1/goals", {"title": "Grow the EU", **period})

    async def goal(title: str, target: float, **extra: object) -> str:
        body = {"title": title, "kpi": "revenue_eu", "target": target, **period, **extra}
        created = await ns.post("/v1/goals", body)
        return str(created["id"])

    ids = {
        "on_track": await goal("EU revenue 1000", 1000, parent_id=parent["id"]),
        "at_risk": await goal("EU revenue 1300", 1300),
        "off_track": await goal("EU revenue 2000", 2000, parent_id=parent["id"]),
        "achieved": await goal("EU revenue 500", 500),
        "parent": str(parent["id"]),
    }
    conversion = await ns.post(
        "/v1/goals",
        {
            "title": "Convert a quarter of web visits",
            "kpi": "web_conversion",
            "type": "stay_above",
            "target": 25,
            "pacing": "none",
            **period,
        },
    )
    ids["conversion"] = str(conversion["id"])
    return ids


async def test_statuses_follow_pushed_events(northstar: Northstar) -> None:
    ns = northstar
    ids = await _define_sales(ns)
    for goal_id in (ids["on_track"], ids["at_risk"]):
        assert (await ns.status(goal_id))["status"] == "no_data"

    # EU revenue 600 (in two events, one of them late and out of order); US revenue must
    # not count; web conversion 3/10 = 30 % (app traffic must not count).
    await ns.push(
        [
            {
                "metric": "revenue",
                "value": 450,
                "dimensions": {"region": "eu"},
                "timestamp": ns.at(1),
            },
            {
                "metric": "revenue",
                "value": 999,
                "dimensions": {"region": "us"},
                "timestamp": ns.at(1),
            },
        ]
        + [{"metric": "visit", "value": 1, "dimensions": {"channel": "web"}, "timestamp": ns.at(2)}]
        * 10
        + [{"metric": "visit", "value": 1, "dimensions": {"channel": "app"}, "timestamp": ns.at(2)}]
        * 5
        + [
            {
                "metric": "signup",
                "value": 1,
                "dimensions": {"channel": "web"},
                "timestamp": ns.at(2),
            }
        ]
        * 3
        + [
            {
                "metric": "signup",
                "value": 1,
                "dimensions": {"channel": "app"},
                "timestamp": ns.at(2),
            }
        ]
        * 2
    )
    await ns.wait_status(ids["on_track"], "at_risk", actual=450)  # 450 / 500 = 0.9
    await ns.push(
        [{"metric": "revenue", "value": 150, "dimensions": {"region": "eu"}, "timestamp": ns.at(8)}]
    )

    on_track = await ns.wait_status(ids["on_track"], "on_track", actual=600)
    assert on_track["expected"] == pytest.approx(500, rel=1e-3)
    assert on_track["score"] == pytest.approx(1.2, rel=1e-3)
    assert on_track["progress"] == pytest.approx(0.6)
    at_risk = await ns.wait_status(ids["at_risk"], "at_risk", actual=600)
    assert at_risk["score"] == pytest.approx(600 / 650, rel=1e-3)
    off_track = await ns.wait_status(ids["off_track"], "off_track", actual=600)
    assert off_track["score"] == pytest.approx(0.6, rel=1e-3)
    await ns.wait_status(ids["achieved"], "achieved", actual=600)
    conversion = await ns.wait_status(ids["conversion"], "on_track", actual=30)
    assert conversion["score"] == pytest.approx(1.2)

    # Roll-up: (min(1.2, 1.0) + 0.6) / 2 = 0.8 → off_track (SPEC §5: the cap is 1.0).
    parent = await ns.wait_status(ids["parent"], "off_track")
    assert parent["score"] == pytest.approx(0.8, rel=1e-3)
    assert parent["children"]["on_track"] == 1 and parent["children"]["off_track"] == 1

    tree = await ns.get("/v1/goals/tree", root=ids["parent"])
    (root,) = tree["items"]
    assert root["status"]["status"] == "off_track"
    children = {c["id"]: c["status"]["status"] for c in root["children"]}
    assert children == {ids["on_track"]: "on_track", ids["off_track"]: "off_track"}

    whole = await ns.get("/v1/goals/tree")
    assert {n["id"] for n in whole["items"]} >= {ids["parent"], ids["at_risk"], ids["achieved"]}


async def test_worst_child_rollup_and_the_metric_catalogue(northstar: Northstar) -> None:
    ns = northstar
    await ns.post(
        "/v1/kpis",
        {"key": "orders", "name": "Orders", "expression": "count(order)", "kind": "leading"},
    )
    period = ns.period(10, 10)
    parent = await ns.post("/v1/goals", {"title": "All teams", "rollup": "worst", **period})
    good = await ns.post(
        "/v1/goals",
        {"title": "20 orders", "kpi": "orders", "target": 20, "parent_id": parent["id"], **period},
    )
    bad = await ns.post(
        "/v1/goals",
        {"title": "40 orders", "kpi": "orders", "target": 40, "parent_id": parent["id"], **period},
    )
    await ns.push([{"metric": "order", "value": 1, "timestamp": ns.at(1)}] * 12)
    await ns.wait_status(good["id"], "on_track", actual=12)  # 12 / 10 = 1.2
    await ns.wait_status(bad["id"], "off_track", actual=12)  # 12 / 20 = 0.6
    worst = await ns.wait_status(parent["id"], "off_track")
    assert worst["score"] == pytest.approx(0.6, rel=1e-3)
    catalogue = await ns.get("/v1/metrics")
    assert [(m["name"], m["event_count"]) for m in catalogue["items"]] == [("order", 12)]


async def test_two_evaluators_in_one_group_give_the_same_totals_and_statuses(
    start_service: StartService, admin_key: str, database_url: str
) -> None:
    api = start_service("api")
    ingest = start_service("ingest")
    fast_group = {
        "NORTHSTAR_EVALUATION_INTERVAL": "2",
        "NORTHSTAR_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "NORTHSTAR_CONSUMER_HEARTBEAT_INTERVAL_MS": "500",
    }
    first = start_service("evaluator", name="evaluator-1", env=fast_group)
    second = start_service("evaluator", name="evaluator-2", env=fast_group)
    ns = Northstar(api.url, ingest.url, admin_key)
    await ns.setup()
    try:
        ids = await _define_sales(ns)
        # 40 requests × 50 events spread over the group's partitions and both members:
        # 1,000 EU revenue events of 0.6 = 600, 1,000 US events that must not count.
        for batch in range(40):
            region = "eu" if batch % 2 == 0 else "us"
            await ns.push(
                [
                    {
                        "metric": "revenue",
                        "value": 0.6,
                        "dimensions": {"region": region},
                        "event_id": f"r-{batch}-{i}",
                        "timestamp": ns.at(1 + (batch % 7)),
                    }
                    for i in range(50)
                ]
            )
        await eventually(
            lambda: fetchval(database_url, "SELECT count(*) FROM measurements"),
            lambda n: n == 2000,
            what="2000 stored events",
        )
        on_track = await ns.wait_status(ids["on_track"], "on_track", actual=600)
        assert on_track["score"] == pytest.approx(1.2, rel=1e-3)
        await ns.wait_status(ids["at_risk"], "at_risk", actual=600)
        await ns.wait_status(ids["off_track"], "off_track", actual=600)
        await ns.wait_status(ids["achieved"], "achieved", actual=600)
        # SPEC §5: each child counts at most its goal's rollup_cap (1.0), so the child at
        # 120 % lifts the parent no further than 100 %: (1.0 + 0.6) / 2.
        assert (await ns.wait_status(ids["parent"], "off_track"))["score"] == pytest.approx(
            0.8, rel=1e-3
        )
        # Both members stored events, and no status transition was recorded twice.
        for member in (first, second):
            metrics = (await ns.http.get(f"{member.url}/metrics")).text
            assert _counter(metrics, 'northstar_evaluator_events_total{outcome="stored"}') > 0
        repeated = await fetchval(
            database_url,
            "SELECT count(*) FROM (SELECT status, lag(status) OVER "
            "(PARTITION BY goal_id ORDER BY time) AS before FROM goal_status_history) h "
            "WHERE status = before",
        )
        assert repeated == 0
    finally:
        await ns.http.aclose()


def _counter(metrics: str, series: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not exported")
