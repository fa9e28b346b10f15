"""SQL for goals, their latest state, revisions and status history.

Goals are read together with their `goal_state` columns (one outer join) and whether they
have children (an EXISTS), so a page or a tree costs a fixed number of queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from northstar.db.models import (
    Goal,
    GoalRevision,
    GoalState,
    Kpi,
    OrgUnit,
    Review,
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
    GoalState.evaluated_at,
)


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
        if after is not None:
            query = query.where(tuple_(Goal.created_at, Goal.id) > after)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def forest(
        self, root: uuid.UUID | None
    ) -> tuple[list[SimpleNamespace], dict[uuid.UUID, Any]]:
        """Every goal (or the subtree under `root`), and their states by goal id: two
        set-based queries, however many goals there are. Goals come as rows of the table,
        not ORM objects: a read-only tree has no use for identity-mapped instances, and
        building them was a good part of a 1,000-goal tree's time. Each row becomes a plain
        namespace once, because the tree reads ~30 attributes per goal and `Row` attribute
        access costs far more than an instance's."""
        goals_table = Goal.__table__
        if root is None:
            goals = (await self.session.execute(select(goals_table))).all()
            states = (await self.session.execute(select(GoalState.goal_id, *STATE_COLUMNS))).all()
        else:
            down = select(Goal.id).where(Goal.id == root).cte("subtree", recursive=True)
            down = down.union(select(Goal.id).join(down, Goal.parent_id == down.c.id))
            goals = (
                await self.session.execute(
                    select(goals_table).join(down, goals_table.c.id == down.c.id)
                )
            ).all()
            states = (
                await self.session.execute(
                    select(GoalState.goal_id, *STATE_COLUMNS).join(
                        down, GoalState.goal_id == down.c.id
                    )
                )
            ).all()
        return (
            [SimpleNamespace(**row._mapping) for row in goals],
            {s.goal_id: s for s in states if s.status is not None},
        )

    async def ancestors(self, goal_id: uuid.UUID) -> list[uuid.UUID]:
        """The goal and every goal above it."""
        up = select(Goal.id, Goal.parent_id).where(Goal.id == goal_id).cte(recursive=True)
        up = up.union(select(Goal.id, Goal.parent_id).join(up, Goal.id == up.c.parent_id))
        return list((await self.session.scalars(select(up.c.id))).all())

    async def child_count(self, goal_id: uuid.UUID) -> int:
        count = await self.session.scalar(select(func.count()).where(Goal.parent_id == goal_id))
        return int(count or 0)

    async def goal_exists(self, goal_id: uuid.UUID) -> bool:
        return await self.session.scalar(select(literal(1)).where(Goal.id == goal_id)) is not None

    async def unit_exists(self, unit_id: uuid.UUID) -> bool:
        found = await self.session.scalar(select(literal(1)).where(OrgUnit.id == unit_id))
        return found is not None

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
