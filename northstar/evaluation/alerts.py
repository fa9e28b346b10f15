"""AlertRecorder: apply the alert rules to goal evaluations, and people's acknowledgements
and resolutions, inside the transaction that holds the goal's `goal_state` lock.

The rules are the pure ones in `northstar.domain.alerts`; this module loads the goal's
unresolved alerts, asks the rules what changes, writes the change, an `alert_events` row
and an outbox event — all in the caller's transaction, so an alert change is published
if and only if it was committed. The partial unique index on `alerts` backs the
"one unresolved alert per (goal, kind)" rule at the database level too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.domain.alerts import (
    Alert,
    AlertCondition,
    AlertEventType,
    AlertKind,
    AlertSeverity,
    AlertState,
    AlertTransition,
    acknowledge,
    alert_conditions,
    decide,
    resolve_by_hand,
)
from northstar.evaluation.goals import GoalOutcome
from northstar.evaluation.repository import (
    AlertEventWrite,
    AlertRow,
    AlertStateRepository,
    AlertUpdate,
)
from northstar.outbox import GOAL_STATUS_CHANGED, add_event

SYSTEM = "northstar"


class AlertNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class AlertChange:
    """A committed-with-the-transaction alert change (for logs and tests)."""

    alert_id: uuid.UUID
    goal_id: uuid.UUID
    event: AlertEventType
    severity: AlertSeverity
    state: AlertState


def _domain(row: AlertRow) -> Alert:
    return Alert(
        kind=AlertKind(row.kind),
        severity=AlertSeverity(row.severity),
        state=AlertState(row.state),
        opened_at=row.opened_at,
        updated_at=row.updated_at,
        acknowledged_at=row.acknowledged_at,
        note=row.note,
        resolved_at=row.resolved_at,
        resolved_by_hand=row.resolved_by not in (None, SYSTEM),
    )


def alert_object(row: AlertRow, goal_title: str | None) -> dict[str, Any]:
    """The alert as the API shows it and as events carry it."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": str(row.id),
        "goal_id": str(row.goal_id),
        "goal_title": goal_title,
        "kind": row.kind,
        "severity": row.severity,
        "state": row.state,
        "opened_at": iso(row.opened_at),
        "updated_at": iso(row.updated_at),
        "acknowledged_at": iso(row.acknowledged_at),
        "acknowledged_by": row.acknowledged_by,
        "note": row.note,
        "resolved_at": iso(row.resolved_at),
        "resolved_by": row.resolved_by,
        "details": row.details,
    }


