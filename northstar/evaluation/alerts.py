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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.engine import driver
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
from northstar.outbox import add_event

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


_UNRESOLVED = """
SELECT * FROM alerts WHERE goal_id = ANY($1::uuid[]) AND state <> 'resolved'
"""
_INSERT = """
INSERT INTO alerts (id, goal_id, kind, severity, state, opened_at, updated_at, details)
VALUES ($1, $2, $3, $4, $5, $6, $6, $7::jsonb)
RETURNING *
"""
_UPDATE = """
UPDATE alerts SET severity = $2, state = $3, updated_at = $4, acknowledged_at = $5,
    acknowledged_by = $6, note = $7, resolved_at = $8, resolved_by = $9
WHERE id = $1
RETURNING *
"""
_EVENT = """
INSERT INTO alert_events (id, alert_id, type, occurred_at, severity, state, actor, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
_GOAL_TITLES = "SELECT id, title FROM goals WHERE id = ANY($1::uuid[])"
_LOCK_GOAL_OF_ALERT = """
SELECT a.goal_id FROM alerts a WHERE a.id = $1
"""
_LOCK_GOAL = "SELECT goal_id FROM goal_state WHERE goal_id = $1 FOR UPDATE"
_ALERT = "SELECT * FROM alerts WHERE id = $1"
_UNRESOLVED_KIND = "SELECT * FROM alerts WHERE goal_id = $1 AND kind = $2 AND state <> 'resolved'"


def _domain(row: Any) -> Alert:
    return Alert(
        kind=AlertKind(row["kind"]),
        severity=AlertSeverity(row["severity"]),
        state=AlertState(row["state"]),
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        acknowledged_at=row["acknowledged_at"],
        note=row["note"],
        resolved_at=row["resolved_at"],
        resolved_by_hand=row["resolved_by"] not in (None, SYSTEM),
    )


def alert_object(row: Any, goal_title: str | None) -> dict[str, Any]:
    """The alert as the API shows it and as events carry it."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": str(row["id"]),
        "goal_id": str(row["goal_id"]),
        "goal_title": goal_title,
        "kind": row["kind"],
        "severity": row["severity"],
        "state": row["state"],
        "opened_at": iso(row["opened_at"]),
        "updated_at": iso(row["updated_at"]),
        "acknowledged_at": iso(row["acknowledged_at"]),
        "acknowledged_by": row["acknowledged_by"],
        "note": row["note"],
        "resolved_at": iso(row["resolved_at"]),
        "resolved_by": row["resolved_by"],
        "details": _details(row["details"]),
    }


def _details(value: Any) -> Any:
    if isinstance(value, str):
        return orjson.loads(value)
    return value


