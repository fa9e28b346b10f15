"""Per-metric cardinality caps (SPEC §3, issue 10 item 6), with small caps set through
the settings: 3 dimension keys and 4 dimension sets per metric.

Ingest refuses what it can know with a per-event 422 naming the field, the metric and the
cap (`?partial=true` accepts the rest); events that reach Kafka without ingest are
refused by the evaluator, the authority, as dead letters (once, with the reason and the
original key) while the rest of their batch is stored. Known sets still flow at the cap,
and the pipeline stays alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from northstar.events.codec import encode_events
from northstar.events.model import MetricEvent
from tests.conftest import StartService
from tests.e2e.conftest import Northstar
from tests.support import eventually, fetch, fetchval

CAPS = {
    "NORTHSTAR_EVENT_MAX_DIMENSION_KEYS": "3",
    "NORTHSTAR_EVENT_MAX_DIMENSION_SETS": "4",
    "NORTHSTAR_CARDINALITY_CACHE_SECONDS": "0.2",
    "NORTHSTAR_EVALUATION_INTERVAL": "2",
}


class Capped(Northstar):
    evaluator_url: str
    database_url: str
    kafka_bootstrap: str
    topic_prefix: str

    async def send(self, events: list[dict[str, object]], **params: str) -> dict[str, object]:
        response = await self.http.post(
            f"{self.ingest_url}/v1/events",
            json={"events": events},
            headers=self.writer,
            params=params,
        )
        assert response.status_code in (202, 422), response.text
        body: dict[str, object] = response.json()
        body["status"] = response.status_code
        return body

    async def stored(self, metric: str) -> list[str]:
        rows = await fetch(
            self.database_url,
            "SELECT dimensions::text AS d FROM measurements WHERE metric = $1 ORDER BY 1",
            metric,
        )
        return [r["d"] for r in rows]

    async def metric(self, name: str) -> dict[str, object]:
        items = (await self.get("/v1/metrics", limit=500))["items"]
        (found,) = [m for m in items if m["name"] == name]
        return found  # type: ignore[no-any-return]

    async def counters(self) -> str:
        return (await self.http.get(f"{self.evaluator_url}/metrics")).text


@pytest.fixture
async def capped(
    start_service: StartService,
    admin_key: str,
    database_url: str,
    kafka_bootstrap: str,
    topic_prefix: str,
) -> AsyncIterator[Capped]:
    api = start_service("api", env=CAPS)
    ingest = start_service("ingest", env=CAPS)
    evaluator = start_service("evaluator", env=CAPS)
    client = Capped(api.url, ingest.url, admin_key)
    client.evaluator_url = evaluator.url
    client.database_url = database_url
    client.kafka_bootstrap = kafka_bootstrap
    client.topic_prefix = topic_prefix
    await client.setup()
    yield client
    await client.http.aclose()


def _region(name: str) -> str:
    return f'{{"region": "{name}"}}'


async def test_ingest_refuses_events_past_either_cap_naming_the_field_and_partial_keeps_the_rest(
    capped: Capped,
) -> None:
    regions = ["eu", "na", "apac", "latam"]
    body = await capped.send(
        [{"metric": "orders", "value": 1, "dimensions": {"region": r}} for r in regions]
    )
    assert body["status"] == 202
    await eventually(lambda: capped.stored("orders"), lambda s: len(s) == 4, what="4 sets")
    await asyncio.sleep(0.5)  # past ingest's catalogue cache

    # Past the set cap: a fifth region. Past the key cap: a fourth key on another metric.
    request = [
        {"metric": "orders", "value": 2, "dimensions": {"region": "eu"}},
        {"metric": "orders", "value": 2, "dimensions": {"region": "mars"}},
        {"metric": "wide", "value": 2, "dimensions": {"a": "1", "b": "1", "c": "1"}},
        {"metric": "wide", "value": 2, "dimensions": {"a": "1", "d": "1"}},
    ]
    refused = await capped.send(request)
    assert refused["status"] == 422
    errors = refused["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(1, "dimensions"), (3, "dimensions")]  # type: ignore[attr-defined]
    sets_message, keys_message = (e["message"] for e in errors)  # type: ignore[attr-defined]
    assert "'orders'" in sets_message and "4 distinct dimension sets" in sets_message
    assert "NORTHSTAR_EVENT_MAX_DIMENSION_SETS" in sets_message
    assert "'wide'" in keys_message and "at most 3" in keys_message and "d" in keys_message
    assert "NORTHSTAR_EVENT_MAX_DIMENSION_KEYS" in keys_message
    await asyncio.sleep(1)
    assert len(await capped.stored("orders")) == 4  # nothing of that request was accepted

    partial = await capped.send(request, partial="true")
    assert partial["status"] == 202 and partial["accepted"] == 2
    assert [r["index"] for r in partial["rejected"]] == [1, 3]  # type: ignore[attr-defined]
    await eventually(lambda: capped.stored("wide"), lambda s: len(s) == 1, what="wide stored")
    await eventually(lambda: capped.stored("orders"), lambda s: len(s) == 5, what="known set")
    assert _region("mars") not in await capped.stored("orders")

    ingest_metrics = (await capped.http.get(f"{capped.ingest_url}/metrics")).text
    # 4 events of the refused request, 2 of the partial one.
    assert 'northstar_ingest_events_total{outcome="rejected"} 6.0' in ingest_metrics
    orders = await capped.metric("orders")
    assert orders["dimension_sets"] == 4 and orders["dimensions"] == ["region"]


async def test_events_straight_into_kafka_past_the_caps_are_dead_lettered_once_the_rest_stored(
    capped: Capped,
) -> None:
    now = datetime.now(UTC)

    def event(event_id: str, metric: str, **dimensions: str) -> MetricEvent:
        return MetricEvent(event_id, "kafka-direct", metric, 1.0, now, dimensions)

    # One message holds admitted and refused events alike; the sets arrive in this order,
    # so the first four regions take the places and `r4`, `r5` are refused.
    first = [event(f"set-{i}", "direct", region=f"r{i}") for i in range(6)]
    first += [event("set-0-again", "direct", region="r0")]
    second = [
        event("keys-ok", "direct_keys", a="1", b="1"),
        event("keys-over", "direct_keys", a="1", c="1", d="1"),
        event("keys-fit", "direct_keys", c="1"),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=capped.kafka_bootstrap, linger_ms=50)
    await producer.start()
    topic = f"{capped.topic_prefix}events"
    try:
        await producer.send_and_wait(topic, encode_events(first), key=b"first-key")
        await producer.send_and_wait(topic, encode_events(second), key=b"second-key")
    finally:
        await producer.stop()

    async def stored_ids() -> set[str]:
        rows = await fetch(
            capped.database_url,
            "SELECT event_id FROM measurements WHERE source = 'kafka-direct'",
        )
        return {r["event_id"] for r in rows}

    want = {"set-0", "set-1", "set-2", "set-3", "set-0-again", "keys-ok", "keys-fit"}
    await eventually(stored_ids, lambda ids: ids == want, what="the admitted events")

    letters = await _dlq(capped, settle=3.0)
    by_id = {payload_id: (key, reason) for payload_id, key, reason in letters}
    assert sorted(by_id) == ["keys-over", "set-4", "set-5"], letters
    assert len(letters) == 3  # each once
    assert by_id["set-4"][0] == b"first-key" and by_id["keys-over"][0] == b"second-key"
    sets_reason = by_id["set-4"][1]
    assert "'direct'" in sets_reason and "4 distinct dimension sets" in sets_reason
    assert "NORTHSTAR_EVENT_MAX_DIMENSION_SETS" in sets_reason
    keys_reason = by_id["keys-over"][1]
    assert "'direct_keys'" in keys_reason and "NORTHSTAR_EVENT_MAX_DIMENSION_KEYS" in keys_reason

    counters = await capped.counters()
    assert 'northstar_evaluator_events_refused_total{reason="dimension_sets"} 2.0' in counters
    assert 'northstar_evaluator_events_refused_total{reason="dimension_keys"} 1.0' in counters
    assert 'northstar_evaluator_events_total{outcome="dead_lettered"} 3.0' in counters

    # Refused events are not in the dedupe ledger: replayed after the cap is raised,
    # they would be stored, not taken for duplicates.
    ledger = await fetchval(
        capped.database_url,
        "SELECT count(*) FROM event_keys WHERE event_id IN ('set-4', 'set-5', 'keys-over')",
    )
    assert ledger == 0
    direct = await capped.metric("direct")
    assert direct["dimension_sets"] == 4 and direct["event_count"] == 5
    assert (await capped.metric("direct_keys"))["dimensions"] == ["a", "b", "c"]

    # At the cap, known sets still flow, through Kafka and through ingest.
    producer = AIOKafkaProducer(bootstrap_servers=capped.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, encode_events([event("later", "direct", region="r2")]), key=b"later"
        )
    finally:
        await producer.stop()
    body = await capped.send(
        [{"metric": "direct", "value": 1, "source": "e2e-source", "dimensions": {"region": "r3"}}]
    )
    assert body["status"] == 202
    await eventually(
        lambda: capped.metric("direct"), lambda m: m["event_count"] == 7, what="known sets"
    )

    # The pipeline stays alive: a fresh event on a fresh KPI moves a fresh goal.
    await capped.assert_a_fresh_goal_moves()
    assert "northstar_evaluator_batch_failures 0.0" in await capped.counters()


async def _dlq(capped: Capped, *, settle: float) -> list[tuple[str, bytes | None, str]]:
    """(event id, message key, reason) of every dead letter."""
    import orjson

    consumer = AIOKafkaConsumer(
        f"{capped.topic_prefix}events.dlq",
        bootstrap_servers=capped.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"dlq-reader-{capped.topic_prefix}",
    )
    await consumer.start()
    letters: list[tuple[str, bytes | None, str]] = []
    try:
        deadline = asyncio.get_running_loop().time() + settle
        while asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    (payload,) = orjson.loads(r.value or b"")["events"]
                    letters.append(
                        (
                            payload["event_id"],
                            r.key,
                            dict(r.headers)["northstar-dlq-reason"].decode(),
                        )
                    )
    finally:
        await consumer.stop()
    return letters
