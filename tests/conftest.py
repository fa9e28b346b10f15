"""Real infrastructure for the test suite: PostgreSQL, a Kafka-protocol broker, services.

Nothing is mocked and nothing is skipped: the session starts a throwaway PostgreSQL and
a Tansu broker unless `NORTHSTAR_TEST_DATABASE_URL` (a server the suite may create and
drop databases on) or `NORTHSTAR_TEST_KAFKA_BOOTSTRAP` point at existing ones.

Each test gets its own database (a copy of a template migrated once per session with
`alembic upgrade head`) and its own topic prefix, so tests never see each other's data.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Protocol

import pytest

from devstack.broker import TansuBroker, wait_for_kafka
from devstack.postgres import (
    ExternalPostgres,
    PostgresServer,
    create_database,
    drop_database,
    run_migrations,
)
from devstack.processes import ServiceProcess, free_port
from devstack.redis import RedisServer

# One template per pytest-xdist worker: workers may share an external server.
TEMPLATE_DATABASE = f"northstar_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
SERVICES = {
    "api": "services.api",
    "ingest": "services.ingest",
    "evaluator": "services.evaluator",
    "collector": "services.collector",
}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's report on the item, so fixtures can tell a test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


# --- PostgreSQL -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | ExternalPostgres]:
    """The PostgreSQL server of this session; `.url` is an admin URL."""
    external = os.environ.get("NORTHSTAR_TEST_DATABASE_URL")
    if external:
        yield ExternalPostgres(external)
        return
    with PostgresServer(fast=True) as server:
        yield server


@pytest.fixture(scope="session")
async def migrated_template(pg_server: PostgresServer | ExternalPostgres) -> AsyncIterator[str]:
    """Name of a database holding the schema from `alembic upgrade head` (migrated once)."""
    await drop_database(pg_server.url, TEMPLATE_DATABASE)
    url = await create_database(pg_server.url, TEMPLATE_DATABASE)
    run_migrations(url)
    yield TEMPLATE_DATABASE
    await drop_database(pg_server.url, TEMPLATE_DATABASE)


@pytest.fixture
async def database_url(
    pg_server: PostgresServer | ExternalPostgres, migrated_template: str
) -> AsyncIterator[str]:
    """A fresh, migrated database for this test only; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex}"
    url = await create_database(pg_server.url, name, template=migrated_template)
    yield url
    await drop_database(pg_server.url, name)


# --- Kafka --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _tansu() -> Iterator[TansuBroker | None]:
    if os.environ.get("NORTHSTAR_TEST_KAFKA_BOOTSTRAP"):
        yield None
        return
    with TansuBroker() as broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_bootstrap(_tansu: TansuBroker | None) -> str:
    """`host:port` of the session's Kafka-protocol broker."""
    if _tansu is not None:
        return _tansu.bootstrap
    bootstrap = os.environ["NORTHSTAR_TEST_KAFKA_BOOTSTRAP"]
    wait_for_kafka(bootstrap, timeout=15.0)
    return bootstrap


@pytest.fixture
def broker(_tansu: TansuBroker | None) -> Iterator[TansuBroker]:
    """The managed Tansu broker, for outage tests; resumed after the test if left paused."""
    if _tansu is None:
        pytest.fail(
            "this test pauses the broker, which needs the suite's own Tansu: "
            "unset NORTHSTAR_TEST_KAFKA_BOOTSTRAP to run it"
        )
    yield _tansu
    if _tansu.paused:
        _tansu.resume()


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix no other test uses, e.g. `t1a2b3c4d.`."""
    return f"t{uuid.uuid4().hex[:8]}."


# --- Redis (shared rate limits) ----------------------------------------------------------


@pytest.fixture(scope="session")
def _redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(_redis: RedisServer) -> str:
    """`redis://…` of the session's throwaway Redis, emptied for this test."""
    _redis.flush()
    return _redis.url


# --- Services -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def admin_key() -> str:
    """The secret of the admin key every api started by the suite bootstraps."""
    return f"test-admin-{secrets.token_urlsafe(16)}"


@pytest.fixture
def service_env(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, admin_key: str
) -> dict[str, str]:
    """Environment for this test's services; copy and extend it for special cases."""
    return {
        "NORTHSTAR_DATABASE_URL": database_url,
        "NORTHSTAR_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "NORTHSTAR_TOPIC_PREFIX": topic_prefix,
        # Tests share the broker, never a consumer group: a member another test left
        # behind (a SIGKILLed evaluator, say) must not hold up this test's group joins.
        "NORTHSTAR_CONSUMER_GROUP": f"{topic_prefix}evaluator",
        "NORTHSTAR_BOOTSTRAP_ADMIN_KEY": admin_key,
        "NORTHSTAR_HTTP_HOST": "127.0.0.1",
        "NORTHSTAR_KAFKA_ENABLE_IDEMPOTENCE": "false",
        "NORTHSTAR_LOG_FORMAT": "console",
        # Webhook receivers in tests listen on loopback; loopback is refused without this
        # (tests/notifications/test_webhook_security.py).
        "NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
    }


class StartService(Protocol):
    def __call__(
        self,
        service: str,
        *,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        ready: bool = True,
        timeout: float = 60.0,
    ) -> ServiceProcess: ...


@pytest.fixture
def start_service(
    request: pytest.FixtureRequest,
    service_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StartService]:
    """Factory: `start_service("ingest")` starts a service and waits until it is ready.

    `name` tells replicas apart (`start_service("evaluator", name="evaluator-2")`),
    `env` adds to or overrides `service_env`. Every service is stopped with SIGTERM at
    the end of the test; when the test failed, their log tails are printed.
    """
    log_dir = tmp_path_factory.mktemp("services")
    started: list[ServiceProcess] = []

    def start(
        service: str,
        *,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        ready: bool = True,
        timeout: float = 60.0,
    ) -> ServiceProcess:
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}; one of {sorted(SERVICES)}")
        process = ServiceProcess(
            name or service,
            SERVICES[service],
            {**service_env, **(env or {})},
            port or free_port(),
            log_dir=log_dir,
        )
        started.append(process)
        process.start()
        process.wait_healthy(timeout, ready=ready)
        return process

    yield start

    for process in started:
        process.send_terminate()
    for process in started:
        process.terminate()
    if _failed(request):
        for process in started:
            print(f"\n----- last lines of {process.name} ({process.log_path}) -----")
            print(process.log_tail(60))
