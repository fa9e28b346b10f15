"""Re-judging goals inside a request's transaction, for every feature that changes one.

A goal, KPI, initiative or cycle edit re-judges the goals it touches before the request
commits, through the same `GoalJudge` the evaluator uses, so status history, alerts and
their outbox events follow one path whichever side changed the goal.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from northstar.evaluation.judge import GoalJudge


def utcnow() -> datetime:
    """The request's clock: what every feature passes as `now` to the domain."""
    return datetime.now(UTC)


async def evaluate_goals(
    session: AsyncSession, goal_ids: Sequence[uuid.UUID], now: datetime
) -> None:
    """Judge the goals (and their ancestors) at `now` inside the request's transaction; the
    evaluation locks and writes their `goal_state` rows."""
    if not goal_ids:
        return
    await session.flush()
    await GoalJudge().judge(await session.connection(), list(goal_ids), now)
