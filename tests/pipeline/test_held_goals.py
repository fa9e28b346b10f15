"""A goal another transaction holds does not hold up the evaluator's batch (issue 29,
item 5), and a committed offset still means "stored and judged".

Another replica judging the same goal is stood in for by a transaction of the test that
holds the goal's `goal_state` row lock. While it holds it, the evaluator's batch stores
its event and commits (the goal is skipped in the batch's transaction) but does not
commit its offsets: it waits to judge the skipped goal after its commit. Once the lock
is released the goal shows the new event and the offsets are committed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.pipeline.conftest import Stack
from tests.support import eventually

DAY = timedelta(days=1)


async def _committed(stack: Stack) -> int:
    """Sum of the evaluator group's committed offsets on the events topic (read by a
    client of the group that never joins it)."""
    topic = f"{stack.topic_prefix}events"
    reader = AIOKafkaConsumer(
        bootstrap_servers=stack.kafka_bootstrap,
        group_id=f"{stack.topic_prefix}evaluator",
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        partitions = reader.partitions_for_topic(topic) or set()
        offsets = [await reader.committed(TopicPartition(topic, p)) for p in partitions]
    finally:
        await reader.stop()
    return sum(offset or 0 for offset in offsets)


async def _admin_post(stack: Stack, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await stack.client.post(
        f"{stack.api.url}{path}", json=body, headers=stack.auth(stack.admin_key)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_held_goal_is_judged_after_the_batch_commits_and_before_its_offsets(
    stack: Stack,
) -> None:
    now = datetime.now(UTC)
    await _admin_post(
        stack,
        "/v1/kpis",
        {"key": "held", "name": "Held", "expression": "sum(held_orders)", "kind": "lagging"},
    )
    goal = await _admin_post(
        stack,
        "/v1/goals",
        {
            "title": "Held goal",
            "kpi": "held",
            "target": 100,
            "start": (now - DAY).isoformat(),
            "due": (now + 10 * DAY).isoformat(),
        },
    )
    goal_id = goal["id"]
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:

        async def actual() -> float | None:
            value = await conn.fetchval(
                "SELECT actual FROM goal_state WHERE goal_id = $1::uuid", goal_id
            )
            return None if value is None else float(value)

        async def stored() -> int:
            return int(await conn.fetchval("SELECT count(*) FROM measurements"))

        first = await stack.push({"events": [{"metric": "held_orders", "value": 1}]})
        assert first.status_code == 202
        await eventually(actual, lambda v: v == 1.0, what="the first event judged")
        before = await eventually(
            lambda: _committed(stack), lambda n: n > 0, what="the first batch's offsets"
        )

        holder = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
        try:
            lock = holder.transaction()
            await lock.start()
            await holder.execute(
                "SELECT 1 FROM goal_state WHERE goal_id = $1::uuid FOR UPDATE", goal_id
            )
            second = await stack.push({"events": [{"metric": "held_orders", "value": 5}]})
            assert second.status_code == 202
            # The batch's transaction committed although the goal's row is held ...
            await eventually(stored, lambda n: n == 2, what="the second event stored")
            await asyncio.sleep(1.5)
            # ... but neither the goal nor the offsets moved: the goal waits for its lock,
            # and the offsets for the goal.
            assert await actual() == 1.0
            assert await _committed(stack) == before
            await lock.rollback()
        finally:
            await holder.close()

        await eventually(actual, lambda v: v == 6.0, what="the held goal judged with both events")
        await eventually(
            lambda: _committed(stack), lambda n: n > before, what="the second batch's offsets"
        )
    finally:
        await conn.close()
