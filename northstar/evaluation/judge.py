"""`GoalJudge`: evaluate goals and apply the alert rules to the result, in one transaction.

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

from northstar.domain.forecasting import UNLIMITED, FitBudget
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


class GoalJudge:
    """Evaluates goals, then applies the alert rules to the outcomes, in the caller's
    transaction. Holds the evaluation service (and its parsed-expression cache) and the
    alert recorder; one per process or request, nothing shared at module level."""

    def __init__(
        self,
        *,
        goals: GoalEvaluationService | None = None,
        alerts: AlertRecorder | None = None,
    ) -> None:
        self.goals = goals or GoalEvaluationService()
        self.alerts = alerts or AlertRecorder()

    async def judge(
        self,
        conn: AsyncConnection,
        goal_ids: Sequence[uuid.UUID],
        now: datetime,
        *,
        forecasts: bool = True,
        fits: FitBudget = UNLIMITED,
    ) -> Judgement:
        """Evaluate and apply the alert rules. `forecasts=False` keeps each goal's stored
        forecast instead of fitting models (the evaluator's per-batch path); `fits`
        bounds the model fitting of one sweep."""
        outcomes = await self.goals.evaluate(conn, goal_ids, now, forecasts=forecasts, fits=fits)
        changes = await self.alerts.apply(conn, outcomes, now)
        return Judgement(outcomes, changes)
