"""`make run`: the whole suite on one machine, without Docker.

Starts PostgreSQL (unless `NORTHSTAR_DATABASE_URL` is set) and Tansu (unless
`NORTHSTAR_KAFKA_BOOTSTRAP` is set), migrates, starts api, ingest, evaluator and the
collector (sources) on their default ports, seeds a demo organisation
(`devstack.demo.seed`, and a pulled KPI, `devstack.demo.seed_helpdesk`), starts demo
traffic, and prints every address. Ctrl-C or SIGTERM stops the services first, then the
broker and the database, and exits 0.

Logs of every child go to `.devstack/logs/`; the database and the broker are
throwaway: each run starts empty.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

from devstack import demo
from devstack.broker import BrokerError, TansuBroker, wait_for_kafka
from devstack.postgres import (
    MigrationError,
    PostgresError,
    PostgresServer,
    create_database,
    run_migrations,
)
from devstack.processes import (
    REPO_ROOT,
    ManagedProcess,
    ProcessError,
    ServiceProcess,
    port_is_free,
)

log = logging.getLogger("devstack.run")

LOG_DIR = REPO_ROOT / ".devstack" / "logs"
DATABASE_NAME = "northstar"


class StopRequested(Exception):
    """Ctrl-C or SIGTERM arrived: unwind and stop everything."""


class StartupError(RuntimeError):
    """The stack could not be brought up; the message says what to do."""


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port: int


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # From now on further signals only say that we are on it, so that stopping is
    # never interrupted half-way and children are not left behind.
    signal.signal(signal.SIGINT, _already_stopping)
    signal.signal(signal.SIGTERM, _already_stopping)
    raise StopRequested(signal.Signals(signum).name)


def _already_stopping(signum: int, frame: FrameType | None) -> None:
    print("  still stopping, please wait…", flush=True)


def _step(message: str) -> None:
    print(f"  • {message}", flush=True)


#: What `make run` sets unless the person set it: a local machine's sensible values.
LOCAL_DEFAULTS = {
    "NORTHSTAR_TOPIC_PREFIX": "northstar.",
    "NORTHSTAR_KAFKA_ENABLE_IDEMPOTENCE": "false",  # Tansu has no idempotent producer
    "NORTHSTAR_LOG_FORMAT": "console",
    # Local development: webhooks may reach receivers on this machine or its network
    # (link-local and metadata addresses stay refused). Printed at start.
    "NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
}

#: Harness variables (tests, `make run` itself), not settings of the services.
_HARNESS_VARIABLES = frozenset({"NORTHSTAR_PG_SYSTEM_USER", "NORTHSTAR_PG_BIN_DIR"})

_SECRET_WORDS = ("KEY", "PASSWORD", "SECRET", "TOKEN")


def person_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Every `NORTHSTAR_*` setting the person gave `make run`, passed on to the services.

    The test harness strips inherited `NORTHSTAR_*` variables to keep a developer's shell
    out of a test's services (`child_env`); `make run` is the developer's own stack, so
    what they set is what they get."""
    return {
        name: value
        for name, value in environ.items()
        if name.startswith("NORTHSTAR_")
        and not name.startswith("NORTHSTAR_TEST_")
        and name not in _HARNESS_VARIABLES
    }


def masked(name: str, value: str) -> str:
    """`value` fit to print: secrets (by name) hidden, a URL's password hidden."""
    if any(word in name for word in _SECRET_WORDS):
        return "****" if value else ""
    parts = urlsplit(value)
    if parts.password:
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=f"{parts.username}:****@{host}{port}"))
    return value


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack.run", description=__doc__)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--ingest-port", type=int, default=8001)
    parser.add_argument("--evaluator-port", type=int, default=8002)
    parser.add_argument("--collector-port", type=int, default=8003)
    parser.add_argument("--rate", type=float, default=20.0, help="demo events per second")
    parser.add_argument("--no-traffic", action="store_true", help="do not start demo traffic")
    parser.add_argument("--no-seed", action="store_true", help="do not seed the demo organisation")
    return parser.parse_args(argv)


