"""`review.created`: a review created through the api reaches, by email to a real SMTP
server, the channels subscribed to it whose scope covers the review's scope goal, and
(for a review of the whole organisation) the subscriptions to a root unit's subtree."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from services.evaluator.settings import EvaluatorSettings
from tests.notifications.conftest import (
    Mailbox,
    channel_log,
    make_channel,
    make_goal,
    notifying,
    subscribe,
)
from tests.support import eventually


async def test_a_new_review_is_emailed_to_the_subscribers_whose_scope_covers_it(
    people_api: httpx.AsyncClient,
    notify_settings: EvaluatorSettings,
    engine: AsyncEngine,
    mailbox: Mailbox,
) -> None:
    company = (
        await people_api.post("/v1/units", json={"name": "Company", "kind": "organization"})
    ).json()
    team = (
        await people_api.post(
            "/v1/units", json={"name": "Sales", "kind": "team", "parent_id": company["id"]}
        )
    ).json()
    goal = await make_goal(people_api, "Revenue EU 2000", unit_id=team["id"])
    child = await people_api.post(
        "/v1/goals",
        json={
            "title": "Revenue DE",
            "parent_id": goal,
            "target": 1000,
            "start": "2026-01-01T00:00:00Z",
            "due": "2026-12-31T00:00:00Z",
        },
    )
    assert child.status_code == 201, child.text
    elsewhere = await make_goal(people_api, "Hiring plan")
    # A goal subscription of the scope goal; the minimum severity is about alerts and
    # statuses: a review, which has none, still comes through.
    lead = await make_channel(people_api, "email", "lead@example.com")
    await subscribe(
        people_api,
        lead,
        scope={"goal_id": goal},
        events=["review.created"],
        min_severity="critical",
    )
    # Subscribed to reviews, but of a goal outside the scope: hears of neither review.
    other = await make_channel(people_api, "email", "other@example.com")
    await subscribe(people_api, other, scope={"goal_id": elsewhere}, events=["review.created"])
    # The organisation's subtree: covers the scoped review and the organisation-wide one.
    board = await make_channel(
        people_api, "email", "board@example.com", owner=("unit", company["id"])
    )
    await subscribe(
        people_api,
        board,
        scope={"unit_id": company["id"]},
        events=["review.created"],
        min_severity="info",
    )
    # Subscribed to the goal, but not to reviews.
    statuses = await make_channel(people_api, "email", "statuses@example.com")
    await subscribe(people_api, statuses, scope={"goal_id": goal}, events=["goal.status_changed"])

    async with notifying(notify_settings, engine):
        created = await people_api.post(
            "/v1/reviews",
            json={
                "title": "Q1 sales review",
                "held_at": "2026-03-31T14:00:00Z",
                "scope_goal_id": goal,
            },
        )
        assert created.status_code == 201, created.text
        review = created.json()
        annual = await people_api.post("/v1/reviews", json={"title": "Annual review"})
        assert annual.status_code == 201, annual.text
        await eventually(
            lambda: asyncio.sleep(0, mailbox.messages),
            lambda messages: len(messages) >= 3,
            within=20,
            what="three emails",
        )
        log = await eventually(
            lambda: channel_log(people_api, lead),
            lambda items: bool(items) and items[0]["status"] == "delivered",
            what="the delivery logged",
        )
        await asyncio.sleep(1)  # a wrongly queued message would be out by now

    by_recipient = Counter(to for [to] in mailbox.recipients)
    assert by_recipient == {"lead@example.com": 1, "board@example.com": 2}
    [email] = [
        m
        for m, [to] in zip(mailbox.messages, mailbox.recipients, strict=True)
        if to == "lead@example.com"
    ]
    assert email["Subject"] == "Review created: Q1 sales review"
    text = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    body = text.get_content()
    assert "Held: 2026-03-31 14:00 UTC" in body
    assert "Scope: Revenue EU 2000" in body
    # The scope goal and its child, neither judged yet.
    assert "Goals: 2 goals" in body and "Without data: 2" in body
    assert f"http://northstar.example.com/reviews/{review['id']}" in html.get_content()
    board_subjects = sorted(
        m["Subject"]
        for m, [to] in zip(mailbox.messages, mailbox.recipients, strict=True)
        if to == "board@example.com"
    )
    assert board_subjects == ["Review created: Annual review", "Review created: Q1 sales review"]
    [entry] = log
    assert (entry["review_id"], entry["goal_id"], entry["kind"]) == (review["id"], None, "event")
    assert entry["subject"] == email["Subject"]
