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
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from northstar.db.engine import create_engine
from northstar.outbox import add_event
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.evaluator.notifications.dispatcher import WebhookDispatcher
from services.evaluator.notifications.relay import OutboxRelay
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
    app = create_app(ApiSettings(database_url=database_url, bootstrap_admin_key=admin_key))
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
