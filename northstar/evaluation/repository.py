"""The SQL of goal evaluation and alerts, with typed rows: `GoalStateRepository` and
`AlertStateRepository`.

Everything the evaluation reads (goals, their KPIs, children's scores, the stored state
it locks) and writes (`goal_state`, `goal_status_history`) goes through here, on the
caller's connection and inside the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from northstar.db.engine import driver


def _json(value: Any) -> Any:
    """A JSONB column as plain asyncpg hands it over (text), or already decoded."""
    return orjson.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class GoalDefinition:
    """A goal as the evaluation needs it, with its KPI (all KPI fields None for a roll-up)."""

    id: uuid.UUID
    parent_id: uuid.UUID | None
    title: str
    kpi_key: str | None
    type: str
    target: float | None
    baseline: float
    start: datetime | None
    due: datetime | None
    pacing: str
    at_risk: float
    off_track: float
    window: timedelta | None
    rollup: str
    alert_clear_margin: float
    created_at: datetime
    check_in_cadence: timedelta | None
    last_check_in_at: datetime | None
    plan_summary: dict[str, Any] | None  # JSON decoded
    expression: str | None
    kpi_metrics: list[str] | None
    max_staleness: timedelta | None
    kpi_created_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredState:
    """A goal's `goal_state` row as it was before this evaluation (locked)."""

    goal_id: uuid.UUID
    status: str | None
    status_since: datetime | None
    history_at: datetime | None
    # The stored forecast, which a batch keeps (only the sweep fits models).
    forecast_value: float | None = None
    forecast_status: str | None = None
    forecast_low: float | None = None
    forecast_high: float | None = None
    forecast_probability: float | None = None
    forecast_method: str | None = None


@dataclass(frozen=True, slots=True)
class ChildScore:
    weight: float
    score: float | None


@dataclass(frozen=True, slots=True)
class StateWrite:
    """One goal's new evaluation, as `goal_state` stores it."""

    goal_id: uuid.UUID
    status: str
    actual: float | None
    expected: float | None
    target: float | None
    score: float | None
    progress: float | None
    forecast_value: float | None
    forecast_status: str | None
    history: bool  # also append a `goal_status_history` row
    forecast_low: float | None = None
    forecast_high: float | None = None
    forecast_probability: float | None = None
    forecast_method: str | None = None


_CLOSURE = """
WITH RECURSIVE up AS (
    SELECT id, parent_id FROM goals WHERE id = ANY($1::uuid[])
    UNION
    SELECT g.id, g.parent_id FROM goals g JOIN up ON g.id = up.parent_id
)
SELECT id FROM up
"""
_ENSURE_STATE = """
INSERT INTO goal_state (goal_id) SELECT id FROM unnest($1::uuid[]) AS id ORDER BY id
ON CONFLICT DO NOTHING
"""
_LOCK = """
SELECT goal_id, status, status_since, history_at, forecast_value, forecast_status,
       forecast_low, forecast_high, forecast_probability, forecast_method FROM goal_state
WHERE goal_id = ANY($1::uuid[]) ORDER BY goal_id FOR UPDATE
"""
_LOAD = """
SELECT g.id, g.parent_id, g.title, g.kpi_key, g.type, g.target, g.baseline, g.start, g.due,
       g.pacing, g.at_risk, g.off_track, g.window, g.rollup, g.alert_clear_margin,
       g.created_at, g.check_in_cadence, g.last_check_in_at, g.plan_summary,
       k.expression, k.metrics AS kpi_metrics, k.max_staleness, k.created_at AS kpi_created_at
FROM goals g LEFT JOIN kpis k ON k.key = g.kpi_key
WHERE g.id = ANY($1::uuid[])
"""
# Goals with an open initiative past its due, or with a milestone of one past due and not
# done (northstar.domain.plans.late_items says the same in Python).
_LATE_PLANS = """
SELECT DISTINCT i.goal_id FROM initiatives i
WHERE i.goal_id = ANY($1::uuid[]) AND i.status NOT IN ('done', 'cancelled')
  AND (i.due < $2 OR EXISTS (
      SELECT 1 FROM milestones m
      WHERE m.initiative_id = i.id AND m.due < $2 AND m.done_at IS NULL))
"""
# Activity is kept per metric and shard (one writer each): the latest over the shards.
_LAST_RECEIVED = "SELECT max(last_received) FROM metric_activity WHERE metric = ANY($1::text[])"
_CHILDREN = """
SELECT g.weight, s.score FROM goals g JOIN goal_state s ON s.goal_id = g.id
WHERE g.parent_id = $1
"""
# Every outcome of a step is written with one statement per table (rows by goal id).
_WRITE_STATES = """
UPDATE goal_state AS s SET status = u.status, actual = u.actual, expected = u.expected,
    target = u.target, score = u.score, progress = u.progress,
    forecast_value = u.forecast_value, forecast_status = u.forecast_status,
    forecast_low = u.forecast_low, forecast_high = u.forecast_high,
    forecast_probability = u.forecast_probability, forecast_method = u.forecast_method,
    evaluated_at = $10,
    status_since = CASE WHEN s.status IS DISTINCT FROM u.status THEN $10 ELSE s.status_since END,
    history_at = CASE WHEN u.history THEN $10 ELSE s.history_at END
FROM unnest($1::uuid[], $2::varchar[], $3::float8[], $4::float8[], $5::float8[],
            $6::float8[], $7::float8[], $8::float8[], $9::varchar[], $11::bool[],
            $12::float8[], $13::float8[], $14::float8[], $15::varchar[])
     AS u(goal_id, status, actual, expected, target, score, progress, forecast_value,
          forecast_status, history, forecast_low, forecast_high, forecast_probability,
          forecast_method)
WHERE s.goal_id = u.goal_id
"""
_WRITE_HISTORY = """
INSERT INTO goal_status_history (time, goal_id, status, actual, expected, score)
SELECT $1, * FROM unnest($2::uuid[], $3::varchar[], $4::float8[], $5::float8[], $6::float8[])
"""
_AFFECTED = """
SELECT DISTINCT g.id FROM goals g
JOIN kpis k ON k.key = g.kpi_key
JOIN unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS t(metric, first, last)
  ON t.metric = ANY(k.metrics)
WHERE (g.start IS NULL OR t.last >= g.start) AND (g.due IS NULL OR t.first <= g.due)
ORDER BY g.id
"""
_ACTIVE = """
SELECT id FROM goals WHERE due IS NULL OR due >= $1 ORDER BY id
"""


