"""The goal status object (SPEC §7): one shape, built here for the evaluator and the api.

The evaluator builds it from a fresh evaluation (`GoalOutcome.status_report`) for alert
payloads and webhooks; the api builds it from the stored `goal_state` row
(`StatusReport.from_state`) for goals, the tree and reviews. Both then render it with
`to_dict`, so a field added here appears everywhere the status object does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from northstar.domain.goals import Forecast, ForecastStatus, GoalStatus


class StoredStatus(Protocol):
    """The columns of a `goal_state` row the status object is read from (the ORM object
    or a row read with plain SQL)."""

    @property
    def status(self) -> str | None: ...
    @property
    def actual(self) -> float | None: ...
    @property
    def expected(self) -> float | None: ...
    @property
    def target(self) -> float | None: ...
    @property
    def score(self) -> float | None: ...
    @property
    def progress(self) -> float | None: ...
    @property
    def forecast_value(self) -> float | None: ...
    @property
    def forecast_status(self) -> str | None: ...
    @property
    def forecast_low(self) -> float | None: ...
    @property
    def forecast_high(self) -> float | None: ...
    @property
    def forecast_probability(self) -> float | None: ...
    @property
    def forecast_method(self) -> str | None: ...
    @property
    def evaluated_at(self) -> datetime | None: ...
    @property
    def children(self) -> dict[str, int] | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    """A goal's latest evaluation as the status object shows it."""

    goal_id: uuid.UUID
    status: GoalStatus
    actual: float | None = None
    expected: float | None = None
    target: float | None = None
    score: float | None = None
    progress: float | None = None
    forecast: Forecast | None = None
    evaluated_at: datetime | None = None  # None: never evaluated
    children: dict[str, int] | None = None  # a roll-up's children by status (SPEC §5)

    @classmethod
    def from_state(
        cls, *, goal_id: uuid.UUID, target: float | None, state: StoredStatus | None
    ) -> StatusReport:
        """From the stored evaluation; a goal never evaluated reads `no_data` with the
        goal's own `target`."""
        if state is None or state.status is None:
            return cls(goal_id=goal_id, status=GoalStatus.NO_DATA, target=target)
        forecast = None
        if state.forecast_value is not None and state.forecast_status is not None:
            forecast = Forecast(
                state.forecast_value,
                ForecastStatus(state.forecast_status),
                low=state.forecast_low,
                high=state.forecast_high,
                probability=state.forecast_probability,
                method=state.forecast_method,
            )
        return cls(
            goal_id=goal_id,
            status=GoalStatus(state.status),
            actual=state.actual,
            expected=state.expected,
            target=state.target,
            score=state.score,
            progress=state.progress,
            forecast=forecast,
            evaluated_at=state.evaluated_at,
            children=state.children,
        )

    def to_dict(self) -> dict[str, Any]:
        """The status object as plain values. The id and the time stay a `UUID` and a
        `datetime`: each encoder renders them its own documented way (the api's JSON
        with `Z`, the outbox with `isoformat`)."""
        return {
            "goal_id": self.goal_id,
            "status": self.status.value,
            "actual": self.actual,
            "expected": self.expected,
            "target": self.target,
            "score": self.score,
            "progress": self.progress,
            "forecast": self.forecast.to_dict() if self.forecast is not None else None,
            "evaluated_at": self.evaluated_at,
            "children": self.children,
        }
