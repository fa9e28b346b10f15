"""A batch the store refuses for its data is split, not retried forever (issue 10): the
messages at fault go to the DLQ once, with the reason and their original key, and every
other event of the batch is stored and committed.

PostgreSQL is made to refuse one event as a data exception (SQLSTATE class 22, as it
refused a NUL in COPY or an overflowing rollup sum before validation caught those) with a
trigger, so the test does not depend on which bad value validation happens to miss.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from northstar.events.codec import encode_events
from northstar.events.model import MetricEvent
from tests.conftest import StartService
from tests.pipeline.conftest import Stack
from tests.support import eventually, fetch

REFUSE_POISON = """
CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.event_id LIKE 'poison%' THEN
        RAISE EXCEPTION 'value out of range for %', NEW.event_id USING ERRCODE = '22003';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse_poison BEFORE INSERT ON event_keys
    FOR EACH ROW EXECUTE FUNCTION refuse_poison();
"""


async def _dlq(stack: Stack, *, settle: float) -> list[tuple[bytes | None, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(
        f"{stack.topic_prefix}events.dlq",
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"dlq-reader-{stack.topic_prefix}",
    )
    await consumer.start()
    letters: list[tuple[bytes | None, dict[str, bytes]]] = []
    try:
        deadline = asyncio.get_running_loop().time() + settle
        while asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                letters.extend((r.key, dict(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return letters


async def test_a_message_the_store_refuses_goes_to_the_dlq_once_and_the_rest_is_stored(
    stack: Stack,
) -> None:
    conn = await asyncpg.connect(stack.database_url)
    try:
        await conn.execute(REFUSE_POISON)
    finally:
        await conn.close()

    now = datetime.now(UTC)

    def message(name: str) -> bytes:
        return encode_events(
            [MetricEvent(f"{name}-{i}", "erp", "orders", 1.0, now, {}) for i in range(5)]
        )

    names = [f"good{m}" for m in range(19)]
    names.insert(7, "poison")
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, linger_ms=50)
    await producer.start()
    try:
        # Sent together, so they arrive in few batches and the poison shares one.
        sends = [
            await producer.send(f"{stack.topic_prefix}events", message(n), key=f"{n}-key".encode())
            for n in names
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()

    await eventually(stack.stored, lambda n: n == 95, what="the 95 good events stored")
    letters = await _dlq(stack, settle=4.0)
    assert len(letters) == 1, letters  # once, although its batch was tried several times
    key, headers = letters[0]
    assert key == b"poison-key"  # the original message key
    reason = headers["northstar-dlq-reason"].decode()
    assert "22003" in reason and "value out of range for poison-" in reason, reason
    rows = await fetch(stack.database_url, "SELECT DISTINCT event_id FROM measurements")
    assert not any(r["event_id"].startswith("poison") for r in rows)

    # The pipeline goes on: a later event is stored, and the offsets moved past the poison.
    assert (await stack.push({"metric": "orders", "value": 1, "source": "erp"})).status_code == 202
    await eventually(stack.stored, lambda n: n == 96, what="the event after the poison")
    assert stack.evaluator is not None
    metrics = (await stack.client.get(f"{stack.evaluator.url}/metrics")).text
    assert 'northstar_evaluator_events_total{outcome="dead_lettered"} 5.0' in metrics
    assert 'northstar_evaluator_events_total{outcome="stored"} 96.0' in metrics
    assert "northstar_evaluator_batch_failures 0.0" in metrics


async def test_values_that_overflow_the_rollups_are_dead_lettered_not_retried_forever(
    start_service: StartService, database_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """With the value bound lifted, the issue's `1e308` twice reaches the store: seconds
    apart, PostgreSQL's `sum + excluded.sum` overflows (SQLSTATE 22003); in one batch, the
    summary's sum does. Either way the message at fault goes to the DLQ and the pipeline
    goes on."""
    start_service("evaluator", env={"NORTHSTAR_EVENT_MAX_ABS_VALUE": "1.7e308"})
    now = datetime.now(UTC)

    def message(event_id: str, value: float, metric: str = "huge") -> bytes:
        return encode_events([MetricEvent(event_id, "erp", metric, value, now, {})])

    async def stored() -> list[str]:
        rows = await fetch(database_url, "SELECT event_id FROM measurements ORDER BY 1")
        return [r["event_id"] for r in rows]

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    topic = f"{topic_prefix}events"
    try:
        await producer.send_and_wait(topic, message("h1", 1e308), key=b"h1")
        await eventually(stored, lambda ids: ids == ["h1"], what="the first huge value")
        await producer.send_and_wait(topic, message("h2", 1e308), key=b"h2")  # fold overflows
        await producer.send_and_wait(topic, message("ok-1", 1.0, "orders"), key=b"ok-1")
        await eventually(stored, lambda ids: ids == ["h1", "ok-1"], what="the event after it")
        # Two in one message: the batch's own sum overflows.
        both = encode_events(
            [MetricEvent(f"pair-{i}", "erp", "pair", 1e308, now, {}) for i in range(2)]
        )
        await producer.send_and_wait(topic, both, key=b"pair")
        await producer.send_and_wait(topic, message("ok-2", 1.0, "orders"), key=b"ok-2")
        await eventually(stored, lambda ids: ids == ["h1", "ok-1", "ok-2"], what="ok-2")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        f"{topic_prefix}events.dlq",
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"dlq-reader-{topic_prefix}",
    )
    await consumer.start()
    letters: dict[bytes | None, str] = {}
    try:
        deadline = asyncio.get_running_loop().time() + 4
        while asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    letters[r.key] = dict(r.headers)["northstar-dlq-reason"].decode()
    finally:
        await consumer.stop()
    assert set(letters) == {b"h2", b"pair"}, letters
    assert "22003" in letters[b"h2"], letters[b"h2"]
    assert "overflows" in letters[b"pair"], letters[b"pair"]
