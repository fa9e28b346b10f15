"""Fixtures for the outbox, relay, dispatcher and webhooks API tests.

Real PostgreSQL and a real broker throughout. Webhook receivers are tiny HTTP servers
(`asyncio.start_server` speaking just enough HTTP/1.1) in their own thread, so they keep
answering while a test blocks, e.g. on starting a service process.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from devstack.processes import free_port
from northstar.db.engine import create_engine
from northstar.outbox import add_event
from services.api.app import create_app
from services.api.settings import ApiSettings
from services.evaluator.relay import OutboxRelay
from services.evaluator.settings import EvaluatorSettings
from services.evaluator.webhooks import WebhookDispatcher

# Settings that make retries happen in tenths of a second, for the services the tests start.
FAST_ENV = {
    "NORTHSTAR_WEBHOOK_RETRY_BASE_SECONDS": "0.1",
    "NORTHSTAR_WEBHOOK_RETRY_CAP_SECONDS": "0.5",
    "NORTHSTAR_WEBHOOK_TIMEOUT_SECONDS": "2",
    "NORTHSTAR_WEBHOOK_POLL_INTERVAL_SECONDS": "0.1",
    "NORTHSTAR_OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
}


# --- a webhook receiver -------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int | None  # what the receiver answered; None when it hung up or hung

    @property
    def delivery_id(self) -> str:
        return self.headers["x-northstar-delivery"]


# Decides the answer to a request: an HTTP status, or None to hang without answering.
Responder = Callable[[Received], int | None]


class Receiver:
    """An HTTP server on 127.0.0.1:`port` that records every request it gets."""

    def __init__(self, respond: Responder, port: int | None = None) -> None:
        self.respond = respond
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def delivered_ids(self) -> list[str]:
        """Delivery ids of the requests answered 2xx, in arrival order."""
        return [r.delivery_id for r in self.received if r.status and 200 <= r.status < 300]

    def start(self) -> Receiver:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            server = loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", self.port)
            )
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(shutdown(server))
                loop.close()

        async def shutdown(server: asyncio.Server) -> None:
            server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await server.wait_closed()

        self._thread = threading.Thread(target=serve, name=f"receiver-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("the webhook receiver did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _, path, _ = lines[0].split(" ", 2)
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = Received(path, headers, body, None)
            status = self.respond(request)
            with self._lock:
                self._received.append(
                    Received(path, headers, body, status) if status is not None else request
                )
            if status is None:
                await asyncio.sleep(3600)  # hang: never answer
                return
            answer = b"ok" if status < 300 else b"receiver says no"
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(answer)}\r\n"
                "Content-Type: text/plain\r\nConnection: close\r\n\r\n".encode()
                + answer
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the receiver is stopping
        finally:
            writer.close()
            self._handlers.discard(task)


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


async def consume(
    bootstrap: str, topic: str, *, expect: int, within: float = 20.0, settle: float = 1.0
) -> list[tuple[bytes, dict[str, Any]]]:
    """Read `topic` from the start until `expect` messages arrived (then `settle` s more, to
    catch extras); returns `(key, decoded value)` pairs."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"test-{uuid.uuid4().hex[:8]}",
    )
    await consumer.start()
    messages: list[tuple[bytes, dict[str, Any]]] = []
    try:
        deadline = time.monotonic() + within
        settled_at: float | None = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                messages.extend((r.key, orjson.loads(r.value)) for r in records)
            if len(messages) >= expect:
                settled_at = settled_at or time.monotonic() + settle
                if time.monotonic() >= settled_at:
                    break
    finally:
        await consumer.stop()
    return messages
