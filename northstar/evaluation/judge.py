"""`judge`: evaluate goals and apply the alert rules to the result, in one transaction.

The single entry point for "something changed, re-judge these goals", used by the
evaluator (after a batch, on its timer) and by the api (a goal or KPI was changed), so
status history, alerts and their outbox events follow the same path from either.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.evaluation.alerts import AlertChange, AlertRecorder
from northstar.evaluation.goals import GoalEvaluationService, GoalOutcome


@dataclass(frozen=True, slots=True)
class Judgement:
    outcomes: list[GoalOutcome]
    alert_changes: list[AlertChange]

    @property
    def wrote_events(self) -> bool:
        """Whether the transaction wrote outbox events (status changes or alert changes)."""
        return bool(self.alert_changes) or any(
            o.changed and o.previous_status is not None for o in self.outcomes
        )


_service = GoalEvaluationService()
_alerts = AlertRecorder()


async def judge(
    conn: AsyncConnection,
    goal_ids: Sequence[uuid.UUID],
    now: datetime,
    *,
    forecasts: bool = True,
) -> Judgement:
    """Evaluate and apply the alert rules. `forecasts=False` keeps each goal's stored
    forecast instead of fitting models (the evaluator's per-batch path)."""
    outcomes = await _service.evaluate(conn, goal_ids, now, forecasts=forecasts)
    changes = await _alerts.apply(conn, outcomes, now)
    return Judgement(outcomes, changes)
