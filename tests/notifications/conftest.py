"""Fixtures for the outbox, relay, dispatcher and webhooks API tests.

Real PostgreSQL and a real broker throughout. Webhook receivers are tiny HTTP servers
(`asyncio.start_server` speaking just enough HTTP/1.1) in their own thread, so they keep
answering while a test blocks, e.g. on starting a service process.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as email_policy
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from devstack.processes import free_port
from northstar.config import OutboundSettings
from northstar.db.engine import create_engine
from northstar.notify.settings import NotificationSettings
from northstar.outbox import add_event
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.evaluator.notify.notifier import Notifier
from services.evaluator.notify.schedules import NotificationSchedule
from services.evaluator.outbox.dispatcher import WebhookDispatcher
from services.evaluator.outbox.relay import OutboxRelay
from services.evaluator.settings import EvaluatorSettings
from tests.support import Receiver, Responder

# Settings that make retries happen in tenths of a second, for the services the tests start.
FAST_ENV = {
    "NORTHSTAR_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    "NORTHSTAR_WEBHOOK_RETRY_CAP_SECONDS": "0.5",
    "NORTHSTAR_WEBHOOK_TIMEOUT_SECONDS": "2",
    "NORTHSTAR_WEBHOOK_POLL_INTERVAL_SECONDS": "0.1",
    "NORTHSTAR_OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
}


# --- a webhook receiver -------------------------------------------------------------------


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    """Factory: `receivers(lambda request: 200)` starts a receiver; all stop after the test.
    `receivers(respond, start=False)` only reserves a port (connections are refused)."""
    made: list[Receiver] = []

    def make(respond: Responder, *, port: int | None = None, start: bool = True) -> Receiver:
        receiver = Receiver(respond, port)
        made.append(receiver)
        return receiver.start() if start else receiver

    yield make
    for receiver in made:
        receiver.stop()


# --- in-process relay and dispatcher ------------------------------------------------------


@pytest.fixture
def settings(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> EvaluatorSettings:
    return EvaluatorSettings(
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=topic_prefix,
        kafka_enable_idempotence=False,
        webhook_retry_base_seconds=0.1,
        webhook_retry_cap_seconds=0.5,
        webhook_timeout_seconds=2,
        webhook_poll_interval_seconds=0.05,
        outbox_poll_interval_seconds=0.05,
        # The receivers listen on loopback (refused by default:
        # tests/notifications/test_webhook_security.py).
        webhook_allow_private_networks=True,
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=4)
    yield engine
    await engine.dispose()


@contextlib.asynccontextmanager
async def running(
    settings: EvaluatorSettings, engine: AsyncEngine, *, relay: bool = True, dispatch: bool = True
) -> AsyncIterator[tuple[OutboxRelay, WebhookDispatcher]]:
    """The relay and dispatcher as background tasks, exactly as the evaluator runs them."""
    dispatcher = WebhookDispatcher(settings, engine)
    outbox_relay = OutboxRelay(settings, engine, on_deliveries_queued=dispatcher.nudge)
    tasks = []
    if relay:
        tasks.append(asyncio.create_task(outbox_relay.run()))
    if dispatch:
        tasks.append(asyncio.create_task(dispatcher.run()))
    try:
        yield outbox_relay, dispatcher
    finally:
        outbox_relay.request_stop()
        dispatcher.request_stop()
        await asyncio.gather(*tasks)


# --- the api in-process -------------------------------------------------------------------


@pytest.fixture
async def api_app(database_url: str, admin_key: str) -> AsyncIterator[FastAPI]:
    app = create_app(
        ApiSettings(
            database_url=database_url,
            bootstrap_admin_key=admin_key,
            webhook_allow_private_networks=True,  # the receivers listen on loopback
        )
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(api_app: FastAPI, admin_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the in-process api, authenticated with the bootstrap admin key."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api_app),
        base_url="http://api",
        headers={"Authorization": f"Bearer {admin_key}"},
    ) as client:
        yield client


async def create_webhook(
    api: httpx.AsyncClient, url: str, events: Sequence[str], secret: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "events": list(events)}
    if secret is not None:
        body["secret"] = secret
    response = await api.post("/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deliveries(
    api: httpx.AsyncClient, webhook_id: str, **params: str
) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/webhooks/{webhook_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


# --- events in, events out ----------------------------------------------------------------


def alert_data(goal_id: str, kind: str = "status", state: str = "open") -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": str(uuid.uuid4()),
        "goal_id": goal_id,
        "goal_title": "Grow revenue",
        "kind": kind,
        "severity": "warning",
        "state": state,
        "opened_at": now,
        "updated_at": now,
        "acknowledged_at": None,
        "note": None,
        "resolved_at": None,
    }


async def add_events(
    engine: AsyncEngine, events: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[uuid.UUID]:
    """`(type, key, data)` rows written to the outbox in one committed transaction."""
    async with engine.begin() as conn:
        return [
            await add_event(conn, type=t, key=k, data=d, occurred_at=datetime.now(UTC))
            for t, k, d in events
        ]


# --- notifications to people: a real SMTP server and in-process notifier -----------------


@dataclass
class Mailbox:
    """What a real SMTP server (aiosmtpd, on loopback) received, parsed."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = BytesParser(policy=email_policy).parsebytes(content)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


