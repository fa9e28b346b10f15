"""The demo organisation behind real services, for the web app's browser tests,
screenshots and bench: the services (the collector too) started on a database and
broker, the demo and its people seeded (`devstack.demo`), and its statuses evaluated.

`demo_services` is a context manager so every caller (tests, `make screenshots`,
`make bench`) stops the services the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from devstack import demo
from devstack.processes import ServiceProcess, free_port

DEMO_PASSWORD = demo.DEMO_PASSWORD


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    role: str


def _person(email: str) -> Person:
    found = next(p for p in demo.PEOPLE if p[0] == email)
    return Person(found[0], found[1], found[2])


#: The demo people the browser tests, screenshots and bench sign in as (devstack.demo).
CEO = _person("ceo@northstar.example")  # editor
ADMIN = _person("admin@northstar.example")
LEAD = _person("sales.head@northstar.example")  # member, lead of Sales
VIEWER = _person("board@northstar.example")


@dataclass(frozen=True)
class DemoStack:
    api: ServiceProcess
    ingest: ServiceProcess
    evaluator: ServiceProcess
    admin_key: str

    @property
    def url(self) -> str:
        return self.api.url


async def create_user(api_url: str, admin_key: str, person: Person) -> None:
    """One person who can sign in, for an organisation without the demo's people."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    body = {"email": person.email, "name": person.name, "role": person.role}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=30) as api:
        response = await api.post("/v1/users", json={**body, "password": DEMO_PASSWORD})
        if response.status_code not in (201, 409):
            raise RuntimeError(f"creating {person.email} failed: {response.text}")


async def wait_until_evaluated(api_url: str, admin_key: str, within: float = 120.0) -> None:
    """Until every KPI goal of the demo has a status and the backfilled history is all in:
    the goals' actuals stop moving between two evaluations (there is no live traffic)."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    deadline = time.monotonic() + within
    previous: dict[str, float | None] | None = None
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=30) as api:
        while True:
            goals = (await api.get("/v1/goals", params={"limit": 1000})).json()["items"]
            actuals = {g["id"]: g["status"]["actual"] for g in goals if g["kpi"]}
            if actuals and None not in actuals.values() and actuals == previous:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"demo goals not settled after {within:.0f}s: {actuals}")
            previous = actuals
            await asyncio.sleep(3.0)


@contextmanager
def demo_services(
    *,
    database_url: str,
    kafka_bootstrap: str,
    admin_key: str,
    log_dir: Path,
    topic_prefix: str = "northstar.",
    rate: float = 20.0,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[DemoStack]:
    """Start api, ingest, evaluator and the collector on free loopback ports, seed the demo
    and its people, and wait until the goals are evaluated; stop the services on exit.
    `extra_env` adds settings to all of them (the browser tests' SMTP server on loopback,
    for email channels)."""
    env = {
        "NORTHSTAR_DATABASE_URL": database_url,
        "NORTHSTAR_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "NORTHSTAR_TOPIC_PREFIX": topic_prefix,
        "NORTHSTAR_CONSUMER_GROUP": f"{topic_prefix}evaluator",
        "NORTHSTAR_BOOTSTRAP_ADMIN_KEY": admin_key,
        "NORTHSTAR_HTTP_HOST": "127.0.0.1",
        "NORTHSTAR_KAFKA_ENABLE_IDEMPOTENCE": "false",
        "NORTHSTAR_LOG_FORMAT": "console",
        "NORTHSTAR_EVALUATION_INTERVAL": "2",
        # Sources on this machine (the browser story's shop database) are loopback ones.
        "NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "NORTHSTAR_SOURCE_POLL_SECONDS": "0.5",
        **(extra_env or {}),
    }
    with ExitStack() as stack:
        services = []
        for name, module in (
            ("api", "services.api"),
            ("ingest", "services.ingest"),
            ("evaluator", "services.evaluator"),
            ("collector", "services.collector"),
        ):
            service = ServiceProcess(name, module, env, free_port(), log_dir=log_dir)
            stack.callback(service.terminate)
            service.start()
            services.append(service)
        for service in services:
            service.wait_healthy(60.0, ready=True)
        api, ingest, evaluator, _collector = services
        asyncio.run(demo.seed(api.url, ingest.url, admin_key, rate))
        asyncio.run(wait_until_evaluated(api.url, admin_key))
        yield DemoStack(api, ingest, evaluator, admin_key)
