"""Sources end to end: the api, the evaluator and the collector as real processes, the
sources real servers (PostgreSQL, MariaDB, Prometheus, a JSON server on loopback).

For each kind: a pulled value moves a goal; a re-run and an overlapping window store
nothing twice. A dead source opens a `source` alert on the goals reading its metric
after NORTHSTAR_SOURCE_FAILURES_BEFORE_ALERT failed runs; a good run resolves it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from devstack import demo
from devstack.mariadb import MariaDBServer
from devstack.postgres import ExternalPostgres, PostgresServer, create_database, drop_database
from devstack.processes import ServiceProcess, free_port
from tests.sources.conftest import NOW, JsonServer
from tests.support import eventually, fetchval

# One worker runs the module, so its module-scoped stack starts once (pytest-xdist).
pytestmark = pytest.mark.xdist_group("sources-stack")

SELECT_PG = (
    "SELECT resolved_at AS time, hours AS value, team FROM tickets "
    "WHERE resolved_at >= :start AND resolved_at < :end"
)


class Suite:
    def __init__(self, api: ServiceProcess, admin_key: str, database_url: str) -> None:
        self.api = api
        self.admin_key = admin_key
        self.database_url = database_url
        self.http = httpx.AsyncClient(
            base_url=api.url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30
        )

    async def post(self, path: str, body: dict[str, Any], status: int = 201) -> Any:
        response = await self.http.post(path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    async def goal_on(self, metric: str, expression: str, target: float = 100) -> str:
        await self.post(
            "/v1/kpis",
            {"key": metric, "name": metric, "expression": expression, "kind": "lagging"},
        )
        goal = await self.post(
            "/v1/goals",
            {
                "title": f"Goal on {metric}",
                "kpi": metric,
                "target": target,
                "start": (NOW - timedelta(days=1)).isoformat(),
                "due": (NOW + timedelta(days=1)).isoformat(),
            },
        )
        return str(goal["id"])

    async def actual(self, goal_id: str) -> float | None:
        response = await self.http.get(f"/v1/goals/{goal_id}/status")
        assert response.status_code == 200, response.text
        value = response.json()["actual"]
        return None if value is None else float(value)

    async def wait_actual(self, goal_id: str, value: float) -> None:
        await eventually(
            lambda: self.actual(goal_id),
            lambda a: a is not None and abs(a - value) < 1e-9,
            within=30,
            what=f"goal actual {value}",
        )

    async def source(self, body: dict[str, Any]) -> dict[str, Any]:
        defaults = {"schedule": {"every": "PT1H"}, "timeout_seconds": 5}
        result: dict[str, Any] = await self.post("/v1/sources", {**defaults, **body})
        return result

    async def run(self, source_id: str, status: str = "succeeded") -> dict[str, Any]:
        """Run now, and the run once it has finished."""
        return await self.finished(source_id, await self.start(source_id), status)

    async def start(self, source_id: str) -> str:
        run = await self.post(f"/v1/sources/{source_id}/runs", {}, status=202)
        assert run["status"] == "queued"
        return str(run["id"])

    async def state(self, source_id: str, run_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/v1/sources/{source_id}/runs")
        found: dict[str, Any] = next(r for r in response.json()["items"] if r["id"] == run_id)
        return found

    async def finished(self, source_id: str, run_id: str, status: str) -> dict[str, Any]:
        done = await eventually(
            lambda: self.state(source_id, run_id),
            lambda r: r["status"] in ("succeeded", "failed"),
            within=30,
            what="run",
        )
        assert done["status"] == status, done
        return done

    async def stored(self, source: str) -> int:
        return int(
            await fetchval(  # type: ignore[arg-type]
                self.database_url, "SELECT count(*) FROM measurements WHERE source = $1", source
            )
        )

    async def alert(self, goal_id: str) -> str | None:
        state = await fetchval(
            self.database_url,
            "SELECT state FROM alerts WHERE goal_id = $1 AND kind = 'source' "
            "ORDER BY opened_at DESC LIMIT 1",
            uuid.UUID(goal_id),
        )
        return None if state is None else str(state)


@pytest.fixture(scope="module")
async def suite_database(
    pg_server: PostgresServer | ExternalPostgres, migrated_template: str
) -> AsyncIterator[str]:
    name = f"sources_{uuid.uuid4().hex}"
    url = await create_database(pg_server.url, name, template=migrated_template)
    yield url
    await drop_database(pg_server.url, name)


@pytest.fixture(scope="module")
async def suite(
    suite_database: str,
    kafka_bootstrap: str,
    admin_key: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Suite]:
    """One stack for the module (the tests use their own sources and metrics): api,
    evaluator and collector as processes; two failed runs in a row open an alert."""
    prefix = f"src{uuid.uuid4().hex[:8]}."
    env = {
        "NORTHSTAR_DATABASE_URL": suite_database,
        "NORTHSTAR_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "NORTHSTAR_TOPIC_PREFIX": prefix,
        "NORTHSTAR_CONSUMER_GROUP": f"{prefix}evaluator",
        "NORTHSTAR_BOOTSTRAP_ADMIN_KEY": admin_key,
        "NORTHSTAR_HTTP_HOST": "127.0.0.1",
        "NORTHSTAR_KAFKA_ENABLE_IDEMPOTENCE": "false",
        "NORTHSTAR_LOG_FORMAT": "console",
        "NORTHSTAR_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "NORTHSTAR_EVALUATION_INTERVAL": "1",
        "NORTHSTAR_SOURCE_FAILURES_BEFORE_ALERT": "2",
        "NORTHSTAR_SOURCE_POLL_SECONDS": "0.2",
    }
    log_dir = tmp_path_factory.mktemp("sources-services")
    processes = [
        ServiceProcess(name, f"services.{name}", env, free_port(), log_dir=log_dir)
        for name in ("api", "evaluator", "collector")
    ]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_healthy(60, ready=True)
        suite = Suite(processes[0], admin_key, suite_database)
        yield suite
        await suite.http.aclose()
    except BaseException:
        for process in processes:
            print(f"\n----- last lines of {process.name} -----\n{process.log_tail(60)}")
        raise
    finally:
        for process in processes:
            process.send_terminate()
        for process in processes:
            process.terminate()


async def test_sql_sources_move_goals_once_and_a_dead_one_raises_an_alert(
    suite: Suite, shop_db: str, mariadb: MariaDBServer
) -> None:
    goal = await suite.goal_on("ticket_hours", "sum(ticket_hours)")
    source = await suite.source(
        {
            "name": "shop",
            "kind": "sql",
            "connection": {"url": shop_db},
            "query": SELECT_PG,
            "metric": "ticket_hours",
            "cursor": {"lookback": "PT2H"},
        }
    )
    assert "connection" not in source and source["connection_host"].startswith("127.0.0.1:")

    first = await suite.run(source["id"])
    assert (first["rows"], first["events"], first["duplicates"]) == (3, 3, 0)
    await suite.wait_actual(goal, 15.0)

    # A re-run asks for an overlapping window (watermark minus lookback): nothing new.
    again = await suite.run(source["id"])
    assert (again["rows"], again["events"], again["duplicates"]) == (3, 0, 3)
    assert again["window_start"] < first["window_end"]
    conn = await asyncpg.connect(shop_db)
    try:
        await conn.execute(
            "INSERT INTO tickets VALUES (4, $1, 11, 'us')", NOW - timedelta(minutes=5)
        )
    finally:
        await conn.close()
    third = await suite.run(source["id"])
    assert (third["events"], third["duplicates"]) == (1, 3)
    await suite.wait_actual(goal, 26.0)
    assert await suite.stored("pull:shop") == 4

    # MariaDB through the same path.
    naive = NOW.replace(tzinfo=None)
    mariadb.sql(
        "DELETE FROM shop.tickets;"
        f"INSERT INTO shop.tickets VALUES (1, '{naive - timedelta(minutes=20)}', 2, 'eu'),"
        f"(2, '{naive - timedelta(minutes=10)}', 4, 'us');"
    )
    maria_goal = await suite.goal_on("maria_hours", "sum(maria_hours)")
    maria = await suite.source(
        {
            "name": "maria",
            "kind": "sql",
            "connection": {"url": mariadb.url("shop")},
            "query": "SELECT resolved_at AS time, hours AS value FROM shop.tickets "
            "WHERE resolved_at >= :start AND resolved_at < :end",
            "metric": "maria_hours",
        }
    )
    assert (await suite.run(maria["id"]))["events"] == 2
    await suite.wait_actual(maria_goal, 6.0)
    assert (await suite.run(maria["id"]))["events"] == 0

    # A dead source: two failed runs in a row open a `source` alert on the goal.
    await suite.http.patch(
        f"/v1/sources/{source['id']}",
        json={"connection": {"url": f"postgresql://nobody@127.0.0.1:{free_port()}/shop"}},
    )
    failed = await suite.run(source["id"], status="failed")
    assert "cannot connect" in failed["error"], failed
    assert await suite.alert(goal) is None
    await suite.run(source["id"], status="failed")
    assert await suite.alert(goal) == "open"
    listed = (await suite.http.get(f"/v1/alerts?goal_id={goal}&kind=source")).json()
    assert listed["items"] and listed["items"][0]["severity"] == "warning"

    # Recovered: the next good run resolves it.
    response = await suite.http.patch(
        f"/v1/sources/{source['id']}", json={"connection": {"url": shop_db}}
    )
    assert response.status_code == 200, response.text
    await suite.run(source["id"])
    assert await suite.alert(goal) == "resolved"
    assert await suite.stored("pull:shop") == 4

    await _a_slow_query_is_cut_off_and_logged_and_a_writing_one_fails(suite, shop_db)
    await _the_demo_helpdesk_source_moves_its_goal(suite)


async def _the_demo_helpdesk_source_moves_its_goal(suite: Suite) -> None:
    """`make run`'s pulled KPI: the helpdesk table, its SQL source, KPI and goal."""
    await demo.seed_helpdesk(str(suite.http.base_url), suite.admin_key, suite.database_url)
    sources = (await suite.http.get("/v1/sources")).json()["items"]
    helpdesk = next(s for s in sources if s["name"] == "helpdesk")
    run = await suite.run(helpdesk["id"])
    assert run["events"] > 300  # three days of tickets
    goal = next(
        g
        for g in (await suite.http.get("/v1/goals", params={"limit": 100})).json()["items"]
        if g["kpi"] == "tickets_within_12h"
    )
    await eventually(
        lambda: suite.actual(goal["id"]),
        lambda actual: actual is not None and 50 < actual < 100,
        within=30,
        what="the helpdesk goal's value",
    )