class GoalStateRepository:
    async def affected(
        self, conn: AsyncConnection, touched: Iterable[tuple[str, datetime, datetime]]
    ) -> list[uuid.UUID]:
        """Goals whose KPI reads one of the metrics, with periods overlapping the
        `(metric, first, last)` ranges."""
        metrics, firsts, lasts = [], [], []
        for metric, first, last in touched:
            metrics.append(metric)
            firsts.append(first)
            lasts.append(last)
        if not metrics:
            return []
        raw = await driver(conn)
        return [r["id"] for r in await raw.fetch(_AFFECTED, metrics, firsts, lasts)]

    async def due_since(self, conn: AsyncConnection, moment: datetime) -> list[uuid.UUID]:
        """Goals without a due date or due at or after `moment`, by id."""
        raw = await driver(conn)
        return [r["id"] for r in await raw.fetch(_ACTIVE, moment)]

    async def lock_with_ancestors(
        self, conn: AsyncConnection, goal_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, StoredState]:
        """Lock the `goal_state` rows of the goals and all their ancestors (created where
        missing), in id order; return them as they were."""
        raw = await driver(conn)
        closure = [r["id"] for r in await raw.fetch(_CLOSURE, list(goal_ids))]
        await raw.execute(_ENSURE_STATE, closure)
        return {r["goal_id"]: StoredState(**r) for r in await raw.fetch(_LOCK, closure)}

    async def definitions(
        self, conn: AsyncConnection, goal_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, GoalDefinition]:
        raw = await driver(conn)
        rows = await raw.fetch(_LOAD, list(goal_ids))
        return {
            r["id"]: GoalDefinition(**{**r, "plan_summary": _json(r["plan_summary"])}) for r in rows
        }

    async def last_received(self, conn: AsyncConnection, metrics: Sequence[str]) -> datetime | None:
        """When an event for any of the metrics was last received (None: never)."""
        raw = await driver(conn)
        last: datetime | None = await raw.fetchval(_LAST_RECEIVED, list(metrics))
        return last

    async def late_plans(
        self, conn: AsyncConnection, goal_ids: Sequence[uuid.UUID], now: datetime
    ) -> set[uuid.UUID]:
        """Those of the goals with a late initiative or milestone at `now`."""
        raw = await driver(conn)
        return {r["goal_id"] for r in await raw.fetch(_LATE_PLANS, list(goal_ids), now)}

    async def child_scores(self, conn: AsyncConnection, goal_id: uuid.UUID) -> list[ChildScore]:
        raw = await driver(conn)
        return [ChildScore(**r) for r in await raw.fetch(_CHILDREN, goal_id)]

    async def write(
        self, conn: AsyncConnection, states: Sequence[StateWrite], now: datetime
    ) -> None:
        """Write the evaluations into `goal_state` (at `now`), and a history row for each
        marked `history`."""
        if not states:
            return
        raw = await driver(conn)
        await raw.execute(
            _WRITE_STATES,
            [s.goal_id for s in states],
            [s.status for s in states],
            [s.actual for s in states],
            [s.expected for s in states],
            [s.target for s in states],
            [s.score for s in states],
            [s.progress for s in states],
            [s.forecast_value for s in states],
            [s.forecast_status for s in states],
            now,
            [s.history for s in states],
            [s.forecast_low for s in states],
            [s.forecast_high for s in states],
            [s.forecast_probability for s in states],
            [s.forecast_method for s in states],
        )
        written = [s for s in states if s.history]
        if written:
            await raw.execute(
                _WRITE_HISTORY,
                now,
                [s.goal_id for s in written],
                [s.status for s in written],
                [s.actual for s in written],
                [s.expected for s in written],
                [s.score for s in written],
            )


