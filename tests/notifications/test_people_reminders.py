"""Check-in reminders: the owner of a goal whose check-in is due is reminded by email (no
configuration needed), once per missed check-in; from the second missed one the unit's
lead is reminded too; a check-in starts the count again. Real SMTP server; time moves
through the schedule's clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from services.evaluator.notify.schedules import NotificationSchedule
from services.evaluator.settings import EvaluatorSettings
from tests.notifications.conftest import Mailbox, make_user, notifying
from tests.support import eventually


async def test_a_reminder_goes_to_the_owner_and_escalates_to_the_lead(
    people_api: httpx.AsyncClient,
    notify_settings: EvaluatorSettings,
    engine: AsyncEngine,
    mailbox: Mailbox,
) -> None:
    unit = (await people_api.post("/v1/units", json={"name": "Sales EU", "kind": "team"})).json()
    owner = await make_user(people_api, "owner@example.com")
    lead = await make_user(people_api, "lead@example.com")
    response = await people_api.put(f"/v1/units/{unit['id']}/members/{lead}", json={"role": "lead"})
    assert response.status_code == 200, response.text
    assert (
        await people_api.post(
            "/v1/kpis",
            json={"key": "calls", "name": "Calls", "expression": "sum(calls)", "kind": "leading"},
        )
    ).status_code == 201
    start = datetime.now(UTC) - timedelta(hours=36)
    goal = await people_api.post(
        "/v1/goals",
        json={
            "title": "Calls per week",
            "owner_id": owner,
            "kpi": "calls",
            "target": 100,
            "unit_id": unit["id"],
            "start": start.isoformat(),
            "due": (start + timedelta(days=60)).isoformat(),
            "check_in_cadence": "P1D",
        },
    )
    assert goal.status_code == 201, goal.text
    goal_id = goal.json()["id"]

    now = datetime.now(UTC)
    later = {"at": now}

    def schedule() -> NotificationSchedule:
        return NotificationSchedule(notify_settings, engine, clock=lambda: later["at"])

    async def emails(count: int) -> list[tuple[str, list[str]]]:
        await eventually(
            lambda: asyncio.sleep(0, mailbox.messages),
            lambda m: len(m) >= count,
            within=15,
            what=f"{count} emails",
        )
        await asyncio.sleep(0.5)
        return [
            (m["Subject"], r) for m, r in zip(mailbox.messages, mailbox.recipients, strict=True)
        ]

    async with notifying(notify_settings, engine):
        # 36 hours after the start, one check-in (due after 24 hours) is missed: the owner
        # is reminded, once however often the schedule runs.
        assert await schedule().run_once() == 1
        assert await schedule().run_once() == 0
        assert await emails(1) == [("Check-in due: Calls per week", ["owner@example.com"])]

        # A day later the second is missed: the owner again, and now the lead.
        later["at"] = now + timedelta(days=1)
        assert await schedule().run_once() == 2
        sent = await emails(3)
        assert sorted(sent[1:]) == [
            ("Check-in due: Calls per week", ["owner@example.com"]),
            ("[Escalated] Calls per week: 2 check-ins missed", ["lead@example.com"]),
        ]
        body = mailbox.messages[2 if "Escalated" in sent[2][0] else 1].get_body(
            preferencelist=("plain",)
        )
        assert body is not None and "has not checked in since" in body.get_content()

        # The owner checks in: the count starts again, and nothing is due until a day later.
        checked = await people_api.post(
            f"/v1/goals/{goal_id}/check-ins",
            json={"comment": "Back on it", "confidence": 7, "at": later["at"].isoformat()},
        )
        assert checked.status_code == 201, checked.text
        assert await schedule().run_once() == 0
        later["at"] += timedelta(days=1, hours=1)
        assert await schedule().run_once() == 1  # the owner only: one missed, no escalation
        sent = await emails(4)
        assert sent[3] == ("Check-in due: Calls per week", ["owner@example.com"])