async def _a_slow_query_is_cut_off_and_logged_and_a_writing_one_fails(
    suite: Suite, shop_db: str
) -> None:
    slow = await suite.source(
        {
            "name": "slow",
            "kind": "sql",
            "connection": {"url": shop_db},
            "query": "SELECT now() AS time, 1 AS value FROM pg_sleep(30)",
            "metric": "slow_value",
            "timeout_seconds": 8,
        }
    )
    writer = await suite.source(
        {
            "name": "writer",
            "kind": "sql",
            "connection": {"url": shop_db},
            "query": "DELETE FROM tickets RETURNING resolved_at AS time, hours AS value",
            "metric": "gone",
        }
    )
    # The slow source holds one place of the collector, never the others: the writer's
    # run starts, fails and is logged while the slow one is still running.
    slow_run = await suite.start(slow["id"])
    await eventually(
        lambda: suite.state(slow["id"], slow_run),
        lambda r: r["status"] == "running",
        within=30,
        what="the slow run to start",
    )
    refused = await suite.run(writer["id"], status="failed")
    assert "read-only transaction" in refused["error"]
    assert (await suite.state(slow["id"], slow_run))["status"] == "running"
    cut = await suite.finished(slow["id"], slow_run, "failed")
    assert "longer than the source's timeout of 8 s" in cut["error"]
    conn = await asyncpg.connect(shop_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM tickets") == 4  # none deleted
    finally:
        await conn.close()


async def test_http_json_and_prometheus_sources_move_goals_once(
    suite: Suite, json_server: JsonServer, prometheus_server: str
) -> None:
    await _an_http_json_source_moves_a_goal_once(suite, json_server)
    await _a_prometheus_source_moves_a_goal_once(suite, prometheus_server)


async def _an_http_json_source_moves_a_goal_once(suite: Suite, json_server: JsonServer) -> None:
    rows = [
        {"at": (NOW - timedelta(minutes=m)).isoformat(), "n": m, "region": {"code": "eu"}}
        for m in (30, 20, 10)
    ]
    json_server.document = {"data": {"items": rows}}
    goal = await suite.goal_on("api_orders", "sum(api_orders)")
    body = {
        "name": "orders-api",
        "kind": "http_json",
        "connection": {
            "url": f"{json_server.url}/orders?from={{start}}&to={{end}}",
            "token": "s3cret-token",
        },
        "query": "data.items",
        "metric": "api_orders",
        "mapping": {"time": "at", "value": "n", "dimensions": {"region": "region.code"}},
    }
    preview = await suite.post("/v1/sources/preview", {**body, "limit": 2}, status=200)
    assert len(preview["rows"]) == 2 and len(preview["events"]) == 2
    assert preview["events"][0]["dimensions"] == {"region": "eu"}
    assert preview["events"][0]["source"] == "pull:orders-api"

    source = await suite.source(body)
    first = await suite.run(source["id"])
    assert first["events"] == 3
    await suite.wait_actual(goal, 60.0)
    path, headers = json_server.requests[-1]
    assert headers["authorization"] == "Bearer s3cret-token"
    assert "from=" in path and "%3A" in path  # the window, URL-encoded

    assert (await suite.run(source["id"]))["duplicates"] == 3
    json_server.document = {"data": {"items": [*rows, {**rows[0], "at": NOW.isoformat()}]}}
    assert (await suite.run(source["id"]))["events"] == 1
    await suite.wait_actual(goal, 90.0)
    assert await suite.stored("pull:orders-api") == 4


async def _a_prometheus_source_moves_a_goal_once(suite: Suite, prometheus_server: str) -> None:
    goal = await suite.goal_on("prom_up", "max(prom_up)", target=1)
    source = await suite.source(
        {
            "name": "prom",
            "kind": "prometheus",
            "connection": {"url": prometheus_server},
            "query": 'up{job="self"}',
            "metric": "prom_up",
            "mapping": {"step": "PT1S"},
            "cursor": {"lookback": "PT1M"},
        }
    )
    first = await suite.run(source["id"])
    assert first["events"] > 0
    await suite.wait_actual(goal, 1.0)
    second = await suite.run(source["id"])
    # The windows overlap; the samples of the first window come back with the same ids.
    assert second["duplicates"] >= first["events"] - 1
    doubles = await fetchval(
        suite.database_url,
        "SELECT count(*) - count(DISTINCT time) FROM measurements WHERE source = 'pull:prom'",
    )
    assert doubles == 0
    end = datetime.fromisoformat(first["window_end"]).astimezone(UTC)
    before_end = await fetchval(
        suite.database_url,
        "SELECT count(*) FROM measurements WHERE source = 'pull:prom' AND time < $1",
        end,
    )
    assert before_end == first["events"]