def _start(stack: contextlib.ExitStack, args: argparse.Namespace) -> list[ManagedProcess]:
    """Bring everything up; every started piece is registered on `stack` for teardown."""
    specs = [
        ServiceSpec("api", "services.api", args.api_port),
        ServiceSpec("ingest", "services.ingest", args.ingest_port),
        ServiceSpec("evaluator", "services.evaluator", args.evaluator_port),
        ServiceSpec("collector", "services.collector", args.collector_port),
    ]
    taken = [f"{s.name} port {s.port}" for s in specs if not port_is_free(s.port)]
    if taken:
        raise StartupError(
            f"{', '.join(taken)} already in use: stop whatever holds it "
            "(another `make run`?) or pass --api-port/--ingest-port/--evaluator-port/"
            "--collector-port"
        )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for old in LOG_DIR.glob("*.log"):  # each run's logs start empty
        old.unlink()

    database_url = os.environ.get("NORTHSTAR_DATABASE_URL")
    if database_url:
        _step(f"using the database at {database_url}")
    else:
        _step("starting PostgreSQL")
        pg = stack.enter_context(PostgresServer(fast=False))
        stack.callback(_step, "stopping PostgreSQL")
        database_url = asyncio.run(create_database(pg.url, DATABASE_NAME))

    bootstrap = os.environ.get("NORTHSTAR_KAFKA_BOOTSTRAP")
    if bootstrap:
        _step(f"using the Kafka broker at {bootstrap}")
        wait_for_kafka(bootstrap, timeout=15.0)
    else:
        _step("starting the Tansu broker (Kafka protocol, in memory)")
        bootstrap = stack.enter_context(TansuBroker(log_dir=LOG_DIR)).bootstrap
        stack.callback(_step, "stopping Tansu")

    _step("migrating the database (alembic upgrade head)")
    run_migrations(database_url)

    admin_key = os.environ.get("NORTHSTAR_BOOTSTRAP_ADMIN_KEY") or secrets.token_urlsafe(24)
    given = person_settings(os.environ)
    env = {
        **LOCAL_DEFAULTS,
        **given,
        "NORTHSTAR_DATABASE_URL": database_url,
        "NORTHSTAR_KAFKA_BOOTSTRAP": bootstrap,
        "NORTHSTAR_BOOTSTRAP_ADMIN_KEY": admin_key,
    }
    if given:
        _step("settings taken from the environment:")
        for name, value in sorted(given.items()):
            print(f"      {name}={masked(name, value)}", flush=True)

    services: list[ServiceProcess] = []
    stack.callback(_stop_all, services)  # registered before starting: a failed start is stopped
    for spec in specs:
        _step(f"starting {spec.name} on port {spec.port}")
        service = ServiceProcess(spec.name, spec.module, env, spec.port, log_dir=LOG_DIR)
        services.append(service)
        service.start()
    for service in services:
        service.wait_healthy(timeout=60.0, ready=True)
    api, ingest, evaluator, collector = services

    if args.no_seed:
        _step("demo seeding skipped (--no-seed)")
    else:
        _step("seeding the demo organisation and three days of history")
        asyncio.run(demo.seed(api.url, ingest.url, admin_key, args.rate))
        _step("seeding the helpdesk table and its SQL source (a pulled KPI)")
        asyncio.run(demo.seed_helpdesk(api.url, admin_key, database_url))

    children: list[ManagedProcess] = list(services)
    if not args.no_traffic:
        _step(f"starting demo traffic (~{args.rate:g} events/s)")
        traffic = ManagedProcess(
            "traffic",
            "devstack.traffic",
            {"NORTHSTAR_BOOTSTRAP_ADMIN_KEY": admin_key},
            args=["--ingest", ingest.url, "--api", api.url, "--rate", str(args.rate)],
            log_dir=LOG_DIR,
        )
        # Registered last, so it is stopped first.
        stack.callback(traffic.terminate)
        stack.callback(_step, "stopping demo traffic")
        traffic.start()
        children.append(traffic)

    print(
        "\nNorthstar is running\n"
        f"  api        {api.url}   (OpenAPI: {api.url}/docs)\n"
        f"  ingest     {ingest.url}/v1/events\n"
        f"  evaluator  {evaluator.url}/metrics\n"
        f"  collector  {collector.url}/metrics   (sources: GET {api.url}/v1/sources)\n"
        f"  database   {database_url}\n"
        f"  kafka      {bootstrap}   (topic prefix {env['NORTHSTAR_TOPIC_PREFIX']})\n"
        f"  admin key  {admin_key}\n"
        + _sign_ins(args.no_seed)
        + f"  logs       {_relative(LOG_DIR)}/\n"
        f"  webhooks   private networks allowed: "
        f"{env['NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS']} (local receivers; "
        "NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS=false to refuse them)\n"
        "\nTry:  curl -H 'Authorization: Bearer <admin key>' "
        f"{api.url}/v1/goals\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    return children


def _sign_ins(skipped: bool) -> str:
    """One browser sign-in per role of the demo people (POST /v1/auth/login)."""
    if skipped:
        return ""
    lines = [f"  sign in    {email}  ({role})" for role, email in demo.SIGN_INS]
    return "\n".join(lines) + f"\n             password for all: {demo.DEMO_PASSWORD}\n"


def _relative(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def _stop_all(services: list[ServiceProcess]) -> None:
    """SIGTERM every service at once, then wait for each (SIGKILL after 15 s)."""
    if not services:
        return
    _step("stopping services")
    for service in services:
        service.send_terminate()
    for service in services:
        service.terminate(timeout=15.0)


def _watch(children: list[ManagedProcess]) -> None:
    """Wait for Ctrl-C; a child that dies on its own ends the run as a failure."""
    while True:
        for child in children:
            if not child.running:
                raise StartupError(
                    f"{child.name} exited with code {child.returncode}; last lines of "
                    f"{child.log_path}:\n{child.log_tail()}"
                )
        time.sleep(1.0)  # a signal handler raising StopRequested ends the sleep


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print("Starting Northstar (Ctrl-C stops it all)", flush=True)
    code = 0
    with contextlib.ExitStack() as stack:
        try:
            children = _start(stack, args)
            _watch(children)
        except StopRequested as stop:
            print(f"\n{stop.args[0]} received: shutting down", flush=True)
        except (StartupError, ProcessError, PostgresError, BrokerError, MigrationError) as exc:
            print(f"\nERROR: {exc}", file=sys.stderr, flush=True)
            code = 1
        finally:
            signal.signal(signal.SIGINT, _already_stopping)
            signal.signal(signal.SIGTERM, _already_stopping)
    print("Stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
