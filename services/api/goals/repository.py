"""SQL for goals, their latest state, revisions and status history.

Goals are read together with their `goal_state` columns (one outer join) and whether they
have children (an EXISTS), so a page costs one query. The tree costs one query for the
cascade and the versions of its rows, plus the columns of the goals whose nodes the api
has to render again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, exists, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from northstar.db.engine import driver
from northstar.db.models import (
    CheckIn,
    Cycle,
    Goal,
    GoalRevision,
    GoalState,
    Kpi,
    OrgUnit,
    Review,
    User,
    goal_status_history,
)

STATE_COLUMNS = (
    GoalState.status,
    GoalState.actual,
    GoalState.expected,
    GoalState.target,
    GoalState.score,
    GoalState.progress,
    GoalState.forecast_value,
    GoalState.forecast_status,
    GoalState.forecast_low,
    GoalState.forecast_high,
    GoalState.forecast_probability,
    GoalState.forecast_method,
    GoalState.evaluated_at,
    GoalState.children,
)


# The tree is read in steps within one snapshot: the shape of the cascade with the version
# of every goal's two rows (all a request needs for the nodes it has rendered before), then
# the columns of the goals, and of the states, whose nodes must be rendered again. A row's
# version is its `xmin`, the transaction that wrote the row version the query sees: every
# INSERT or UPDATE of a row, by whatever path, gives it a new one. The write time guards
# against a transaction id used again after a wraparound or a restore; it is read as
# microseconds since 1970, because decoding a timestamp per row was a large share of the
# query's time (docs/performance.md, "Figures the code's comments used to carry").
# See services/api/goals/nodes.py.
_VERSIONS = """
g.id, g.parent_id,
g.xmin AS goal_version, (extract(epoch FROM g.updated_at) * 1000000)::int8 AS goal_written,
s.xmin AS state_version, (extract(epoch FROM s.evaluated_at) * 1000000)::int8 AS state_written
"""
_TREE = f"""
SELECT {_VERSIONS} FROM goals g LEFT JOIN goal_state s ON s.goal_id = g.id
WHERE g.archived_at IS NULL
ORDER BY g.created_at, g.id
"""
_SUBTREE = f"""
WITH RECURSIVE subtree AS (
    SELECT id FROM goals WHERE id = $1
    UNION
    SELECT g.id FROM goals g JOIN subtree d ON g.parent_id = d.id
)
SELECT {_VERSIONS} FROM goals g JOIN subtree d ON d.id = g.id
LEFT JOIN goal_state s ON s.goal_id = g.id
WHERE g.archived_at IS NULL OR g.id = $1
ORDER BY g.created_at, g.id
"""
# Under the model's attribute names.
_TREE_GOALS = """
SELECT id, title, description, owner, owner_id, unit_id, parent_id, kpi_key, type, baseline, target,
       start, due, pacing, at_risk, off_track, weight, "window", rollup, rollup_cap, archived_at,
       alert_clear_margin,
       perspective, check_in_cadence, cycle_id, carried_from, created_at, updated_at
FROM goals WHERE id = ANY($1::uuid[])
"""
# A goal never judged has no state (or an empty one); its status object shows its target.
_TREE_STATES = """
SELECT g.id, g.target AS goal_target, g.start, g.created_at, g.check_in_cadence,
       g.last_check_in_at, g.plan_summary, s.status, s.actual, s.expected, s.target, s.score,
       s.progress, s.forecast_value, s.forecast_status, s.forecast_low, s.forecast_high,
       s.forecast_probability, s.forecast_method, s.evaluated_at, s.children
FROM goals g LEFT JOIN goal_state s ON s.goal_id = g.id WHERE g.id = ANY($1::uuid[])
"""


def _json(value: Any) -> Any:
    """A JSONB column as asyncpg hands it over (text, without a codec)."""
    return orjson.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class TreeGoal:
    """A goal's columns as the tree reads them (`_TREE_GOALS`)."""

    id: uuid.UUID
    title: str
    description: str
    owner: str | None
    owner_id: uuid.UUID | None
    unit_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    kpi_key: str | None
    type: str
    baseline: float
    target: float | None
    start: datetime | None
    due: datetime | None
    pacing: str
    at_risk: float
    off_track: float
    weight: float
    window: timedelta | None
    rollup: str
    rollup_cap: float
    archived_at: datetime | None
    alert_clear_margin: float
    perspective: str | None
    check_in_cadence: timedelta | None
    cycle_id: uuid.UUID | None
    carried_from: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TreeState:
    """A goal's state columns as the tree reads them (`_TREE_STATES`); all None but `id`
    and `goal_target` for a goal never judged."""

    id: uuid.UUID
    goal_target: float | None
    start: datetime | None
    created_at: datetime
    check_in_cadence: timedelta | None
    last_check_in_at: datetime | None
    plan_summary: dict[str, Any] | None  # JSON decoded
    status: str | None
    actual: float | None
    expected: float | None
    target: float | None
    score: float | None
    progress: float | None
    forecast_value: float | None
    forecast_status: str | None
    forecast_low: float | None
    forecast_high: float | None
    forecast_probability: float | None
    forecast_method: str | None
    evaluated_at: datetime | None
    children: dict[str, int] | None  # JSON decoded


