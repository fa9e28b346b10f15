"""The evaluator against the real broker and store: dead letters, outages, crashes and
clean shutdown — every acknowledged event stored exactly once."""

from __future__ import annotations

import asyncio
import signal
import time

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from devstack.broker import TansuBroker
from tests.conftest import StartService
from tests.pipeline.conftest import Stack
from tests.support import eventually, fetchval


async def _distinct_stored(stack: Stack) -> int:
    return int(
        await fetchval(  # type: ignore[arg-type]
            stack.database_url, "SELECT count(DISTINCT (source, event_id)) FROM measurements"
        )
    )


async def test_poison_messages_go_to_the_dlq_and_the_pipeline_goes_on(stack: Stack) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    await producer.start()
    try:
        events_topic = f"{stack.topic_prefix}events"
        origins = [
            await producer.send_and_wait(events_topic, b"\x00\xffnot json at all"),
            await producer.send_and_wait(events_topic, orjson.dumps({"hello": "world"})),
        ]
        mixed = {
            "v": 1,
            "events": [
                {
                    "event_id": "good-1",
                    "source": "raw",
                    "metric": "orders",
                    "value": 1,
                    "timestamp": "2026-03-01T00:00:00Z",
                    "dimensions": {},
                },
                {"event_id": "bad-1", "source": "raw", "metric": "Orders!", "value": 1},
            ],
        }
        origins.append(await producer.send_and_wait(events_topic, orjson.dumps(mixed)))
    finally:
        await producer.stop()
    after = await stack.push({"events": [{"metric": "orders", "value": 2}]})
    assert after.status_code == 202

    await eventually(stack.stored, lambda n: n == 2, what="the good events around the poison")

    consumer = AIOKafkaConsumer(
        f"{stack.topic_prefix}events.dlq",
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
        group_id=f"dlq-reader-{stack.topic_prefix}",
    )
    await consumer.start()
    try:
        letters: list[tuple[bytes, dict[str, bytes]]] = []
        deadline = time.monotonic() + 20
        while len(letters) < 3 and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                letters.extend((r.value, dict(r.headers)) for r in records)
    finally:
        await consumer.stop()
    assert len(letters) == 3
    # The three landed on different partitions, so the DLQ holds them in no fixed order.
    by_reason = {h["northstar-dlq-reason"].decode(): (value, h) for value, h in letters}
    garbage = next(v for r, v in by_reason.items() if r.startswith("not JSON"))
    assert garbage[0] == b"\x00\xffnot json at all"  # the original bytes, untouched
    assert "not a northstar events v1 message" in by_reason
    bad_event = next(v for r, v in by_reason.items() if "timestamp: is required" in r)
    assert orjson.loads(bad_event[0])["events"][0]["event_id"] == "bad-1"
    topic = f"{stack.topic_prefix}events".encode()
    assert all(h["northstar-source-topic"] == topic for _, h in letters)
    # Each letter points back at the message it came from.
    assert sorted(
        (int(h["northstar-source-partition"]), int(h["northstar-source-offset"]))
        for _, h in letters
    ) == sorted((m.partition, m.offset) for m in origins)

    assert stack.evaluator is not None
    metrics = (await stack.client.get(f"{stack.evaluator.url}/metrics")).text
    assert 'northstar_evaluator_events_total{outcome="dead_lettered"} 3.0' in metrics


