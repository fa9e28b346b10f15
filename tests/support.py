"""Helpers the integration tests share: waiting for a condition, reading the store and a
topic, running alembic on a test database, and a webhook receiver."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer

from devstack.processes import free_port

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    within: float = 30.0,
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    """Poll `probe` until `accept(value)`; fail with the last value seen after `within` s."""
    deadline = time.monotonic() + within
    value = await probe()
    while not accept(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}; last: {value!r}")
        await asyncio.sleep(interval)
        value = await probe()
    return value


async def fetchval(database_url: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def fetch(database_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def alembic(database_url: str, *args: str) -> None:
    """`alembic *args` on the database (e.g. `downgrade 0011`), in a thread."""
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alembic", *args],
        check=True,
        env={**os.environ, "NORTHSTAR_DATABASE_URL": database_url},
        capture_output=True,
    )


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
