"""A stuck pipeline is visible (issue 10): while a batch fails for a reason outside the
data, the lag measured from the broker grows, `/readyz` names the problem, and the
shipped alerts fire in a real Prometheus scraping the evaluator; once the cause is gone
the batch commits and everything clears.

The database is made to refuse writes to one table (a trigger raising `disk_full`, the
kind of error a full volume gives), and the stuck event is produced with a Kafka
timestamp ten minutes old, so the lag is past the alert's threshold at once. The rules
are the shipped ones with their `for:` durations set to zero in a copy (promtool's rule
tests in deploy/prometheus/tests check the durations); nothing else is changed.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import yaml
from aiokafka import AIOKafkaProducer

from devstack.processes import tail
from northstar.events.codec import encode_events
from northstar.events.model import MetricEvent
from tests.conftest import StartService
from tests.observability.test_prometheus import RULES, Prometheus
from tests.support import eventually, fetchval

REFUSE_ROLLUP_WRITES = """
CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100';
END $$;
CREATE TRIGGER refuse_writes BEFORE INSERT ON rollup_1d
    FOR EACH ROW EXECUTE FUNCTION refuse_writes();
"""


def _rules_without_waiting(workdir: Path) -> list[str]:
    """Copies of the shipped rule files with every `for:` set to 0s."""
    paths = []
    for name in ("recording.yml", "alerts.yml"):
        rules: dict[str, Any] = yaml.safe_load((RULES / name).read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "0s"
        path = workdir / name
        path.write_text(yaml.safe_dump(rules))
        paths.append(str(path))
    return paths


async def _firing(prometheus: Prometheus, client: httpx.AsyncClient) -> set[str]:
    result = await prometheus.query(client, 'ALERTS{alertstate="firing"}')
    return {series["metric"]["alertname"] for series in result}


def _gauge(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


async def test_a_stuck_batch_raises_lag_fails_readyz_and_fires_the_alerts(
    prometheus_binary: str,
    start_service: StartService,
    database_url: str,
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    evaluator = start_service(
        "evaluator",
        env={
            "NORTHSTAR_LAG_INTERVAL_SECONDS": "0.5",
            "NORTHSTAR_READINESS_FAILED_ATTEMPTS": "3",
            "NORTHSTAR_RETRY_BACKOFF_MAX_SECONDS": "0.5",
        },
    )
    prometheus = Prometheus(prometheus_binary, tmp_path, {"evaluator": evaluator})
    config_path = tmp_path / "prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    config["rule_files"] = _rules_without_waiting(tmp_path)
    config_path.write_text(yaml.safe_dump(config))

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(REFUSE_ROLLUP_WRITES)
    finally:
        await conn.close()

    ten_minutes_ago = int(time.time() * 1000) - 600_000
    event = MetricEvent("stuck-1", "erp", "orders", 1.0, datetime.now(UTC), {})
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            f"{topic_prefix}events", encode_events([event]), timestamp_ms=ten_minutes_ago
        )
    finally:
        await producer.stop()

    prometheus.start()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            metrics_url = f"{evaluator.url}/metrics"

            async def lag() -> tuple[float, float]:
                text = (await client.get(metrics_url)).text
                return (
                    _gauge(text, "northstar_evaluator_consumer_lag_messages"),
                    _gauge(text, "northstar_evaluator_consumer_lag_seconds"),
                )

            behind = await eventually(
                lag, lambda v: v[0] >= 1 and v[1] > 590, within=60, what="lag from the broker"
            )
            assert behind[0] == 1  # the one message, although no batch has succeeded

            ready = await eventually(
                lambda: client.get(f"{evaluator.url}/readyz"),
                lambda r: (
                    r.status_code == 503 and "failed" in r.json()["checks"].get("consumer", "")
                ),
                within=60,
                what="/readyz to name the stuck consumer",
            )
            consumer_check = ready.json()["checks"]["consumer"]
            assert "messages behind" in consumer_check, consumer_check
            assert "No space left on device" in consumer_check, consumer_check
            assert ready.json()["checks"]["database"] == "ok"

            firing = await eventually(
                lambda: _firing(prometheus, client),
                lambda names: {"NorthstarConsumerLagHigh", "NorthstarEvaluatorBatchStuck"} <= names,
                within=90,
                what="the lag and stuck-batch alerts to fire",
            )
            assert "NorthstarEventsDeadLettered" not in firing  # nothing was the data's fault

            # The cause goes away: the same batch commits, and everything clears.
            conn = await asyncpg.connect(database_url)
            try:
                await conn.execute("DROP TRIGGER refuse_writes ON rollup_1d")
            finally:
                await conn.close()
            await eventually(
                lambda: fetchval(database_url, "SELECT count(*) FROM measurements"),
                lambda n: n == 1,
                within=60,
                what="the stuck event stored once the table takes writes",
            )
            await eventually(lag, lambda v: v == (0.0, 0.0), within=60, what="lag back to 0")
            await eventually(
                lambda: client.get(f"{evaluator.url}/readyz"),
                lambda r: r.status_code == 200,
                within=60,
                what="/readyz ready again",
            )
            await eventually(
                lambda: _firing(prometheus, client),
                lambda names: not names & {"NorthstarConsumerLagHigh"},
                within=60,
                what="the lag alert to resolve",
            )
    except BaseException:
        print(f"\n----- last lines of {prometheus.log_path} -----\n{tail(prometheus.log_path)}")
        raise
    finally:
        prometheus.stop()
