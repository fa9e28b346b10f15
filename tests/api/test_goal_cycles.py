"""The goal cascade never gets a cycle, whatever the concurrency, and no tree walk can
spin on one: opposing re-parentings race against a real api process, which keeps
answering and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from northstar.evaluation.goals import _deepest_first
from tests.conftest import StartService
from tests.support import fetchval

ROUNDS = 20

# A goal is on a cycle when walking up from it comes back to it.
_CYCLES = """
WITH RECURSIVE up(start, id, depth) AS (
    SELECT id, parent_id, 1 FROM goals WHERE parent_id IS NOT NULL
    UNION ALL
    SELECT up.start, g.parent_id, up.depth + 1
    FROM up JOIN goals g ON g.id = up.id
    WHERE g.parent_id IS NOT NULL AND up.id <> up.start AND up.depth < 1000
)
SELECT count(*) FROM up WHERE id = start
"""


async def _watch(client: httpx.AsyncClient, stop: asyncio.Event, slowest: list[float]) -> None:
    """Ask the api for its tree over and over, recording the slowest answer."""
    while not stop.is_set():
        started = time.perf_counter()
        response = await client.get("/v1/goals/tree", timeout=5)
        assert response.status_code == 200, response.text
        slowest.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)


async def test_opposing_reparentings_never_store_a_cycle(
    start_service: StartService, database_url: str, admin_key: str
) -> None:
    api = start_service("api")
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with (
        httpx.AsyncClient(base_url=api.url, headers=headers, timeout=10) as writer,
        httpx.AsyncClient(base_url=api.url, headers=headers) as watcher,
    ):
        stop = asyncio.Event()
        latencies: list[float] = []
        watching = asyncio.create_task(_watch(watcher, stop, latencies))
        outcomes: list[tuple[int, int]] = []
        for round_ in range(ROUNDS):
            a, b = [
                (await writer.post("/v1/goals", json={"title": f"{name} {round_}"})).json()["id"]
                for name in ("A", "B")
            ]
            first, second = await asyncio.gather(
                writer.patch(f"/v1/goals/{a}", json={"parent_id": b}),
                writer.patch(f"/v1/goals/{b}", json={"parent_id": a}),
            )
            outcomes.append((first.status_code, second.status_code))
            refused = first if first.status_code == 422 else second
            assert refused.headers["content-type"] == "application/problem+json"
            assert "cannot contribute to itself" in refused.json()["detail"]
        stop.set()
        await watching

    # Exactly one of each pair won; the other was refused as a cycle.
    assert sorted(set(outcomes)) <= [(200, 422), (422, 200)], outcomes
    assert await fetchval(database_url, _CYCLES) == 0
    assert latencies and max(latencies) < 1.0, max(latencies)

    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    api.send_terminate()
    assert api.wait(10) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in api.log_tail(20)


@pytest.mark.timeout(10)
def test_a_walk_up_a_cycle_written_around_the_api_ends() -> None:
    """Parent links that form a cycle (only SQL written by hand could store one) end the
    walk that orders roll-ups deepest first."""
    a, b, c, top = (uuid.uuid4() for _ in range(4))
    # Only `parent_id` of a goal's row is read.
    goals: dict[uuid.UUID, Any] = {
        a: SimpleNamespace(parent_id=b),
        b: SimpleNamespace(parent_id=c),
        c: SimpleNamespace(parent_id=a),
        top: SimpleNamespace(parent_id=None),
    }
    ordered = _deepest_first(goals, goals)
    assert sorted(ordered) == sorted(goals)
    assert ordered[-1] == top