@dataclass(frozen=True, slots=True)
class GoalRow:
    """A goal with its latest state (None if never evaluated) and whether it has children."""

    goal: Goal
    state: Any | None
    has_children: bool


@dataclass(frozen=True, slots=True)
class GoalFilters:
    unit_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    kpi: str | None = None
    status: str | None = None
    cycle_id: uuid.UUID | None = None
    perspective: str | None = None
    archived: bool = False


def _has_children() -> ColumnElement[bool]:
    child = aliased(Goal)
    return exists().where(child.parent_id == Goal.id).label("has_children")


def _with_state() -> Select[*tuple[Any, ...]]:
    return select(Goal, _has_children(), *STATE_COLUMNS).outerjoin(
        GoalState, GoalState.goal_id == Goal.id
    )


def _row(row: Any) -> GoalRow:
    state = row if row.status is not None else None
    return GoalRow(row.Goal, state, bool(row.has_children))


class GoalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, goal_id: uuid.UUID) -> Goal | None:
        return await self.session.get(Goal, goal_id)

    async def get_row(self, goal_id: uuid.UUID) -> GoalRow | None:
        row = (await self.session.execute(_with_state().where(Goal.id == goal_id))).first()
        return _row(row) if row is not None else None

    async def add(self, goal: Goal) -> Goal:
        self.session.add(goal)
        await self.session.flush()
        await self.session.refresh(goal)
        return goal

    async def page(
        self, limit: int, after: tuple[datetime, uuid.UUID] | None, filters: GoalFilters
    ) -> list[GoalRow]:
        query = _with_state().order_by(Goal.created_at, Goal.id).limit(limit)
        if filters.unit_id is not None:
            query = query.where(Goal.unit_id == filters.unit_id)
        if filters.parent_id is not None:
            query = query.where(Goal.parent_id == filters.parent_id)
        if filters.kpi is not None:
            query = query.where(Goal.kpi_key == filters.kpi)
        if filters.status is not None:
            # A goal never evaluated reads as no_data.
            query = query.where(func.coalesce(GoalState.status, "no_data") == filters.status)
        if filters.cycle_id is not None:
            query = query.where(Goal.cycle_id == filters.cycle_id)
        if filters.perspective is not None:
            query = query.where(Goal.perspective == filters.perspective)
        if filters.archived:
            query = query.where(Goal.archived_at.is_not(None))
        else:
            query = query.where(Goal.archived_at.is_(None))
        if after is not None:
            query = query.where(tuple_(Goal.created_at, Goal.id) > after)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def every_row(self) -> list[GoalRow]:
        """Every live goal with its latest state, oldest first (the scorecard workbook);
        archived goals are left out, as they are of the tree and the list."""
        query = _with_state().where(Goal.archived_at.is_(None)).order_by(Goal.created_at, Goal.id)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def scorecard_names(
        self,
    ) -> tuple[dict[uuid.UUID, str], dict[str, tuple[str, str]], dict[uuid.UUID, str]]:
        """Unit names by id, KPI `(name, unit)` by key and people's names by id: what the
        scorecard workbook prints instead of ids (names only, never emails)."""
        units = {
            uid: name
            for uid, name in (await self.session.execute(select(OrgUnit.id, OrgUnit.name))).all()
        }
        kpis = {
            key: (name, unit)
            for key, name, unit in (
                await self.session.execute(select(Kpi.key, Kpi.name, Kpi.unit))
            ).all()
        }
        people = {
            uid: name
            for uid, name in (await self.session.execute(select(User.id, User.name))).all()
        }
        return units, kpis, people

    async def tree(self, root: uuid.UUID | None) -> list[Any]:
        """Every goal (or the subtree under `root`, empty if there is no such goal) as
        `id, parent_id, goal_version, goal_written, state_version, state_written`, oldest
        first. Must be the session's first statement: it opens the transaction as
        REPEATABLE READ, so that `tree_goals` and `tree_states` afterwards read the very
        same row versions. Rows come straight from asyncpg (SQLAlchemy's row processing was
        a good part of the time of a thousand-row read)."""
        if self.session.in_transaction():
            raise RuntimeError("GoalRepository.tree must be the first statement of its session")
        conn = await self.session.connection(
            execution_options={"isolation_level": "REPEATABLE READ"}
        )
        raw = await driver(conn)
        if root is None:
            return list(await raw.fetch(_TREE))
        return list(await raw.fetch(_SUBTREE, root))

    async def tree_goals(self, goal_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, TreeGoal]:
        """The goals' columns by id, in the snapshot `tree` read."""
        if not goal_ids:
            return {}
        raw = await driver(await self.session.connection())
        return {row["id"]: TreeGoal(**row) for row in await raw.fetch(_TREE_GOALS, goal_ids)}

    async def tree_states(self, goal_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, TreeState]:
        """The goals' state columns (and `goal_target`) by goal id, in `tree`'s snapshot."""
        if not goal_ids:
            return {}
        raw = await driver(await self.session.connection())
        rows = await raw.fetch(_TREE_STATES, goal_ids)
        return {
            row["id"]: TreeState(
                **{
                    **row,
                    "plan_summary": _json(row["plan_summary"]),
                    "children": _json(row["children"]),
                }
            )
            for row in rows
        }

    async def ancestors(self, goal_id: uuid.UUID) -> list[uuid.UUID]:
        """The goal and every goal above it."""
        up = select(Goal.id, Goal.parent_id).where(Goal.id == goal_id).cte(recursive=True)
        up = up.union(select(Goal.id, Goal.parent_id).join(up, Goal.id == up.c.parent_id))
        return list((await self.session.scalars(select(up.c.id))).all())

    async def child_count(self, goal_id: uuid.UUID) -> int:
        count = await self.session.scalar(select(func.count()).where(Goal.parent_id == goal_id))
        return int(count or 0)

    async def live_child_count(self, goal_id: uuid.UUID) -> int:
        """The goal's children that are not archived."""
        count = await self.session.scalar(
            select(func.count()).where(Goal.parent_id == goal_id, Goal.archived_at.is_(None))
        )
        return int(count or 0)

    async def is_archived(self, goal_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(literal(1)).where(Goal.id == goal_id, Goal.archived_at.is_not(None))
        )
        return found is not None

    async def goal_exists(self, goal_id: uuid.UUID) -> bool:
        return await self.session.scalar(select(literal(1)).where(Goal.id == goal_id)) is not None

    async def unit_exists(self, unit_id: uuid.UUID) -> bool:
        found = await self.session.scalar(select(literal(1)).where(OrgUnit.id == unit_id))
        return found is not None

    async def cycle(self, cycle_id: uuid.UUID) -> Cycle | None:
        return await self.session.get(Cycle, cycle_id)

    async def kpi_exists(self, key: str) -> bool:
        return await self.session.scalar(select(literal(1)).where(Kpi.key == key)) is not None

    async def review_exists(self, review_id: uuid.UUID) -> bool:
        found = await self.session.scalar(select(literal(1)).where(Review.id == review_id))
        return found is not None

    async def delete(self, goal: Goal) -> None:
        await self.session.delete(goal)
        await self.session.flush()

    def add_revision(self, revision: GoalRevision) -> None:
        self.session.add(revision)

    # -- history sources -----------------------------------------------------------------

    async def status_history(
        self, goal_id: uuid.UUID, start: datetime, end: datetime
    ) -> Sequence[Any]:
        h = goal_status_history.c
        query = (
            select(h.time, h.status, h.actual, h.expected, h.score)
            .where(h.goal_id == goal_id, h.time >= start, h.time <= end)
            .order_by(h.time)
        )
        return (await self.session.execute(query)).all()

    async def check_ins(
        self, goal_id: uuid.UUID, start: datetime, end: datetime
    ) -> Sequence[CheckIn]:
        query = (
            select(CheckIn)
            .where(CheckIn.goal_id == goal_id, CheckIn.at >= start, CheckIn.at <= end)
            .order_by(CheckIn.at, CheckIn.id)
        )
        return (await self.session.scalars(query)).all()

    async def revisions(self, goal_id: uuid.UUID, start: datetime, end: datetime) -> Sequence[Any]:
        """Rows of `GoalRevision` and `review_title` (the cited review's title, or None)."""
        query = (
            select(GoalRevision, Review.title.label("review_title"))
            .outerjoin(Review, Review.id == GoalRevision.review_id)
            .where(
                GoalRevision.goal_id == goal_id,
                GoalRevision.changed_at >= start,
                GoalRevision.changed_at <= end,
            )
            .order_by(GoalRevision.changed_at, GoalRevision.id)
        )
        return (await self.session.execute(query)).all()
