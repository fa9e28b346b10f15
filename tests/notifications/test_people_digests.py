"""Digests: exactly one per channel and period, however many evaluators race for it, with
the goals that need attention; and with every service a real process, two evaluator
replicas and a real SMTP server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.db.engine import create_engine
from services.evaluator.notify.schedules import NotificationSchedule
from services.evaluator.settings import EvaluatorSettings
from tests.conftest import StartService
from tests.notifications.conftest import (
    ENCRYPTION_KEY,
    Mailbox,
    add_events,
    alert_data,
    channel_log,
    make_channel,
    make_goal,
    notifying,
    subscribe,
)
from tests.support import eventually, fetch


async def test_racing_replicas_queue_one_digest_per_period(
    people_api: httpx.AsyncClient,
    notify_settings: EvaluatorSettings,
    engine: AsyncEngine,
    mailbox: Mailbox,
) -> None:
    unit = (await people_api.post("/v1/units", json={"name": "Sales", "kind": "department"})).json()
    goal = await make_goal(people_api, "Revenue 2000", unit_id=unit["id"])
    channel = await make_channel(
        people_api, "email", "sales@example.com", owner=("unit", unit["id"])
    )
    await subscribe(people_api, channel, scope={"unit_id": unit["id"]})
    # An open alert on the goal, which the digest lists.
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO alerts (id, goal_id, kind, severity, state, opened_at, updated_at) "
            f"VALUES (gen_random_uuid(), '{goal}', 'status', 'critical', 'open', now(), now())"
        )
    # A late milestone on it, and a check-in due (none yet, a daily cadence).
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    initiative = await people_api.post(
        "/v1/initiatives",
        json={
            "goal_id": goal,
            "title": "Partner deals",
            "milestones": [{"title": "Sign two resellers", "due": yesterday}],
        },
    )
    assert initiative.status_code == 201, initiative.text
    patched = await people_api.patch(f"/v1/goals/{goal}", json={"check_in_cadence": "P1D"})
    assert patched.status_code == 200, patched.text
    # The digest's time is a minute ahead, and the replicas' clock two minutes: it is due.
    due = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    response = await people_api.post(
        "/v1/digests",
        json={
            "channel_id": channel,
            "cadence": "daily",
            "at": due.strftime("%H:%M"),
            "timezone": "UTC",
        },
    )
    assert response.status_code == 201, response.text

    # Four replicas, each with its own pool, run their schedule at the same moment, twice.
    engines = [create_engine(notify_settings.database_url, pool_size=1) for _ in range(4)]
    try:
        replicas = [
            NotificationSchedule(notify_settings, e, clock=lambda: due + timedelta(minutes=1))
            for e in engines
        ]
        for _ in range(2):
            queued = await asyncio.gather(*(r.run_once() for r in replicas))
            assert sum(queued) <= 1
    finally:
        for e in engines:
            await e.dispose()
    rows = await fetch(
        notify_settings.database_url,
        "SELECT group_key FROM notification_messages WHERE kind = 'digest'",
    )
    today = due
    assert [r["group_key"] for r in rows] == [
        f"digest:{response.json()['id']}:{today.date().isoformat()}"
    ]

    async with notifying(notify_settings, engine, schedule=True):
        await eventually(lambda: asyncio.sleep(0, mailbox.messages), bool, what="the digest")
        await asyncio.sleep(1)  # a second digest, if one were queued, would be out now
    digests = [m for m in mailbox.messages if m["Subject"].startswith("Northstar digest")]
    assert len(digests) == 1, [
        (m["Subject"], r) for m, r in zip(mailbox.messages, mailbox.recipients, strict=True)
    ]
    [email] = digests
    assert email["Subject"] == f"Northstar digest {today.date().isoformat()}"
    body = email.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Open alerts" in text and "Revenue 2000: status, critical" in text
    assert "Goals due soon" in text
    assert "Revenue 2000: milestone Sign two resellers, due" in text
    assert "Check-ins due" in text


async def test_a_weekly_digest_is_sent_once_at_its_time_never_before(
    people_api: httpx.AsyncClient, notify_settings: EvaluatorSettings, engine: AsyncEngine
) -> None:
    """Issue 24's bug: a weekly digest set on a Sunday at 12:15 for Mondays at 08:30 went
    out at once (for the Monday just past). With a controlled clock: nothing on Sunday nor
    on Monday at 08:29, one message at 08:30, none again that week, the next on the
    following Monday at 08:30."""
    channel = await make_channel(people_api, "email", "weekly@example.com")
    response = await people_api.post(
        "/v1/digests",
        json={
            "channel_id": channel,
            "cadence": "weekly",
            "weekday": 0,
            "at": "08:30",
            "timezone": "Europe/Berlin",
        },
    )
    assert response.status_code == 201, response.text
    digest = response.json()["id"]
    berlin = ZoneInfo("Europe/Berlin")
    sunday = datetime(2026, 12, 6, 12, 15, tzinfo=berlin)  # a Sunday
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE notification_digests SET set_at = :at WHERE id = :id"),
            {"at": sunday, "id": digest},
        )
    now = sunday

    def clock() -> datetime:
        return now

    schedule = NotificationSchedule(notify_settings, engine, clock=clock)
    sent: list[tuple[datetime, int]] = []
    monday = datetime(2026, 12, 7, 8, 30, tzinfo=berlin)
    for moment in (
        sunday,
        sunday + timedelta(hours=6),
        monday - timedelta(minutes=1),
        monday,
        monday + timedelta(seconds=30),
        monday + timedelta(hours=3),
        monday + timedelta(days=6, hours=23),
        monday + timedelta(days=7),
        monday + timedelta(days=7, hours=1),
    ):
        now = moment
        sent.append((moment, await schedule.run_once()))
    assert sent == [
        (sunday, 0),
        (sunday + timedelta(hours=6), 0),
        (monday - timedelta(minutes=1), 0),
        (monday, 1),
        (monday + timedelta(seconds=30), 0),
        (monday + timedelta(hours=3), 0),
        (monday + timedelta(days=6, hours=23), 0),
        (monday + timedelta(days=7), 1),
        (monday + timedelta(days=7, hours=1), 0),
    ]
    rows = await fetch(
        notify_settings.database_url,
        "SELECT group_key FROM notification_messages WHERE kind = 'digest' "
        "AND group_key LIKE $1 ORDER BY group_key",
        f"digest:{digest}:%",
    )
    assert [r["group_key"] for r in rows] == [
        f"digest:{digest}:2026-W50",
        f"digest:{digest}:2026-W51",
    ]


async def test_a_digest_arrives_once_with_two_evaluator_replicas_running(
    start_service: StartService, admin_key: str, mailbox: Mailbox
) -> None:
    env = {
        "NORTHSTAR_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "NORTHSTAR_SMTP_HOST": "127.0.0.1",
        "NORTHSTAR_SMTP_PORT": str(mailbox.port),
        "NORTHSTAR_SMTP_SECURITY": "none",
        "NORTHSTAR_NOTIFICATION_SCHEDULE_INTERVAL_SECONDS": "0.2",
        "NORTHSTAR_NOTIFICATION_POLL_INTERVAL_SECONDS": "0.1",
    }
    api = start_service("api", env=env)
    async with httpx.AsyncClient(
        base_url=api.url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    ) as http:
        await make_goal(http, "Cost per order")
        channel = await make_channel(http, "email", "cfo@example.com")
        # Set for the current minute, it is due at once (never before its time: not for a
        # minute already past when it is set, so not across a minute's turn either).
        if datetime.now(UTC).second >= 55:
            await asyncio.sleep(61 - datetime.now(UTC).second)
        at = datetime.now(UTC).strftime("%H:%M")
        response = await http.post(
            "/v1/digests",
            json={
                "channel_id": channel,
                "cadence": "weekly",
                "at": at,
                "timezone": "UTC",
                "weekday": datetime.now(UTC).weekday(),
            },
        )
        assert response.status_code == 201, response.text
        start_service("evaluator", name="evaluator-1", env=env)
        start_service("evaluator", name="evaluator-2", env=env)
        await eventually(lambda: asyncio.sleep(0, mailbox.messages), bool, what="the digest")
        await asyncio.sleep(2)  # both replicas have passed their schedule several times
        log = await channel_log(http, channel)
    assert len(mailbox.messages) == 1
    assert mailbox.recipients == [["cfo@example.com"]]
    year, week, _ = datetime.now(UTC).isocalendar()
    assert mailbox.messages[0]["Subject"] == f"Northstar digest {year}-W{week:02d}"
    assert [(m["kind"], m["status"]) for m in log] == [("digest", "delivered")]


async def test_nothing_queued_is_lost_across_a_restart(
    people_api: httpx.AsyncClient,
    notify_settings: EvaluatorSettings,
    engine: AsyncEngine,
    mailbox: Mailbox,
) -> None:
    goal = await make_goal(people_api, "Uptime")
    channel = await make_channel(people_api, "email", "sre@example.com")
    await subscribe(people_api, channel, scope={"goal_id": goal})
    await add_events(engine, [("alert.opened", goal, alert_data(goal))])
    slow = notify_settings.model_copy(update={"notification_group_window_seconds": 60})
    # The first evaluator relays the event (a message is queued, due in a minute) and stops.
    async with notifying(slow, engine):
        await eventually(lambda: channel_log(people_api, channel), bool, what="the message queued")
    assert mailbox.messages == []
    # Make it due, as a minute passing would, and start a new evaluator: it goes out.
    async with engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE notification_messages SET next_attempt_at = now()")
    async with notifying(notify_settings, engine):
        await eventually(lambda: asyncio.sleep(0, mailbox.messages), bool, what="the email")
    assert "Uptime" in mailbox.messages[0]["Subject"]
