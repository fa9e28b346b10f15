"""Real servers for the source tests: a shop database on the harness's PostgreSQL, a
throwaway MariaDB (Debian's mariadb-server, `devstack/mariadb.py`), a JSON server on
loopback. Nothing is mocked."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from devstack.mariadb import MariaDBServer
from devstack.postgres import ExternalPostgres, PostgresServer, create_database, drop_database
from devstack.processes import free_port, spawn, stop_process, tail

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDBServer]:
    with MariaDBServer() as server:
        server.sql(
            "CREATE DATABASE shop;"
            "CREATE TABLE shop.tickets (id INT PRIMARY KEY, resolved_at DATETIME(6), "
            "hours DOUBLE, team VARCHAR(20));"
        )
        yield server


@pytest.fixture
async def shop_db(pg_server: PostgresServer | ExternalPostgres) -> AsyncIterator[str]:
    """A PostgreSQL database of a shop (not Northstar's): `tickets` resolved recently."""
    name = f"shop_{uuid.uuid4().hex[:12]}"
    url = await create_database(pg_server.url, name)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "CREATE TABLE tickets (id int PRIMARY KEY, resolved_at timestamptz NOT NULL, "
            "hours double precision NOT NULL, team text NOT NULL)"
        )
        await conn.executemany(
            "INSERT INTO tickets VALUES ($1, $2, $3, $4)",
            [
                (1, NOW - timedelta(minutes=50), 3.0, "eu"),
                (2, NOW - timedelta(minutes=40), 5.0, "us"),
                (3, NOW - timedelta(minutes=30), 7.0, "eu"),
            ],
        )
    finally:
        await conn.close()
    yield url
    await drop_database(pg_server.url, name)


class JsonServer:
    """An HTTP server on loopback answering GETs with `document` (as JSON), counting
    requests and keeping the last one's path and headers."""

    def __init__(self) -> None:
        self.document: Any = {}
        self.status = 200
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ": " in line:
                    key, value = line.split(": ", 1)
                    headers[key.lower()] = value
            self.requests.append((path, headers))
            body = orjson.dumps(self.document)
            writer.write(
                f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def json_server() -> AsyncIterator[JsonServer]:
    server = JsonServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def prometheus_server(tmp_path: Path) -> Iterator[str]:
    """A real Prometheus scraping itself every second (job `self`); its base URL once
    `up{job="self"}` has samples."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("`prometheus` is not on PATH; install it: sudo apt-get install -y prometheus")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
    log_path = tmp_path / "prometheus.log"
    with log_path.open("ab") as log:
        process = spawn(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            log=log,
            env={"PATH": "/usr/bin:/bin"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"prometheus exited:\n{tail(log_path)}")
            try:
                answer = httpx.get(
                    f"{url}/api/v1/query", params={"query": 'up{job="self"}'}, timeout=1
                ).json()
                if answer.get("data", {}).get("result"):
                    break
            except (httpx.TransportError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus has no samples after 30 s:\n{tail(log_path)}")
            time.sleep(0.2)
        time.sleep(3)  # a few seconds of samples
        yield url
    finally:
        stop_process(process, timeout=10)
