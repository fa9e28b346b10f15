"""Plans and check-ins through the real processes (SPEC §12, §3): a check-in's value on a
manual KPI travels outbox → events topic → evaluator and moves the goal once, retried or
not; a milestone falling due opens a `plan` alert (found by the evaluator's timer) that
reaches a webhook receiver and resolves when the milestone is ticked off; a CSV import
with a bad row reports its number and stores nothing, or everything else with
`?partial=true`; a 100,000-row file imports in one request."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from tests.conftest import StartService
from tests.e2e.conftest import Northstar
from tests.support import Receiver, eventually, fetchval

FAST = {
    "NORTHSTAR_EVALUATION_INTERVAL": "1",
    "NORTHSTAR_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "NORTHSTAR_WEBHOOK_RETRY_CAP_SECONDS": "1",
    "NORTHSTAR_WEBHOOK_POLL_INTERVAL_SECONDS": "0.1",
    "NORTHSTAR_OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
}


async def _suite(start_service: StartService, admin_key: str) -> Northstar:
    api = start_service("api")
    ingest = start_service("ingest")
    start_service("evaluator", env=FAST)
    ns = Northstar(api.url, ingest.url, admin_key)
    await ns.setup()
    return ns


async def test_check_in_value_moves_a_manual_goal_once_even_when_retried(
    start_service: StartService, admin_key: str, database_url: str
) -> None:
    ns = await _suite(start_service, admin_key)
    try:
        # `sum`, so a value counted twice would show as twice the value.
        await ns.post(
            "/v1/kpis",
            {
                "key": "employee_satisfaction",
                "name": "Employee satisfaction",
                "expression": "sum(employee_satisfaction)",
                "kind": "lagging",
                "source": "manual",
            },
        )
        goal = await ns.post(
            "/v1/goals",
            {
                "title": "Happy people",
                "kpi": "employee_satisfaction",
                "type": "stay_above",
                "pacing": "none",
                "target": 7,
                **ns.period(10, 80),
            },
        )
        assert (await ns.status(goal["id"]))["status"] == "no_data"

        body = {"id": str(uuid.uuid4()), "confidence": 8, "value": 6.5, "comment": "Survey Q3"}
        first = await ns.http.post(
            f"{ns.api_url}/v1/goals/{goal['id']}/check-ins", json=body, headers=ns.admin
        )
        assert first.status_code == 201, first.text
        await ns.wait_status(goal["id"], "at_risk", actual=6.5)  # 6.5 / 7 = 0.93

        retry = await ns.http.post(
            f"{ns.api_url}/v1/goals/{goal['id']}/check-ins", json=body, headers=ns.admin
        )
        assert retry.status_code == 200
        await eventually(
            lambda: fetchval(database_url, "SELECT count(*) FROM outbox WHERE relayed_at IS NULL"),
            lambda pending: pending == 0,
            what="the outbox relayed",
        )
        await asyncio.sleep(2)  # two timer passes: time for a duplicate to show, were there one
        status = await ns.status(goal["id"])
        assert (status["status"], status["actual"]) == ("at_risk", 6.5)
        stored = await fetchval(
            database_url,
            "SELECT count(*) FROM measurements WHERE source = 'check-in' AND event_id = $1",
            body["id"],
        )
        assert stored == 1

        # A second, new check-in adds its value like any event.
        await ns.post(f"/v1/goals/{goal['id']}/check-ins", {"confidence": 9, "value": 1.5})
        await ns.wait_status(goal["id"], "on_track", actual=8.0)
        checked = (await ns.status(goal["id"]))["check_in"]
        assert checked["last_at"] is not None
    finally:
        await ns.http.aclose()


async def test_late_milestone_opens_a_plan_alert_at_a_webhook_and_resolves_when_done(
    start_service: StartService, admin_key: str
) -> None:
    ns = await _suite(start_service, admin_key)
    receiver = Receiver(lambda request: 200).start()
    try:
        await ns.post(
            "/v1/webhooks",
            {"url": receiver.url, "events": ["alert.opened", "alert.resolved"]},
        )
        goal = await ns.post("/v1/goals", {"title": "Launch in Spain", **ns.period(10, 80)})
        # Due in a moment: nothing is late when it is created, the evaluator's timer finds it.
        due = datetime.now(UTC) + timedelta(seconds=3)
        initiative = await ns.post(
            "/v1/initiatives",
            {
                "goal_id": goal["id"],
                "title": "Local entity",
                "status": "in_progress",
                "milestones": [{"title": "Registered", "due": due.isoformat()}],
            },
        )
        assert initiative["late"] is False
        assert (await ns.get("/v1/alerts", kind="plan"))["items"] == []

        def bodies() -> list[dict[str, object]]:
            return [orjson.loads(r.body) for r in receiver.received]

        async def deliveries() -> list[tuple[object, object]]:
            return [(b["type"], b["data"]["kind"]) for b in bodies()]  # type: ignore[index]

        await eventually(
            deliveries, lambda got: ("alert.opened", "plan") in got, within=30, what="plan alert"
        )
        [alert] = (await ns.get("/v1/alerts", kind="plan"))["items"]
        assert (alert["goal_id"], alert["severity"], alert["state"]) == (
            goal["id"],
            "warning",
            "open",
        )

        milestone = initiative["milestones"][0]
        response = await ns.http.patch(
            f"{ns.api_url}/v1/initiatives/{initiative['id']}",
            json={"milestones": [{"id": milestone["id"], "title": "Registered", "done": True}]},
            headers=ns.admin,
        )
        assert response.status_code == 200, response.text
        await eventually(
            deliveries,
            lambda got: ("alert.resolved", "plan") in got,
            within=30,
            what="plan alert resolved",
        )
        [resolved] = (await ns.get("/v1/alerts", kind="plan"))["items"]
        assert resolved["id"] == alert["id"]
        assert resolved["state"] == "resolved"
    finally:
        receiver.stop()
        await ns.http.aclose()


async def test_csv_import_reports_the_bad_row_and_stores_nothing_or_the_rest(
    start_service: StartService, admin_key: str, database_url: str
) -> None:
    ns = await _suite(start_service, admin_key)
    try:

        async def send(body: bytes, partial: bool = False) -> dict[str, object]:
            response = await ns.http.post(
                f"{ns.ingest_url}/v1/events",
                content=body,
                params={"partial": "true"} if partial else None,
                headers={**ns.writer, "Content-Type": "text/csv"},
            )
            assert response.status_code in (202, 422), response.text
            return {"status": response.status_code, **response.json()}

        table = (
            b"metric,value,timestamp,event_id,dimensions.region\n"
            b"partners,3,2026-11-01T00:00:00Z,p-0,eu\n"
            b"partners,4,2026-11-02T00:00:00Z,p-1,\n"
            b"partners,many,2026-11-03T00:00:00Z,p-2,us\n"
            b"partners,5,2026-11-04T00:00:00Z,p-3,us\n"
        )
        refused = await send(table)
        assert refused["status"] == 422
        assert refused["errors"] == [
            {"index": 2, "field": "value", "message": "'many' is not a number"}
        ]
        await asyncio.sleep(1)
        assert await fetchval(database_url, "SELECT count(*) FROM measurements") == 0

        partial = await send(table, partial=True)
        assert partial["status"] == 202
        assert partial["accepted"] == 3
        assert partial["event_ids"] == ["p-0", "p-1", "p-3"]
        assert [r["index"] for r in partial["rejected"]] == [2]  # type: ignore[attr-defined]
        await eventually(
            lambda: fetchval(database_url, "SELECT count(*) FROM measurements"),
            lambda n: n == 3,
            what="three rows stored",
        )
        regions = await fetchval(
            database_url,
            "SELECT string_agg(coalesce(dimensions->>'region', '-'), ',' ORDER BY event_id) "
            "FROM measurements",
        )
        assert regions == "eu,-,us"
    finally:
        await ns.http.aclose()


async def test_a_100000_row_csv_imports_in_one_request(
    start_service: StartService, admin_key: str, database_url: str
) -> None:
    ns = await _suite(start_service, admin_key)
    try:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        rows = [
            f"orders,{i % 97},{(start + timedelta(minutes=i)).isoformat()}\n"
            for i in range(100_000)
        ]
        body = ("metric,value,timestamp\n" + "".join(rows)).encode()
        assert len(body) < 5 * 1024 * 1024
        response = await ns.http.post(
            f"{ns.ingest_url}/v1/events",
            content=body,
            headers={**ns.writer, "Content-Type": "text/csv"},
        )
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 100_000
        await eventually(
            lambda: fetchval(database_url, "SELECT count(*) FROM measurements"),
            lambda n: n == 100_000,
            within=180,
            what="100,000 rows stored",
        )
    finally:
        await ns.http.aclose()


async def test_the_demo_company_has_its_plans(start_service: StartService, admin_key: str) -> None:
    """`make run`'s seed: strategy, two cycles, initiatives with budgets (two late, so two
    `plan` alerts), check-ins with confidence, and the manual KPI's goal judged from the
    check-in values that went through the outbox and the events topic."""
    from devstack import demo

    ns = await _suite(start_service, admin_key)
    try:
        await demo.seed(ns.api_url, ns.ingest_url, admin_key, 20.0)
        [company] = [u for u in (await ns.get("/v1/units"))["items"] if u["kind"] == "organization"]
        assert company["vision"] and company["mission"] and len(company["values"]) == 3
        assert [c["name"] for c in (await ns.get("/v1/cycles"))["items"]] == [
            "This week",
            "Next week",
        ]
        initiatives = (await ns.get("/v1/initiatives"))["items"]
        assert len(initiatives) == 4
        assert all(i["budget"] is not None for i in initiatives)
        assert sum(i["late"] for i in initiatives) == 2
        plan_alerts = (await ns.get("/v1/alerts", kind="plan", state="open"))["items"]
        assert len(plan_alerts) == 2

        goals = (await ns.get("/v1/goals", limit=100))["items"]
        by_title = {g["title"]: g for g in goals}
        apac = by_title["APAC revenue"]
        check_ins = (await ns.get(f"/v1/goals/{apac['id']}/check-ins"))["items"]
        assert [c["confidence"] for c in check_ins] == [3, 4, 5]  # newest first
        assert apac["status"]["initiatives"]["budget"] == [
            {"currency": "EUR", "amount": 120000.0, "spent": 45000.0}
        ]
        satisfaction = by_title["Employee satisfaction at least 7.5"]
        await ns.wait_status(satisfaction["id"], "on_track", actual=7.8, within=60)
    finally:
        await ns.http.aclose()
