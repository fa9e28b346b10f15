"""Alert reads and people's acknowledgements and resolutions.

The transitions themselves are `AlertRecorder`'s (the same code the evaluator runs): it
takes the goal's evaluation lock, applies the pure rules and writes the alert, its event
and the outbox event in the request's transaction. This module maps its errors to HTTP
problems and assembles the answer.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from northstar.domain.alerts import AlertEventType, AlertSeverity, AlertState, AlertTransitionError
from northstar.evaluation.alerts import AlertNotFound, AlertRecorder, alert_object
from northstar.evaluation.repository import AlertRow
from northstar.http.problems import Problem
from services.api.alerts.repository import AlertRepository
from services.api.alerts.schemas import AlertDetail, AlertEventOut, AlertOut


def not_found(alert_id: uuid.UUID) -> Problem:
    return Problem(404, f"There is no alert with id {alert_id}.")


def alert_out(row: Any) -> AlertOut:
    """An alert row (with `goal_title`) in the shape `alert_object` defines."""
    return AlertOut.model_validate(alert_object(AlertRow.of(row), row["goal_title"]))


class AlertService:
    def __init__(self, repository: AlertRepository) -> None:
        self.repository = repository
        self._recorder = AlertRecorder()

    async def detail(self, alert_id: uuid.UUID) -> AlertDetail:
        row = await self.repository.get(alert_id)
        if row is None:
            raise not_found(alert_id)
        return await self._with_events(alert_out(row))

    async def acknowledge(
        self, alert_id: uuid.UUID, actor: str, note: str | None, now: datetime
    ) -> AlertDetail:
        conn = await self.repository.session.connection()
        try:
            alert = await self._recorder.acknowledge(
                conn, alert_id, actor=actor, note=note, now=now
            )
        except AlertNotFound:
            raise not_found(alert_id) from None
        except AlertTransitionError as error:
            raise _conflict(alert_id, error) from None
        return await self._with_events(AlertOut.model_validate(alert))

    async def resolve(
        self, alert_id: uuid.UUID, actor: str, note: str | None, now: datetime
    ) -> AlertDetail:
        conn = await self.repository.session.connection()
        try:
            alert = await self._recorder.resolve(conn, alert_id, actor=actor, now=now, note=note)
        except AlertNotFound:
            raise not_found(alert_id) from None
        except AlertTransitionError as error:
            raise _conflict(alert_id, error) from None
        return await self._with_events(AlertOut.model_validate(alert))

    async def _with_events(self, alert: AlertOut) -> AlertDetail:
        events = [
            AlertEventOut(
                id=e.id,
                type=AlertEventType(e.type),
                occurred_at=e.occurred_at,
                severity=AlertSeverity(e.severity),
                state=AlertState(e.state),
                actor=e.actor,
                note=e.note,
            )
            for e in await self.repository.events(alert.id)
        ]
        return AlertDetail(**alert.model_dump(), events=events)


def _conflict(alert_id: uuid.UUID, error: AlertTransitionError) -> Problem:
    return Problem(409, f"Alert {alert_id}: {error}.")