class AlertRecorder:
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
        raw = await driver(conn)
        ids = [o.goal_id for o in outcomes]
        current: dict[tuple[uuid.UUID, str], Any] = {
            (r["goal_id"], r["kind"]): r for r in await raw.fetch(_UNRESOLVED, ids)
        }
        changes: list[AlertChange] = []
        for outcome in outcomes:
            if outcome.changed and outcome.previous_status is not None:
                await add_event(
                    conn,
                    type="goal.status_changed",
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
                        conn, outcome.goal_id, outcome.title, row, transition, SYSTEM, now, details
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
        raw = await driver(conn)
        if await raw.fetchval(_LOCK_GOAL, goal_id) is None:
            return None  # never evaluated yet: no state row to lock, nothing to alert on
        row = await raw.fetchrow(_UNRESOLVED_KIND, goal_id, condition.kind.value)
        transition = decide(condition, _domain(row) if row is not None else None, now)
        if transition is None:
            return None
        title = (await _titles(raw, [goal_id])).get(goal_id)
        return await self._record(conn, goal_id, title, row, transition, SYSTEM, now, details)

    async def acknowledge(
        self,
        conn: AsyncConnection,
        alert_id: uuid.UUID,
        actor: str,
        note: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        """A person acknowledges an alert. Raises AlertNotFound or AlertTransitionError."""
        row, title = await self._locked(conn, alert_id)
        transition = acknowledge(_domain(row), note, now)
        await self._record(conn, row["goal_id"], title, row, transition, actor, now, None)
        return await self.get(conn, alert_id, title)

    async def resolve(
        self,
        conn: AsyncConnection,
        alert_id: uuid.UUID,
        actor: str,
        now: datetime,
        note: str | None = None,
    ) -> dict[str, Any]:
        """A person resolves an alert, optionally saying why. Raises AlertNotFound or
        AlertTransitionError."""
        row, title = await self._locked(conn, alert_id)
        transition = resolve_by_hand(_domain(row), now)
        cleaned = note.strip() if note else None
        await self._record(
            conn, row["goal_id"], title, row, transition, actor, now, None, cleaned or None
        )
        return await self.get(conn, alert_id, title)

    async def get(
        self, conn: AsyncConnection, alert_id: uuid.UUID, title: str | None = None
    ) -> dict[str, Any]:
        raw = await driver(conn)
        row = await raw.fetchrow(_ALERT, alert_id)
        if row is None:
            raise AlertNotFound(alert_id)
        return alert_object(row, title)

    async def _locked(self, conn: AsyncConnection, alert_id: uuid.UUID) -> tuple[Any, str | None]:
        """The alert, read after taking its goal's lock (the one evaluations take), so a
        person's change and an evaluation never interleave."""
        raw = await driver(conn)
        goal_id = await raw.fetchval(_LOCK_GOAL_OF_ALERT, alert_id)
        if goal_id is None:
            raise AlertNotFound(alert_id)
        await raw.fetchval(_LOCK_GOAL, goal_id)
        row = await raw.fetchrow(_ALERT, alert_id)
        titles = await _titles(raw, [goal_id])
        return row, titles.get(goal_id)

    async def _record(
        self,
        conn: AsyncConnection,
        goal_id: uuid.UUID,
        goal_title: str | None,
        row: Any,
        transition: AlertTransition,
        actor: str,
        now: datetime,
        details: Mapping[str, Any] | None,
        resolution_note: str | None = None,
    ) -> AlertChange:
        raw = await driver(conn)
        alert = transition.alert
        if row is None:
            written = await raw.fetchrow(
                _INSERT,
                uuid.uuid4(),
                goal_id,
                alert.kind.value,
                alert.severity.value,
                alert.state.value,
                now,
                orjson.dumps(details or {}).decode(),
            )
        else:
            acknowledged_by = row["acknowledged_by"]
            if transition.event is AlertEventType.ACKNOWLEDGED:
                acknowledged_by = actor
            resolved_by = actor if transition.event is AlertEventType.RESOLVED else None
            written = await raw.fetchrow(
                _UPDATE,
                row["id"],
                alert.severity.value,
                alert.state.value,
                now,
                alert.acknowledged_at,
                acknowledged_by,
                alert.note,
                alert.resolved_at,
                resolved_by,
            )
        # The event keeps what the person said with this change: the acknowledgement's note,
        # or why they resolved it.
        note = alert.note if transition.event is AlertEventType.ACKNOWLEDGED else resolution_note
        await raw.execute(
            _EVENT,
            uuid.uuid4(),
            written["id"],
            transition.event.value,
            now,
            alert.severity.value,
            alert.state.value,
            actor,
            note,
        )
        await add_event(
            conn,
            type=transition.event.value,
            key=str(goal_id),
            occurred_at=now,
            # Who made the change and what they said, for subscribers.
            data={**alert_object(written, goal_title), "change": {"actor": actor, "note": note}},
        )
        return AlertChange(written["id"], goal_id, transition.event, alert.severity, alert.state)


async def _titles(raw: Any, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    return {r["id"]: r["title"] for r in await raw.fetch(_GOAL_TITLES, list(ids))}
