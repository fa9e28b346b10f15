"""A goal whose evaluation fails costs the timed sweep nothing else (issue 10): its chunk
is retried goal by goal, the failure is counted and skipped, and the other goals of the
chunk (and the rest of the sweep) are evaluated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from northstar.db.engine import create_engine
from northstar.telemetry import EVALUATOR
from services.evaluator.sweep import GoalEvaluationStep
from tests.api.conftest import Ingest, ok

DAY = timedelta(days=1)

_REFUSE_ONE_GOAL = """
CREATE FUNCTION refuse_goal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'this goal cannot be written' USING ERRCODE = 'XX000';
END $$;
CREATE TRIGGER refuse_goal BEFORE UPDATE ON goal_state
    FOR EACH ROW WHEN (NEW.goal_id = '{goal_id}'::uuid) EXECUTE FUNCTION refuse_goal();
"""


def _failures() -> float:
    return (
        EVALUATOR.get_sample_value("northstar_evaluator_errors_total", {"stage": "sweep_chunk"})
        or 0.0
    )


async def test_a_goal_that_fails_to_evaluate_is_skipped_and_the_rest_of_its_chunk_is_evaluated(
    client: httpx.AsyncClient, ingest: Ingest, database_url: str
) -> None:
    now = datetime.now(UTC)
    kpi = {"key": "revenue", "name": "Revenue", "expression": "sum(revenue)", "kind": "lagging"}
    ok(await client.post("/v1/kpis", json=kpi), 201)
    goals = [
        ok(
            await client.post(
                "/v1/goals",
                json={
                    "title": f"Goal {n}",
                    "kpi": "revenue",
                    "target": 1000,
                    "start": (now - 10 * DAY).isoformat(),
                    "due": (now + 20 * DAY).isoformat(),
                },
            ),
            201,
        )["id"]
        for n in range(3)
    ]
    broken = goals[1]
    raw = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        before = {
            str(r["goal_id"]): r["evaluated_at"]
            for r in await raw.fetch("SELECT goal_id, evaluated_at FROM goal_state")
        }
        await raw.execute(_REFUSE_ONE_GOAL.format(goal_id=broken))
        # New data, so every goal's state changes and must be written.
        await ingest([("revenue", 250.0, now - DAY, {})])

        engine = create_engine(database_url, pool_size=2)
        failures = _failures()
        try:
            evaluated = await GoalEvaluationStep(engine, interval=60).sweep()
        finally:
            await engine.dispose()

        after = {
            str(r["goal_id"]): (r["evaluated_at"], r["actual"])
            for r in await raw.fetch("SELECT goal_id, evaluated_at, actual FROM goal_state")
        }
    finally:
        await raw.close()
    assert evaluated == 2
    assert _failures() == failures + 1
    for goal_id in (goals[0], goals[2]):
        evaluated_at, actual = after[goal_id]
        assert actual == 250.0
        assert before.get(goal_id) is None or evaluated_at > before[goal_id]
    assert after[broken][1] != 250.0  # its state could not be written
