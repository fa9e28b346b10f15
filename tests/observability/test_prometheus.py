"""The dashboards work against the real thing: a real Prometheus scraping the three real
services, with the shipped recording and alerting rules loaded.

The test seeds a KPI and a goal, pushes events through ingest (one batch invalid, so
rejections exist), lets the evaluator judge the goal (it ends off track, which opens a
critical alert), and then asks Prometheus' HTTP API for every expression of every panel
and template variable of every dashboard in deploy/grafana/dashboards (with `$goal`
set to the seeded goal) and for every recording rule: each must return at least one
series. The PostgreSQL panels run against the test's database and must return rows.
Nothing is skipped: without a `prometheus` binary the test fails, saying how to get one.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import yaml

from devstack.processes import REPO_ROOT, ServiceProcess, free_port, spawn, stop_process, tail
from tests.conftest import StartService
from tests.support import eventually, fetchval

DASHBOARDS = REPO_ROOT / "deploy" / "grafana" / "dashboards"
RULES = REPO_ROOT / "deploy" / "prometheus" / "rules"
PROMETHEUS_UID = "prometheus"
POSTGRES_UID = "northstar-postgres"


@dataclass(frozen=True)
class Query:
    where: str  # dashboard / panel (or rule file / rule), for the failure message
    text: str


def dashboard_queries() -> tuple[list[Query], list[Query], list[Query]]:
    """(PromQL of panels, PromQL of template variables, SQL of panels) of every dashboard."""
    promql: list[Query] = []
    variables: list[Query] = []
    sql: list[Query] = []

    def panels(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        flat = []
        for item in items:
            flat.append(item)
            flat.extend(panels(item.get("panels", [])))
        return flat

    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                query = variable["query"]
                text = query["query"] if isinstance(query, dict) else query
                variables.append(Query(f"{board['title']} / ${variable['name']}", text))
        for panel in panels(board["panels"]):
            for target in panel.get("targets", []):
                uid = (target.get("datasource") or panel["datasource"])["uid"]
                where = f"{board['title']} / {panel['title']} / {target['refId']}"
                if uid == PROMETHEUS_UID:
                    promql.append(Query(where, target["expr"]))
                elif uid == POSTGRES_UID:
                    sql.append(Query(where, target["rawSql"]))
                else:
                    raise AssertionError(f"{where}: unknown data source {uid}")
    return promql, variables, sql


def recording_rules() -> list[Query]:
    groups = yaml.safe_load((RULES / "recording.yml").read_text())["groups"]
    return [
        Query(f"recording.yml / {group['name']}", rule["record"])
        for group in groups
        for rule in group["rules"]
    ]


def grafana_variables(text: str, goal_id: str) -> str:
    """Substitute what Grafana substitutes before a query reaches Prometheus."""
    for name, value in {
        "goal": goal_id,
        "__rate_interval": "1m",
        "__interval": "15s",
        "__range": "1h",
    }.items():
        text = text.replace(f"${{{name}}}", value).replace(f"${name}", value)
    assert "$" not in text, f"unsubstituted variable in {text!r}"
    return text


def grafana_sql(text: str, goal_id: str) -> str:
    """Expand the Grafana SQL macros the dashboards use, as the PostgreSQL source does."""
    text = re.sub(
        r"\$__timeFilter\((\w+)\)",
        r"\1 BETWEEN now() - interval '7 days' AND now() + interval '1 hour'",
        text,
    )
    return grafana_variables(text, goal_id)


class Prometheus:
    """A throwaway Prometheus server scraping `targets` every second with our rules."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        targets: dict[str, ServiceProcess],
        credentials: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "prometheus.log"
        config = {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
            },
            "rule_files": [str(RULES / "recording.yml"), str(RULES / "alerts.yml")],
            "scrape_configs": [
                {
                    "job_name": job,
                    "static_configs": [{"targets": [f"127.0.0.1:{service.port}"]}],
                    # The api's business gauges need a key (as in deploy/prometheus).
                    **(
                        {"authorization": {"credentials": (credentials or {})[job]}}
                        if job in (credentials or {})
                        else {}
                    ),
                }
                for job, service in targets.items()
            ],
        }
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        self._argv = [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._proc = spawn(self._argv, log=log, env={"PATH": "/usr/bin:/bin"})
        deadline = time.monotonic() + 20
        while True:
            if self._proc.poll() is not None:
                raise AssertionError(f"prometheus exited:\n{tail(self.log_path)}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus not ready after 20 s:\n{tail(self.log_path)}")
            time.sleep(0.1)

    def stop(self) -> None:
        stop_process(self._proc, timeout=10)

    async def query(self, client: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
        response = await client.get(f"{self.url}/api/v1/query", params={"query": expr})
        body = response.json()
        assert body["status"] == "success", f"{expr!r}: {body.get('error')}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


async def seed_goal(database_url: str) -> str:
    """A department, a revenue KPI and a goal far behind its pace (so it goes off track)."""
    unit_id, goal_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO org_units (id, name, kind) VALUES ($1, 'Sales EU', 'department')",
            unit_id,
        )
        await conn.execute(
            "INSERT INTO kpis (key, name, unit, expression, kind, metrics) "
            "VALUES ('revenue_total', 'Revenue', 'EUR', 'sum(revenue)', 'lagging', "
            "ARRAY['revenue'])"
        )
        await conn.execute(
            "INSERT INTO goals (id, title, unit_id, kpi_key, type, baseline, target, start, due)"
            " VALUES ($1, 'Grow EU revenue', $2, 'revenue_total', 'reach', 0, 1000000, $3, $4)",
            goal_id,
            unit_id,
            now - timedelta(days=10),
            now + timedelta(days=10),
        )
    finally:
        await conn.close()
    return str(goal_id)


async def test_every_dashboard_query_and_recording_rule_returns_data(
    prometheus_binary: str,
    start_service: StartService,
    database_url: str,
    admin_key: str,
    tmp_path: Path,
) -> None:
    goal_id = await seed_goal(database_url)
    services = {
        "api": start_service("api"),
        "ingest": start_service("ingest"),
        "evaluator": start_service("evaluator"),
    }
    prometheus = Prometheus(prometheus_binary, tmp_path, services, {"api": admin_key})
    prometheus.start()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            await _push_demo_traffic(client, services, admin_key)
            await eventually(
                lambda: fetchval(
                    database_url, "SELECT status FROM goal_state WHERE goal_id = $1", goal_id
                ),
                lambda status: status == "off_track",
                within=20,
                what="the evaluator to judge the seeded goal off track",
            )
            await _assert_all_return_data(prometheus, client, goal_id)
            await _assert_rules_evaluate(prometheus, client)
        await _assert_sql_panels_return_rows(database_url, goal_id)
    except BaseException:
        print(f"\n----- last lines of {prometheus.log_path} -----\n{tail(prometheus.log_path)}")
        raise
    finally:
        prometheus.stop()


async def _push_demo_traffic(
    client: httpx.AsyncClient, services: dict[str, ServiceProcess], admin_key: str
) -> None:
    response = await client.post(
        f"{services['api'].url}/v1/api-keys",
        json={"name": "demo-shop", "scopes": ["events:write"]},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert response.status_code == 201, response.text
    headers = {"Authorization": f"Bearer {response.json()['key']}"}
    events_url = f"{services['ingest'].url}/v1/events"
    for batch in range(5):
        events = [
            {"metric": "revenue", "value": 100.0, "dimensions": {"region": "eu"}} for _ in range(10)
        ]
        response = await client.post(events_url, json={"events": events}, headers=headers)
        assert response.status_code == 202, response.text
        if batch == 2:
            bad = await client.post(
                events_url, json={"metric": "Bad Name", "value": 1}, headers=headers
            )
            assert bad.status_code == 422, bad.text
        await asyncio.sleep(0.3)


async def _assert_all_return_data(
    prometheus: Prometheus, client: httpx.AsyncClient, goal_id: str
) -> None:
    promql, variables, _ = dashboard_queries()
    assert len(promql) >= 30, "the dashboards lost their panels?"
    pending: dict[str, Query] = {}
    for query in [*promql, *recording_rules()]:
        pending.setdefault(grafana_variables(query.text, goal_id), query)
    for query in variables:
        match = re.fullmatch(r"query_result\((.*)\)", query.text, re.S)
        assert match, f"{query.where}: unsupported variable query {query.text!r}"
        pending.setdefault(match.group(1), query)

    deadline = time.monotonic() + 30
    last: dict[str, list[dict[str, Any]]] = {}
    while pending:
        for expr in list(pending):
            last[expr] = await prometheus.query(client, expr)
            if last[expr]:
                del pending[expr]
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    missing = "\n".join(f"  {q.where}: {expr}" for expr, q in pending.items())
    assert not pending, f"no data from Prometheus after 30 s for:\n{missing}"

    # The goal variable offers the seeded goal by title, with its id as the value.
    board = json.loads((DASHBOARDS / "goal-detail.json").read_text())
    variable = next(v for v in board["templating"]["list"] if v["name"] == "goal")
    expr = re.fullmatch(r"query_result\((.*)\)", variable["query"]["query"], re.S)
    assert expr is not None
    series = await prometheus.query(client, expr.group(1))
    # Grafana renders a query_result row as `{label="value", …} value timestamp`.
    rendered = [
        "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(s["metric"].items())) + "} 1 0"
        for s in series
    ]
    pattern = re.compile(variable["regex"].strip("/").replace("(?<", "(?P<"))
    options = {m["value"]: m["text"] for line in rendered if (m := pattern.search(line))}
    assert options == {goal_id: "Grow EU revenue"}


async def _assert_rules_evaluate(prometheus: Prometheus, client: httpx.AsyncClient) -> None:
    """Every recording and alerting rule evaluates without error on the real series."""
    body = (await client.get(f"{prometheus.url}/api/v1/rules")).json()
    rules = [rule for group in body["data"]["groups"] for rule in group["rules"]]
    assert len(rules) >= 25
    broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert not broken, broken
    # The seeded goal is off track and its critical alert is open: the business gauges
    # and the recording rules agree with the database.
    off_track = await prometheus.query(client, 'status:northstar_goals:max{status="off_track"}')
    assert [float(s["value"][1]) for s in off_track] == [1.0]
    critical = await prometheus.query(
        client, 'kind_severity:northstar_alerts_open:max{kind="status", severity="critical"}'
    )
    assert [float(s["value"][1]) for s in critical] == [1.0]


async def _assert_sql_panels_return_rows(database_url: str, goal_id: str) -> None:
    _, _, sql = dashboard_queries()
    assert sql, "the goal detail dashboard lost its PostgreSQL panels?"
    conn = await asyncpg.connect(database_url)
    try:
        for query in sql:
            rows = await conn.fetch(grafana_sql(query.text, goal_id))
            assert rows, f"{query.where}: no rows"
    finally:
        await conn.close()
