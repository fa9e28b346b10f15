"""The infrastructure a benchmark run shares: one PostgreSQL, one Tansu broker, a
migrated template database, and helpers to start services and seed keys, KPIs and goals.

Every benchmark gets its own database (a copy of the template) and its own topic prefix,
so one benchmark's data never slows or flatters another's.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import psutil  # type: ignore[import-untyped]

from bench.baseline import CURRENT, Tree
from devstack.broker import TansuBroker
from devstack.postgres import PostgresServer, create_database, drop_database, run_migrations
from devstack.processes import ServiceProcess, free_port
from northstar.auth.keys import generate_key, hash_key

SERVICES = {
    "api": "services.api",
    "ingest": "services.ingest",
    "evaluator": "services.evaluator",
    "collector": "services.collector",
}

# PostgreSQL's durability defaults stay (fast=False); these only size memory and WAL the
# way a production server would be, so a bulk load is not one checkpoint after another.
POSTGRES_SETTINGS = {"shared_buffers": "1GB", "max_wal_size": "4GB", "checkpoint_timeout": "15min"}


@dataclass
class Infrastructure:
    """PostgreSQL + Tansu for the whole run; `database()` hands out fresh databases."""

    log_dir: Path
    postgres: PostgresServer = field(
        default_factory=lambda: PostgresServer(fast=False, settings=POSTGRES_SETTINGS)
    )
    broker: TansuBroker = field(default_factory=TansuBroker)
    admin_key: str = field(default_factory=lambda: f"bench-admin-{uuid.uuid4().hex}")
    # Where the services, migrations and template database come from (`--baseline`).
    tree: Tree = CURRENT

    def with_tree(self, tree: Tree) -> Infrastructure:
        """The same servers, with the services of `tree` (`bench.baseline`)."""
        return replace(self, tree=tree)

    def start(self) -> None:
        self.postgres.start()
        self.broker.start()

    def stop(self) -> None:
        self.broker.stop()
        self.postgres.stop()

    async def migrate_template(self) -> None:
        await drop_database(self.postgres.url, self.tree.template)
        url = await create_database(self.postgres.url, self.tree.template)
        run_migrations(url, cwd=self.tree.root)

    async def database(self, name: str) -> str:
        """A fresh migrated database called `name` (dropped first if it exists)."""
        await drop_database(self.postgres.url, name)
        return await create_database(self.postgres.url, name, template=self.tree.template)

    async def database_plain(self, name: str) -> str:
        """A fresh empty database called `name` (another system's, e.g. a source's)."""
        await drop_database(self.postgres.url, name)
        return await create_database(self.postgres.url, name)

    def service_env(self, database_url: str, topic_prefix: str) -> dict[str, str]:
        return {
            "NORTHSTAR_DATABASE_URL": database_url,
            "NORTHSTAR_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "NORTHSTAR_TOPIC_PREFIX": topic_prefix,
            # One consumer group per benchmark: a member a previous benchmark left in the
            # group (until its session times out) must not hold up this one's join.
            "NORTHSTAR_CONSUMER_GROUP": f"{topic_prefix}northstar-evaluator",
            "NORTHSTAR_BOOTSTRAP_ADMIN_KEY": self.admin_key,
            "NORTHSTAR_HTTP_HOST": "127.0.0.1",
            "NORTHSTAR_KAFKA_ENABLE_IDEMPOTENCE": "false",
            "NORTHSTAR_LOG_FORMAT": "console",
            "NORTHSTAR_LOG_LEVEL": "WARNING",
            # Evaluated on events, not on a timer, during a benchmark.
            "NORTHSTAR_EVALUATION_INTERVAL": "3600",
            # The api's rate limits would measure themselves, not the api.
            "NORTHSTAR_RATE_LIMIT_PER_KEY": "",
            "NORTHSTAR_RATE_LIMIT_PER_ADDRESS": "",
        }

    @contextlib.contextmanager
    def services(
        self,
        env: Mapping[str, str],
        *names: str,
        extra: Mapping[str, Mapping[str, str]] | None = None,
        replicas: Mapping[str, int] | None = None,
    ) -> Iterator[dict[str, ServiceProcess]]:
        """Start the named services (ready: dependencies reachable), stop them afterwards.

        With `replicas={"evaluator": 2}` a second process of that service runs too, keyed
        `evaluator-2` in the answer (the first keeps the plain name)."""
        started: dict[str, ServiceProcess] = {}
        try:
            for name in names:
                for replica in range(1, (replicas or {}).get(name, 1) + 1):
                    key = name if replica == 1 else f"{name}-{replica}"
                    process = ServiceProcess(
                        key if self.tree.is_current else f"{key}-{self.tree.label}",
                        SERVICES[name],
                        {**env, **self._tree_env(), **(extra or {}).get(name, {})},
                        free_port(),
                        log_dir=self.log_dir,
                        cwd=self.tree.root,
                    )
                    started[key] = process
                    process.start()
                for key, process in started.items():
                    if key == name or key.startswith(f"{name}-"):
                        process.wait_healthy(90, ready=True)
            yield started
        finally:
            for process in started.values():
                process.send_terminate()
            for process in started.values():
                process.terminate()

    def _tree_env(self) -> dict[str, str]:
        if self.tree.is_current:
            return {}
        return {"PYTHONPATH": str(self.tree.root)}


async def insert_api_key(database_url: str, name: str, scopes: list[str]) -> str:
    """Create an API key directly in the database; its secret."""
    secret, prefix = generate_key()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO api_keys (id, name, scopes, key_hash, key_prefix) "
            "VALUES ($1, $2, $3, $4, $5)",
            uuid.uuid4(),
            name,
            scopes,
            hash_key(secret),
            prefix,
        )
    finally:
        await conn.close()
    return secret


@dataclass(frozen=True, slots=True)
class KpiSpec:
    key: str
    expression: str
    metrics: tuple[str, ...]


async def insert_kpis_and_goals(
    conn: asyncpg.Connection,
    kpis: list[KpiSpec],
    goals: int,
    *,
    start: datetime,
    due: datetime,
    fanout: tuple[int, ...] = (),
) -> list[uuid.UUID]:
    """`goals` active goals on `kpis` (round robin), period `[start, due]`.

    With `fanout` (e.g. (10, 10)) the goals form a cascade: the first level has
    `fanout[0]` roll-up roots, each with `fanout[1]` roll-up children, and the rest are
    KPI goals spread evenly under the last roll-up level. Returns the KPI goals' ids in
    creation order; a `goal_state` row exists for every goal."""
    await conn.executemany(
        "INSERT INTO kpis (key, name, expression, kind, metrics) VALUES ($1, $1, $2, 'lagging', $3)"
        " ON CONFLICT DO NOTHING",
        [(k.key, k.expression, list(k.metrics)) for k in kpis],
    )
    created = datetime.now(start.tzinfo)
    rows: list[tuple[object, ...]] = []
    parents: list[uuid.UUID | None] = [None]
    order = 0

    def add(parent: uuid.UUID | None, kpi: str | None, target: float | None) -> uuid.UUID:
        nonlocal order
        goal_id = uuid.uuid4()
        order += 1
        rows.append(
            (
                goal_id,
                f"bench goal {order}",
                parent,
                kpi,
                target,
                start,
                due,
                created + timedelta(microseconds=order),
            )
        )
        return goal_id

    for width in fanout:
        parents = [add(p, None, None) for p in parents for _ in range(width)]
    leaves: list[uuid.UUID] = []
    remaining = goals - len(rows)
    for index in range(remaining):
        kpi = kpis[index % len(kpis)]
        leaves.append(add(parents[index % len(parents)], kpi.key, 1_000_000.0))
    await conn.executemany(
        "INSERT INTO goals (id, title, parent_id, kpi_key, target, start, due, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        rows,
    )
    await conn.execute(
        "INSERT INTO goal_state (goal_id) SELECT id FROM goals ON CONFLICT DO NOTHING"
    )
    return leaves


class RssSampler:
    """Samples the resident memory of processes (and their children) in a thread.

    `peak[name]` is the largest RSS seen, in MB, summed over the process tree (uvicorn
    workers are children of the supervisor)."""

    def __init__(self, pids: Mapping[str, int], interval: float = 0.25) -> None:
        self._pids = dict(pids)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.peak: dict[str, float] = dict.fromkeys(self._pids, 0.0)
        self.processes: dict[str, int] = dict.fromkeys(self._pids, 1)

    def _sample(self, name: str, pid: int) -> None:
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
            total = 0
            for proc in tree:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
        except psutil.Error:
            return
        self.peak[name] = max(self.peak[name], total / 2**20)
        self.processes[name] = len(tree)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self._pids.items():
                self._sample(name, pid)
            self._stop.wait(self._interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def python() -> str:
    """The interpreter running the bench (the venv's), for subprocesses."""
    return sys.executable


def deadline(seconds: float) -> float:
    return time.monotonic() + seconds
