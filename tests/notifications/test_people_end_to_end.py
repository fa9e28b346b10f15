"""From pushed events to an email in the goal owner's inbox, every service a real process
and a real SMTP server: no channel configured, the owner's default applies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import StartService
from tests.notifications.conftest import ENCRYPTION_KEY, FAST_ENV, Mailbox, make_user
from tests.support import eventually


async def test_an_off_track_goal_emails_its_owner(
    start_service: StartService, admin_key: str, mailbox: Mailbox
) -> None:
    env = {
        **FAST_ENV,
        "NORTHSTAR_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "NORTHSTAR_SMTP_HOST": "127.0.0.1",
        "NORTHSTAR_SMTP_PORT": str(mailbox.port),
        "NORTHSTAR_SMTP_SECURITY": "none",
        "NORTHSTAR_SMTP_FROM": "northstar@example.com",
        "NORTHSTAR_PUBLIC_URL": "https://northstar.example.com",
        "NORTHSTAR_NOTIFICATION_GROUP_WINDOW_SECONDS": "1",
        "NORTHSTAR_NOTIFICATION_POLL_INTERVAL_SECONDS": "0.1",
    }
    api = start_service("api", env=env)
    ingest = start_service("ingest", env=env)
    start_service("evaluator", env=env)
    async with httpx.AsyncClient(
        base_url=api.url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
    ) as http:
        owner = await make_user(http, "maria@example.com")
        source = (
            await http.post("/v1/api-keys", json={"name": "crm", "scopes": ["events:write"]})
        ).json()
        assert (
            await http.post(
                "/v1/kpis",
                json={
                    "key": "revenue",
                    "name": "Revenue",
                    "unit": "EUR",
                    "expression": "sum(revenue)",
                    "kind": "lagging",
                },
            )
        ).status_code == 201
        now = datetime.now(UTC)
        goal = (
            await http.post(
                "/v1/goals",
                json={
                    "title": "Revenue EU 2000",
                    "owner_id": owner,
                    "kpi": "revenue",
                    "target": 2000,
                    "start": (now - timedelta(days=10)).isoformat(),
                    "due": (now + timedelta(days=10)).isoformat(),
                },
            )
        ).json()
        # Halfway through the period 1000 is expected; 500 is off track (critical).
        pushed = await http.post(
            f"{ingest.url}/v1/events",
            json={"metric": "revenue", "value": 500, "timestamp": now.isoformat()},
            headers={"Authorization": f"Bearer {source['key']}"},
        )
        assert pushed.status_code == 202, pushed.text
        await eventually(
            lambda: asyncio.sleep(0, mailbox.messages), bool, within=45, what="the email"
        )

    [email] = mailbox.messages
    assert mailbox.recipients == [["maria@example.com"]]
    assert email["Subject"] == "[Critical] Revenue EU 2000: Alert opened (status, critical)"
    text = email.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    assert "Status: off track" in body
    assert "Actual vs expected: 500 EUR against 1,000 EUR expected" in body
    assert f"https://northstar.example.com/goals/{goal['id']}" in body