async def test_broker_outage_answers_503_and_loses_nothing_acknowledged(
    stack: Stack, broker: TansuBroker
) -> None:
    acknowledged: set[str] = set()

    async def send(prefix: str, count: int) -> int:
        events = [
            {"metric": "orders", "value": 1, "event_id": f"{prefix}-{i}"} for i in range(count)
        ]
        response = await stack.push({"events": events})
        if response.status_code == 202:
            acknowledged.update(response.json()["event_ids"])
        return response.status_code

    assert await send("before", 20) == 202
    broker.pause()
    try:
        started = time.monotonic()
        status = await send("during", 20)
        elapsed = time.monotonic() - started
        response = await stack.push(
            {"events": [{"metric": "orders", "value": 1, "event_id": "unacknowledged"}]}
        )
        assert status == 503
        assert elapsed < 5.5, f"503 took {elapsed:.1f}s"
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert "nothing from this request was accepted" in response.json()["detail"]
        ready = await stack.client.get(f"{stack.ingest.url}/readyz")
        assert ready.status_code == 503
        assert "kafka" in ready.json()["detail"]
    finally:
        broker.resume()

    # Recovery: the same request, resent with its event ids, is accepted once the broker is back.
    await eventually(lambda: send("during", 20), lambda s: s == 202, within=30, what="recovery")
    assert await send("after", 20) == 202
    await eventually(
        lambda: _distinct_stored(stack), lambda n: n >= 60, within=30, what="60 events stored"
    )
    await asyncio.sleep(1)
    stored = await _ids(stack)
    assert acknowledged <= stored
    # A request answered 503 was not acknowledged, but may still land once the broker
    # resumes (it was already in the broker's socket): that is why clients resend with
    # their own event ids. Nothing else may appear, and nothing twice.
    assert stored - acknowledged <= {"unacknowledged"}
    assert await stack.stored() == await _distinct_stored(stack)


async def _ids(stack: Stack) -> set[str]:
    from tests.support import fetch

    return {
        r["event_id"] for r in await fetch(stack.database_url, "SELECT event_id FROM measurements")
    }


async def test_sigkill_mid_stream_then_restart_stores_every_event_exactly_once(
    stack: Stack,
) -> None:
    assert stack.evaluator is not None
    acknowledged: set[str] = set()

    async def produce(batches: int) -> None:
        for b in range(batches):
            events = [
                {"metric": "orders", "value": i, "event_id": f"k-{b}-{i}"} for i in range(200)
            ]
            response = await stack.push({"events": events})
            assert response.status_code == 202
            acknowledged.update(response.json()["event_ids"])
            await asyncio.sleep(0.02)

    producing = asyncio.create_task(produce(60))
    await eventually(stack.stored, lambda n: n > 0, what="the evaluator to start storing")
    stack.evaluator.kill()  # SIGKILL: no chance to finish the batch or commit offsets
    await producing
    stored_at_kill = await stack.stored()
    assert stored_at_kill < len(acknowledged)

    stack.evaluator.restart(timeout=60, ready=True)
    await eventually(
        lambda: _distinct_stored(stack),
        lambda n: n == len(acknowledged),
        within=60,
        what=f"all {len(acknowledged)} acknowledged events",
    )
    await asyncio.sleep(1)
    assert await stack.stored() == len(acknowledged) == 12_000
    assert await _ids(stack) == acknowledged


async def test_sigterm_finishes_the_batch_commits_and_leaves_the_group(
    stack: Stack, start_service: StartService
) -> None:
    assert stack.evaluator is not None
    for b in range(5):
        events = [{"metric": "orders", "value": 1, "event_id": f"t-{b}-{i}"} for i in range(100)]
        assert (await stack.push({"events": events})).status_code == 202
    await eventually(stack.stored, lambda n: n == 500, what="500 stored")

    started = time.monotonic()
    code = stack.evaluator.terminate(timeout=20)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status says why.
    assert code in (0, -signal.SIGTERM)
    assert time.monotonic() - started < 15
    tail = stack.evaluator.log_tail(30)
    assert "evaluator consumer stopped" in tail
    assert "Application shutdown complete" in tail

    # A new member takes over from the committed offsets: nothing is re-stored.
    replacement = start_service("evaluator", name="evaluator-2")
    events = [{"metric": "orders", "value": 1, "event_id": f"t-late-{i}"} for i in range(10)]
    assert (await stack.push({"events": events})).status_code == 202
    await eventually(stack.stored, lambda n: n == 510, within=45, what="510 stored")
    metrics = (await stack.client.get(f"{replacement.url}/metrics")).text
    assert 'northstar_evaluator_events_total{outcome="duplicate"} 0.0' in metrics