class AlertRecorder:
    def __init__(self, *, repository: AlertStateRepository | None = None) -> None:
        self.repository = repository or AlertStateRepository()

    async def apply(
        self,
        conn: AsyncConnection,
        outcomes: Sequence[GoalOutcome],
        now: datetime,
    ) -> list[AlertChange]:
        """Decide and record the alert changes of these evaluations (goal rows locked by
        the evaluation), plus `goal.status_changed` events for status changes."""
        if not outcomes:
            return []
        current = await self.repository.unresolved(conn, [o.goal_id for o in outcomes])
        changes: list[AlertChange] = []
        for outcome in outcomes:
            if outcome.changed and outcome.previous_status is not None:
                await add_event(
                    conn,
                    type=GOAL_STATUS_CHANGED,
                    key=str(outcome.goal_id),
                    occurred_at=now,
                    data={
                        "goal_id": str(outcome.goal_id),
                        "title": outcome.title,
                        "from": outcome.previous_status,
                        "to": outcome.status.value,
                        "status": outcome.status_object(),
                    },
                )
            conditions = alert_conditions(
                status=outcome.status,
                score=outcome.score,
                thresholds=outcome.thresholds,
                forecast=outcome.forecast,
                stale=outcome.stale,
                clear_margin=outcome.alert_clear_margin,
                late_plan=outcome.late_plan,
            )
            for condition in conditions:
                row = current.get((outcome.goal_id, condition.kind.value))
                transition = decide(condition, _domain(row) if row is not None else None, now)
                if transition is None:
                    continue
                details = {
                    "status": outcome.status.value,
                    "score": outcome.score,
                    "actual": outcome.actual,
                    "expected": outcome.expected,
                }
                changes.append(
                    await self._record(
                        conn,
                        goal_id=outcome.goal_id,
                        goal_title=outcome.title,
                        row=row,
                        transition=transition,
                        actor=SYSTEM,
                        now=now,
                        details=details,
                    )
                )
        return changes

    async def apply_condition(
        self,
        conn: AsyncConnection,
        goal_id: uuid.UUID,
        condition: AlertCondition,
        details: Mapping[str, Any],
        now: datetime,
    ) -> AlertChange | None:
        """Decide and record one condition for one goal outside a goal evaluation (the
        anomaly checks), under the goal's lock like an evaluation."""
        if not await self.repository.lock_goal(conn, goal_id):
            return None  # never evaluated yet: nothing to alert on
        current = await self.repository.unresolved(conn, [goal_id])
        row = current.get((goal_id, condition.kind.value))
        transition = decide(condition, _domain(row) if row is not None else None, now)
        if transition is None:
            return None
        title = (await self.repository.goal_titles(conn, [goal_id])).get(goal_id)
        return await self._record(
            conn,
            goal_id=goal_id,
            goal_title=title,
            row=row,
            transition=transition,
            actor=SYSTEM,
            now=now,
            details=details,
        )

    async def acknowledge(
        self,
        conn: AsyncConnection,
        alert_id: uuid.UUID,
        *,
        actor: str,
        note: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        """A person acknowledges an alert. Raises AlertNotFound or AlertTransitionError."""
        return await self._by_hand(
            conn, alert_id, actor=actor, now=now, decide=lambda alert: acknowledge(alert, note, now)
        )

    async def resolve(
        self,
        conn: AsyncConnection,
        alert_id: uuid.UUID,
        *,
        actor: str,
        now: datetime,
        note: str | None = None,
    ) -> dict[str, Any]:
        """A person resolves an alert, optionally saying why. Raises AlertNotFound or
        AlertTransitionError."""
        cleaned = note.strip() if note else None
        return await self._by_hand(
            conn,
            alert_id,
            actor=actor,
            now=now,
            decide=lambda alert: resolve_by_hand(alert, now),
            resolution_note=cleaned or None,
        )

    async def _by_hand(
        self,
        conn: AsyncConnection,
        alert_id: uuid.UUID,
        *,
        actor: str,
        now: datetime,
        decide: Callable[[Alert], AlertTransition],
        resolution_note: str | None = None,
    ) -> dict[str, Any]:
        """A person's change: under the goal's lock, decided by the pure rule `decide`."""
        row, title = await self._locked(conn, alert_id)
        await self._record(
            conn,
            goal_id=row.goal_id,
            goal_title=title,
            row=row,
            transition=decide(_domain(row)),
            actor=actor,
            now=now,
            resolution_note=resolution_note,
        )
        return await self.get(conn, alert_id, title)

    async def get(
        self, conn: AsyncConnection, alert_id: uuid.UUID, title: str | None = None
    ) -> dict[str, Any]:
        row = await self.repository.get(conn, alert_id)
        if row is None:
            raise AlertNotFound(alert_id)
        return alert_object(row, title)

    async def _locked(
        self, conn: AsyncConnection, alert_id: uuid.UUID
    ) -> tuple[AlertRow, str | None]:
        """The alert, read after taking its goal's lock (the one evaluations take), so a
        person's change and an evaluation never interleave."""
        goal_id = await self.repository.lock_goal_of(conn, alert_id)
        row = None if goal_id is None else await self.repository.get(conn, alert_id)
        if goal_id is None or row is None:
            raise AlertNotFound(alert_id)
        titles = await self.repository.goal_titles(conn, [goal_id])
        return row, titles.get(goal_id)

    async def _record(
        self,
        conn: AsyncConnection,
        *,
        goal_id: uuid.UUID,
        goal_title: str | None,
        row: AlertRow | None,
        transition: AlertTransition,
        actor: str,
        now: datetime,
        details: Mapping[str, Any] | None = None,
        resolution_note: str | None = None,
    ) -> AlertChange:
        alert = transition.alert
        if row is None:
            written = await self.repository.insert(
                conn,
                goal_id=goal_id,
                kind=alert.kind.value,
                severity=alert.severity.value,
                state=alert.state.value,
                now=now,
                details=details or {},
            )
        else:
            acknowledged_by = row.acknowledged_by
            if transition.event is AlertEventType.ACKNOWLEDGED:
                acknowledged_by = actor
            written = await self.repository.update(
                conn,
                row.id,
                AlertUpdate(
                    severity=alert.severity.value,
                    state=alert.state.value,
                    acknowledged_at=alert.acknowledged_at,
                    acknowledged_by=acknowledged_by,
                    note=alert.note,
                    resolved_at=alert.resolved_at,
                    resolved_by=actor if transition.event is AlertEventType.RESOLVED else None,
                ),
                now,
            )
        # The event keeps what the person said with this change: the acknowledgement's note,
        # or why they resolved it.
        note = alert.note if transition.event is AlertEventType.ACKNOWLEDGED else resolution_note
        await self.repository.add_event(
            conn,
            AlertEventWrite(
                alert_id=written.id,
                type=transition.event.value,
                severity=alert.severity.value,
                state=alert.state.value,
                actor=actor,
                note=note,
            ),
            now,
        )
        await add_event(
            conn,
            type=transition.event.value,
            key=str(goal_id),
            occurred_at=now,
            # Who made the change and what they said, for subscribers.
            data={**alert_object(written, goal_title), "change": {"actor": actor, "note": note}},
        )
        return AlertChange(written.id, goal_id, transition.event, alert.severity, alert.state)