# The shared secret box's keys (NORTHSTAR_ENCRYPTION_KEYS): any string of 16+ characters.
ENCRYPTION_KEY = "notification tests " + Fernet.generate_key().decode()


@pytest.fixture
def notify_settings(settings: EvaluatorSettings, mailbox: Mailbox) -> EvaluatorSettings:
    """The evaluator's settings with email through the test's SMTP server, loopback targets
    allowed, a short grouping window and fast retries."""
    return settings.model_copy(
        update={
            "encryption_keys": ENCRYPTION_KEY,
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "smtp_security": "none",
            "smtp_from": "northstar@example.com",
            "webhook_allow_private_networks": True,
            "public_url": "http://northstar.example.com",
            "notification_group_window_seconds": 0.3,
            "notification_poll_interval_seconds": 0.05,
            "notification_retry_base_seconds": 0.1,
            "notification_retry_cap_seconds": 0.3,
            # Generous: a send cut off by the timeout may still arrive, and is then retried.
            "notification_timeout_seconds": 15,
            "notification_schedule_interval_seconds": 0.2,
        }
    )


@pytest.fixture
async def people_api(
    database_url: str, admin_key: str, notify_settings: EvaluatorSettings
) -> AsyncIterator[httpx.AsyncClient]:
    """The api in-process with the same notification settings as `notify_settings`."""
    fields = set(NotificationSettings.model_fields) | set(OutboundSettings.model_fields)
    app = create_app(
        ApiSettings(
            database_url=database_url,
            bootstrap_admin_key=admin_key,
            **{k: v for k, v in notify_settings.model_dump().items() if k in fields},
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api",
            headers={"Authorization": f"Bearer {admin_key}"},
        ) as client,
    ):
        yield client


@contextlib.asynccontextmanager
async def notifying(
    settings: EvaluatorSettings, engine: AsyncEngine, *, schedule: bool = False
) -> AsyncIterator[Notifier]:
    """The relay (which queues messages), the notifier and optionally the digest schedule,
    as the evaluator runs them."""
    notifier = Notifier(settings, engine)
    relay = OutboxRelay(settings, engine, on_messages_queued=notifier.nudge)
    schedules = NotificationSchedule(settings, engine, on_queued=notifier.nudge)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(notifier.run())]
    if schedule:
        tasks.append(asyncio.create_task(schedules.run()))
    try:
        yield notifier
    finally:
        relay.request_stop()
        notifier.request_stop()
        schedules.request_stop()
        await asyncio.gather(*tasks)


async def make_goal(
    api: httpx.AsyncClient, title: str, unit_id: str | None = None, owner_id: str | None = None
) -> str:
    """A goal on a fresh KPI, due in 10 days; its id."""
    key = f"k{uuid.uuid4().hex[:10]}"
    response = await api.post(
        "/v1/kpis", json={"key": key, "name": key, "expression": "sum(revenue)", "kind": "lagging"}
    )
    assert response.status_code == 201, response.text
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "title": title,
        "kpi": key,
        "target": 2000,
        "start": (now - timedelta(days=10)).isoformat(),
        "due": (now + timedelta(days=5)).isoformat(),
    }
    if unit_id:
        body["unit_id"] = unit_id
    if owner_id:
        body["owner_id"] = owner_id
    response = await api.post("/v1/goals", json=body)
    assert response.status_code == 201, response.text
    goal_id: str = response.json()["id"]
    return goal_id


async def make_user(api: httpx.AsyncClient, email: str | None = None, role: str = "member") -> str:
    """A user (with a password, so they can sign in); their id."""
    email = email or f"{uuid.uuid4().hex[:10]}@example.com"
    response = await api.post(
        "/v1/users",
        json={"email": email, "name": email.split("@")[0], "role": role, "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    user_id: str = response.json()["id"]
    return user_id


PASSWORD = "notify passphrase 2026"


async def make_channel(
    api: httpx.AsyncClient,
    kind: str,
    target: str,
    *,
    owner: tuple[str, str] | None = None,
    name: str = "channel",
) -> str:
    owner_kind, owner_id = owner or ("user", await make_user(api))
    response = await api.post(
        "/v1/channels",
        json={
            "name": name,
            "kind": kind,
            "target": target,
            "owner": {"kind": owner_kind, "id": owner_id},
        },
    )
    assert response.status_code == 201, response.text
    channel_id: str = response.json()["id"]
    return channel_id


async def subscribe(api: httpx.AsyncClient, channel_id: str, **body: Any) -> dict[str, Any]:
    response = await api.post("/v1/subscriptions", json={"channel_id": channel_id, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def channel_log(
    api: httpx.AsyncClient, channel_id: str, **params: str
) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/channels/{channel_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
