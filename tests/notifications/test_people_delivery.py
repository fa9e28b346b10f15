"""Notifications to people, through the real relay and notifier: email to a real SMTP
server, chat targets through Apprise to a receiver on loopback, grouping of a storm,
quiet hours, retries and a dead channel. Events enter through the outbox, as the
evaluator and the api write them."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.evaluator.settings import EvaluatorSettings
from tests.notifications.conftest import (
    Mailbox,
    add_events,
    alert_data,
    channel_log,
    make_channel,
    make_goal,
    make_user,
    notifying,
    subscribe,
)
from tests.support import Receiver, eventually, fetch


def critical_alert(goal_id: str, title: str) -> dict[str, object]:
    return {**alert_data(goal_id), "severity": "critical", "goal_title": title}


def status_change(goal_id: str, title: str, before: str, after: str) -> dict[str, object]:
    return {"goal_id": goal_id, "title": title, "from": before, "to": after, "status": {}}


async def test_an_alert_reaches_the_subscribed_owner_by_email(
    people_api: httpx.AsyncClient,
    notify_settings: EvaluatorSettings,
    engine: AsyncEngine,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    goal = await make_goal(people_api, "Revenue EU 2000")
    channel = await make_channel(people_api, "email", "sales.lead@example.com")
    await subscribe(people_api, channel, scope={"goal_id": goal}, min_severity="warning")

    async with notifying(notify_settings, engine):
        await add_events(engine, [("alert.opened", goal, critical_alert(goal, "Revenue EU 2000"))])
        await eventually(
            lambda: asyncio.sleep(0, mailbox.messages), bool, within=15, what="an email"
        )
        log = await eventually(
            lambda: channel_log(people_api, channel),
            lambda items: bool(items) and items[0]["status"] == "delivered",
            what="the delivery logged",
        )

    [email] = mailbox.messages
    assert mailbox.recipients == [["sales.lead@example.com"]]
    assert email["From"] == "northstar@example.com"
    assert email["Subject"] == "[Critical] Revenue EU 2000: Alert opened (status, critical)"
    text = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert f"http://northstar.example.com/goals/{goal}" in html.get_content()
    assert "Revenue EU 2000" in text.get_content()
    assert "Actual vs expected" in text.get_content()
    [entry] = log
    assert (entry["goal_id"], entry["events"], entry["attempts"]) == (goal, 1, 1)
    assert entry["subject"] == email["Subject"]
    # The target is a secret: never in the api's answers, nor the database, nor the log.
    listing = (await people_api.get("/v1/channels")).text + (
        await people_api.get(f"/v1/channels/{channel}")
    ).text
    assert "sales.lead" not in listing
    stored = await fetch(notify_settings.database_url, "SELECT target FROM notification_channels")
    assert b"sales.lead" not in bytes(stored[0]["target"])
    # Apprise's own log (which names targets) does not reach the service's log handlers;
    # the test SMTP server's log (`mail.log`) is the receiving side's.
    assert not logging.getLogger("apprise").propagate
    ours = [r for r in caplog.records if not r.name.startswith(("apprise", "mail.log"))]
    assert ours and not [r for r in ours if "sales.lead" in r.getMessage() + str(r.__dict__)]


async def test_chat_targets_get_the_message_through_apprise(
    people_api: httpx.AsyncClient,
    notify_settings: EvaluatorSettings,
    engine: AsyncEngine,
    receivers: Callable[..., Receiver],
) -> None:
    receiver = receivers(lambda request: 200)
    unit = (await people_api.post("/v1/units", json={"name": "Sales", "kind": "department"})).json()
    team = (
        await people_api.post(
            "/v1/units", json={"name": "Sales EU", "kind": "team", "parent_id": unit["id"]}
        )
    ).json()
    goal = await make_goal(people_api, "Churn below 2%", unit_id=team["id"])
    other = await make_goal(people_api, "Not in the subtree")
    channel = await make_channel(
        people_api,
        "apprise",
        f"json://127.0.0.1:{receiver.port}/hook",
        owner=("unit", unit["id"]),
    )
    # The unit's subtree: the team's goal is in it, the other goal is not.
    await subscribe(
        people_api,
        channel,
        scope={"unit_id": unit["id"]},
        events=["goal.status_changed"],
        min_severity="info",
    )

    async with notifying(notify_settings, engine):
        await add_events(
            engine,
            [
                ("goal.status_changed", goal, status_change(goal, "Churn", "on_track", "at_risk")),
                ("goal.status_changed", other, status_change(other, "x", "on_track", "at_risk")),
            ],
        )
        await eventually(lambda: asyncio.sleep(0, receiver.received), bool, what="a POST")
        await asyncio.sleep(1)  # the other goal's message, were it queued, would be out now

    [request] = receiver.received
    body = orjson.loads(request.body)
    assert body["title"] == "[Warning] Churn below 2%: Status changed from on track to at risk"
    assert f"http://northstar.example.com/goals/{goal}" in body["message"]
    assert body["type"] == "warning"


async def test_a_storm_becomes_one_message_per_goal_and_window_and_loses_nothing(
    people_api: httpx.AsyncClient,
    notify_settings: EvaluatorSettings,
    engine: AsyncEngine,
    receivers: Callable[..., Receiver],
) -> None:
    window = 2.0
    settings = notify_settings.model_copy(update={"notification_group_window_seconds": window})
    receiver = receivers(lambda request: 200)
    unit = (await people_api.post("/v1/units", json={"name": "Ops", "kind": "team"})).json()
    goals = [await make_goal(people_api, f"Goal {i:02d}", unit_id=unit["id"]) for i in range(20)]
    channel = await make_channel(
        people_api, "apprise", f"json://127.0.0.1:{receiver.port}/hook", owner=("unit", unit["id"])
    )
    await subscribe(
        people_api,
        channel,
        scope={"unit_id": unit["id"]},
        events=["goal.status_changed"],
        min_severity="info",
    )
    statuses = ["on_track", "at_risk", "off_track"]
    changes = [
        (goals[i % 20], statuses[(i // 20) % 3], statuses[(i // 20 + 1) % 3]) for i in range(200)
    ]
    started = time.monotonic()
    async with notifying(settings, engine):
        # 200 changes in 10 commits over about 4 s: each goal changes 10 times.
        for batch in range(10):
            await add_events(
                engine,
                [
                    ("goal.status_changed", g, status_change(g, "x", before, after))
                    for g, before, after in changes[batch * 20 : (batch + 1) * 20]
                ],
            )
            await asyncio.sleep(0.4)
        rows = await eventually(
            lambda: fetch(
                settings.database_url,
                "SELECT group_key, jsonb_array_length(events) AS n, status, created_at,"
                " sealed_at FROM notification_messages ORDER BY created_at",
            ),
            lambda rows: (
                sum(r["n"] for r in rows) == 200 and all(r["status"] == "delivered" for r in rows)
            ),
            within=30,
            what="every change delivered",
        )
    elapsed = time.monotonic() - started

    per_goal = Counter(r["group_key"] for r in rows)
    assert set(per_goal) == {f"goal:{g}" for g in goals}
    # At most one message per goal and window: here 4 s of changes, 2 s windows.
    assert max(per_goal.values()) <= elapsed / window + 1, per_goal
    assert len(rows) < 200 / 3
    for goal in goals:
        mine = [r for r in rows if r["group_key"] == f"goal:{goal}"]
        # Each message collected its goal's events for a whole window before it went, so
        # one goal's messages go out at least a window apart.
        for message in mine:
            assert message["sealed_at"] - message["created_at"] >= timedelta(seconds=window * 0.9)
        for earlier, later in itertools.pairwise(mine):
            assert later["sealed_at"] - earlier["sealed_at"] >= timedelta(seconds=window * 0.9)
    # Nothing lost: the receiver got every message, every one listing its goal's changes.
    assert len(receiver.received) == len(rows)
    bodies = [orjson.loads(r.body) for r in receiver.received]
    assert all("changes, now" in b["title"] or "Status changed" in b["title"] for b in bodies)


async def test_quiet_hours_hold_a_message_but_not_a_critical_one(
    people_api: httpx.AsyncClient,
    notify_settings: EvaluatorSettings,
    engine: AsyncEngine,
    receivers: Callable[..., Receiver],
) -> None:
    receiver = receivers(lambda request: 200)
    person = await make_user(people_api)
    now = datetime.now(UTC)
    quiet = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=2)).strftime("%H:%M"),
    }
    response = await people_api.put(
        f"/v1/users/{person}/notification-preferences",
        json={"timezone": "UTC", "quiet_hours": quiet},
    )
    assert response.status_code == 200, response.text
    assert (await people_api.get(f"/v1/users/{person}/notification-preferences")).json()[
        "quiet_hours"
    ] == quiet
    held_goal = await make_goal(people_api, "Warning only")
    urgent_goal = await make_goal(people_api, "Critical")
    channel = await make_channel(
        people_api, "apprise", f"json://127.0.0.1:{receiver.port}/hook", owner=("user", person)
    )
    for goal in (held_goal, urgent_goal):
        await subscribe(people_api, channel, scope={"goal_id": goal}, min_severity="warning")

    async with notifying(notify_settings, engine):
        await add_events(
            engine,
            [
                ("alert.opened", held_goal, alert_data(held_goal)),  # warning
                ("alert.opened", urgent_goal, critical_alert(urgent_goal, "Critical")),
            ],
        )
        await eventually(lambda: asyncio.sleep(0, receiver.received), bool, what="a POST")
        await asyncio.sleep(1)
        log = await channel_log(people_api, channel)

    assert [orjson.loads(r.body)["title"] for r in receiver.received] == [
        "[Critical] Critical: Alert opened (status, critical)"
    ]
    held = next(item for item in log if item["goal_id"] == held_goal)
    assert held["status"] == "pending"
    held_until = datetime.fromisoformat(held["held_until"])
    expected_end = now.replace(second=0, microsecond=0) + timedelta(hours=2)
    assert abs(held_until - expected_end) <= timedelta(minutes=1)


async def test_failures_are_retried_and_a_dead_channel_does_not_slow_the_others(
    people_api: httpx.AsyncClient,
    notify_settings: EvaluatorSettings,
    engine: AsyncEngine,
    receivers: Callable[..., Receiver],
) -> None:
    notify_settings = notify_settings.model_copy(update={"notification_timeout_seconds": 2})
    answers = iter([500, 500])
    flaky = receivers(lambda request: next(answers, 200))
    hanging = receivers(lambda request: None)  # accepts, never answers
    healthy = receivers(lambda request: 200)
    goals = [await make_goal(people_api, f"G{i}") for i in range(12)]
    dead = await make_channel(people_api, "apprise", f"json://127.0.0.1:{hanging.port}/hook")
    retried = await make_channel(people_api, "apprise", f"json://127.0.0.1:{flaky.port}/hook")
    fine = await make_channel(people_api, "apprise", f"json://127.0.0.1:{healthy.port}/hook")
    for goal in goals:
        await subscribe(people_api, dead, scope={"goal_id": goal})
    await subscribe(people_api, retried, scope={"goal_id": goals[0]})
    await subscribe(people_api, fine, scope={"goal_id": goals[0]})

    async with notifying(notify_settings, engine):
        await add_events(engine, [("alert.opened", g, alert_data(g)) for g in goals])
        started = time.monotonic()
        await eventually(lambda: asyncio.sleep(0, healthy.received), bool, what="the healthy one")
        healthy_after = time.monotonic() - started
        log = await eventually(
            lambda: channel_log(people_api, retried),
            lambda items: bool(items) and items[0]["status"] == "delivered",
            within=20,
            what="the flaky channel's message delivered",
        )
        dead_log = await eventually(
            lambda: channel_log(people_api, dead),
            lambda items: any(item["attempts"] for item in items),
            what="the dead channel's first attempts recorded",
        )

    # Twelve messages to a hanging receiver (2 s timeout each) do not hold up the others.
    assert healthy_after < notify_settings.notification_timeout_seconds
    assert log[0]["attempts"] == 3
    assert len(flaky.received) == 3
    assert all(item["status"] == "pending" for item in dead_log)
    tried = [item for item in dead_log if item["attempts"]]
    assert tried and all("not sent within" in item["last_error"] for item in tried), tried


async def test_a_goal_owner_hears_of_its_critical_alerts_by_email_by_default(
    people_api: httpx.AsyncClient,
    notify_settings: EvaluatorSettings,
    engine: AsyncEngine,
    mailbox: Mailbox,
    receivers: Callable[..., Receiver],
) -> None:
    owner = await make_user(people_api, "owner@example.com")
    other = await make_user(people_api, "other@example.com")
    goal = await make_goal(people_api, "Owned goal", owner_id=owner)
    theirs = await make_goal(people_api, "Other's goal", owner_id=other)
    # `other` set up a channel of their own, subscribed to their own goals: no default.
    receiver = receivers(lambda request: 200)
    chat = await make_channel(
        people_api, "apprise", f"json://127.0.0.1:{receiver.port}/hook", owner=("user", other)
    )
    await subscribe(people_api, chat, scope={"mine": True}, min_severity="critical")

    async with notifying(notify_settings, engine):
        await add_events(
            engine,
            [
                ("alert.opened", goal, alert_data(goal)),  # warning: no default email
                ("alert.updated", goal, critical_alert(goal, "Owned goal")),
                ("alert.opened", theirs, critical_alert(theirs, "Other's goal")),
            ],
        )
        await eventually(lambda: asyncio.sleep(0, mailbox.messages), bool, what="an email")
        await eventually(lambda: asyncio.sleep(0, receiver.received), bool, what="a POST")
        await asyncio.sleep(1)

    assert mailbox.recipients == [["owner@example.com"]]
    assert (
        mailbox.messages[0]["Subject"]
        == "[Critical] Owned goal: Alert escalated (status, critical)"
    )
    assert [orjson.loads(r.body)["title"] for r in receiver.received] == [
        "[Critical] Other's goal: Alert opened (status, critical)"
    ]
    channels = (await people_api.get("/v1/channels")).json()["items"]
    [made] = [c for c in channels if c["implicit"]]
    assert made["owner"] == {"kind": "user", "id": owner} and made["kind"] == "email"
    # Deleting the default channel turns the default off.
    assert (await people_api.delete(f"/v1/channels/{made['id']}")).status_code == 204
    async with notifying(notify_settings, engine):
        await add_events(engine, [("alert.updated", goal, critical_alert(goal, "Owned goal"))])
        await asyncio.sleep(1.5)
    assert len(mailbox.messages) == 1