# -- alerts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An `alerts` row."""

    id: uuid.UUID
    goal_id: uuid.UUID
    kind: str
    severity: str
    state: str
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> AlertRow:
        """From a row read with any column list that includes the alert's (extra columns,
        such as the api's `goal_title`, are left out). `details` may be JSON text (plain
        asyncpg) or already decoded (SQLAlchemy's pool)."""
        values = {name: row[name] for name in _ALERT_FIELDS}
        if isinstance(values["details"], str):
            values["details"] = orjson.loads(values["details"])
        return cls(**values)


_ALERT_FIELDS = AlertRow.__dataclass_fields__.keys()


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertUpdate:
    """What a transition changes on an existing alert."""

    severity: str
    state: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None
    resolved_at: datetime | None
    resolved_by: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertEventWrite:
    alert_id: uuid.UUID
    type: str
    severity: str
    state: str
    actor: str
    note: str | None


_UNRESOLVED = """
SELECT * FROM alerts WHERE goal_id = ANY($1::uuid[]) AND state <> 'resolved'
"""
_INSERT_ALERT = """
INSERT INTO alerts (id, goal_id, kind, severity, state, opened_at, updated_at, details)
VALUES ($1, $2, $3, $4, $5, $6, $6, $7::jsonb)
RETURNING *
"""
_UPDATE_ALERT = """
UPDATE alerts SET severity = $2, state = $3, updated_at = $4, acknowledged_at = $5,
    acknowledged_by = $6, note = $7, resolved_at = $8, resolved_by = $9
WHERE id = $1
RETURNING *
"""
_INSERT_EVENT = """
INSERT INTO alert_events (id, alert_id, type, occurred_at, severity, state, actor, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""
_GOAL_TITLES = "SELECT id, title FROM goals WHERE id = ANY($1::uuid[])"
_GOAL_OF_ALERT = "SELECT goal_id FROM alerts WHERE id = $1"
_LOCK_GOAL = "SELECT goal_id FROM goal_state WHERE goal_id = $1 FOR UPDATE"
_ALERT = "SELECT * FROM alerts WHERE id = $1"


class AlertStateRepository:
    async def unresolved(
        self, conn: AsyncConnection, goal_ids: Sequence[uuid.UUID]
    ) -> dict[tuple[uuid.UUID, str], AlertRow]:
        """The goals' unresolved alerts by (goal, kind)."""
        raw = await driver(conn)
        rows = [AlertRow.of(r) for r in await raw.fetch(_UNRESOLVED, list(goal_ids))]
        return {(row.goal_id, row.kind): row for row in rows}

    async def get(self, conn: AsyncConnection, alert_id: uuid.UUID) -> AlertRow | None:
        raw = await driver(conn)
        row = await raw.fetchrow(_ALERT, alert_id)
        return None if row is None else AlertRow.of(row)

    async def lock_goal_of(self, conn: AsyncConnection, alert_id: uuid.UUID) -> uuid.UUID | None:
        """Take the alert's goal's evaluation lock (its `goal_state` row); return the
        goal, or None when there is no such alert."""
        raw = await driver(conn)
        goal_id: uuid.UUID | None = await raw.fetchval(_GOAL_OF_ALERT, alert_id)
        if goal_id is not None:
            await raw.fetchval(_LOCK_GOAL, goal_id)
        return goal_id

    async def lock_goal(self, conn: AsyncConnection, goal_id: uuid.UUID) -> bool:
        """Take the goal's evaluation lock; False when it was never evaluated (no row)."""
        raw = await driver(conn)
        return await raw.fetchval(_LOCK_GOAL, goal_id) is not None

    async def goal_titles(
        self, conn: AsyncConnection, goal_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        raw = await driver(conn)
        return {r["id"]: r["title"] for r in await raw.fetch(_GOAL_TITLES, list(goal_ids))}

    async def insert(
        self,
        conn: AsyncConnection,
        *,
        goal_id: uuid.UUID,
        kind: str,
        severity: str,
        state: str,
        now: datetime,
        details: Mapping[str, Any],
    ) -> AlertRow:
        raw = await driver(conn)
        row = await raw.fetchrow(
            _INSERT_ALERT,
            uuid.uuid4(),
            goal_id,
            kind,
            severity,
            state,
            now,
            orjson.dumps(details).decode(),
        )
        return AlertRow.of(row)

    async def update(
        self, conn: AsyncConnection, alert_id: uuid.UUID, change: AlertUpdate, now: datetime
    ) -> AlertRow:
        raw = await driver(conn)
        row = await raw.fetchrow(
            _UPDATE_ALERT,
            alert_id,
            change.severity,
            change.state,
            now,
            change.acknowledged_at,
            change.acknowledged_by,
            change.note,
            change.resolved_at,
            change.resolved_by,
        )
        return AlertRow.of(row)

    async def add_event(self, conn: AsyncConnection, event: AlertEventWrite, now: datetime) -> None:
        raw = await driver(conn)
        await raw.execute(
            _INSERT_EVENT,
            uuid.uuid4(),
            event.alert_id,
            event.type,
            now,
            event.severity,
            event.state,
            event.actor,
            event.note,
        )
