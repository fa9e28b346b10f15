"""SQL for cycles and for reading the subtrees carry-forward copies."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import Cycle, Goal, Initiative, Milestone


class CycleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, cycle_id: uuid.UUID) -> Cycle | None:
        return await self.session.get(Cycle, cycle_id)

    async def add(self, cycle: Cycle) -> Cycle:
        self.session.add(cycle)
        await self.session.flush()
        await self.session.refresh(cycle)
        return cycle

    async def delete(self, cycle: Cycle) -> None:
        await self.session.delete(cycle)
        await self.session.flush()

    async def page(self, limit: int, after: tuple[datetime, uuid.UUID] | None) -> list[Cycle]:
        query = select(Cycle).order_by(Cycle.start, Cycle.id).limit(limit)
        if after is not None:
            query = query.where(tuple_(Cycle.start, Cycle.id) > after)
        return list((await self.session.scalars(query)).all())

    async def goal_count(self, cycle_id: uuid.UUID) -> int:
        found = await self.session.scalar(select(func.count()).where(Goal.cycle_id == cycle_id))
        return int(found or 0)

    async def goals(self, goal_ids: Sequence[uuid.UUID]) -> list[Goal]:
        return list((await self.session.scalars(select(Goal).where(Goal.id.in_(goal_ids)))).all())

    async def subtree(self, root: uuid.UUID) -> list[Goal]:
        """The root and every goal below it that is not archived (an archived goal is
        left behind with its subtree), parents before children."""
        down = (
            select(Goal.id, literal(0, Integer).label("depth"))
            .where(Goal.id == root)
            .cte("down", recursive=True)
        )
        down = down.union_all(
            select(Goal.id, (down.c.depth + 1).label("depth"))
            .join(down, Goal.parent_id == down.c.id)
            .where(Goal.archived_at.is_(None))
        )
        query = (
            select(Goal)
            .join(down, Goal.id == down.c.id)
            .order_by(down.c.depth, Goal.created_at, Goal.id)
        )
        return list((await self.session.scalars(query)).all())

    async def open_initiatives(self, goal_ids: Sequence[uuid.UUID]) -> list[Initiative]:
        query = (
            select(Initiative)
            .where(
                Initiative.goal_id.in_(goal_ids),
                Initiative.status.not_in(("done", "cancelled")),
            )
            .order_by(Initiative.created_at, Initiative.id)
        )
        return list((await self.session.scalars(query)).all())

    async def open_milestones(self, initiative_ids: Sequence[uuid.UUID]) -> list[Milestone]:
        query = (
            select(Milestone)
            .where(Milestone.initiative_id.in_(initiative_ids), Milestone.done_at.is_(None))
            .order_by(Milestone.initiative_id, Milestone.position)
        )
        return list((await self.session.scalars(query)).all())

    def add_all(self, rows: Sequence[Goal | Initiative | Milestone]) -> None:
        self.session.add_all(rows)
