"""SQL for reading alerts and their events. Alert changes are written by
`northstar.evaluation.alerts.AlertRecorder` (the evaluator and the api share it), never here;
the one write here annotates the event the recorder just wrote."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import Alert, AlertEvent, Goal
from northstar.domain.alerts import AlertEventType

_EVENT_ORDER = case(
    {event.value: rank for rank, event in enumerate(AlertEventType)}, value=AlertEvent.type
)
"""Events written at one instant (e.g. opened by an evaluation) sort in lifecycle order."""


@dataclass(frozen=True, slots=True)
class AlertFilters:
    states: tuple[str, ...] | None = None
    goal_id: uuid.UUID | None = None
    kind: str | None = None
    severity: str | None = None


def _with_title() -> Select[Any]:
    return select(Alert.__table__, Goal.title.label("goal_title")).join(
        Goal, Goal.id == Alert.goal_id
    )


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, limit: int, before: tuple[datetime, uuid.UUID] | None, filters: AlertFilters
    ) -> list[Any]:
        """Alert rows (mappings `alert_object` accepts, plus `goal_title`), newest first."""
        query = _with_title().order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)
        if filters.states is not None:
            query = query.where(Alert.state.in_(filters.states))
        if filters.goal_id is not None:
            query = query.where(Alert.goal_id == filters.goal_id)
        if filters.kind is not None:
            query = query.where(Alert.kind == filters.kind)
        if filters.severity is not None:
            query = query.where(Alert.severity == filters.severity)
        if before is not None:
            query = query.where(tuple_(Alert.opened_at, Alert.id) < before)
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def get(self, alert_id: uuid.UUID) -> Any | None:
        row = (await self.session.execute(_with_title().where(Alert.id == alert_id))).first()
        return row._mapping if row is not None else None

    async def events(self, alert_id: uuid.UUID) -> Sequence[AlertEvent]:
        query = (
            select(AlertEvent)
            .where(AlertEvent.alert_id == alert_id)
            .order_by(AlertEvent.occurred_at, _EVENT_ORDER, AlertEvent.id)
        )
        return (await self.session.scalars(query)).all()

    async def goal_events(
        self, goal_id: uuid.UUID, start: datetime, end: datetime
    ) -> Sequence[Any]:
        """Every event of the goal's alerts in `[start, end]`, oldest first (history)."""
        query = (
            select(
                AlertEvent.occurred_at,
                AlertEvent.type,
                AlertEvent.alert_id,
                Alert.kind,
                AlertEvent.severity,
                AlertEvent.state,
                AlertEvent.actor,
                AlertEvent.note,
            )
            .join(Alert, Alert.id == AlertEvent.alert_id)
            .where(
                Alert.goal_id == goal_id,
                AlertEvent.occurred_at >= start,
                AlertEvent.occurred_at <= end,
            )
            .order_by(AlertEvent.occurred_at, _EVENT_ORDER, AlertEvent.id)
        )
        return (await self.session.execute(query)).all()
