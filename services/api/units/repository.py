"""SQL for org units."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import Goal, OrgUnit


class UnitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, unit_id: uuid.UUID) -> OrgUnit | None:
        return await self.session.get(OrgUnit, unit_id)

    async def exists(self, unit_id: uuid.UUID) -> bool:
        found = await self.session.scalar(select(literal(1)).where(OrgUnit.id == unit_id))
        return found is not None

    async def add(self, unit: OrgUnit) -> OrgUnit:
        self.session.add(unit)
        await self.session.flush()
        await self.session.refresh(unit)
        return unit

    async def page(
        self,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        parent_id: uuid.UUID | None = None,
    ) -> list[OrgUnit]:
        query = select(OrgUnit).order_by(OrgUnit.created_at, OrgUnit.id).limit(limit)
        if parent_id is not None:
            query = query.where(OrgUnit.parent_id == parent_id)
        if after is not None:
            query = query.where(tuple_(OrgUnit.created_at, OrgUnit.id) > after)
        return list((await self.session.scalars(query)).all())

    async def ancestors(self, unit_id: uuid.UUID) -> list[uuid.UUID]:
        """The unit and every unit above it (a recursive walk up the parent links)."""
        up = select(OrgUnit.id, OrgUnit.parent_id).where(OrgUnit.id == unit_id).cte(recursive=True)
        up = up.union(select(OrgUnit.id, OrgUnit.parent_id).join(up, OrgUnit.id == up.c.parent_id))
        return list((await self.session.scalars(select(up.c.id))).all())

    async def blockers(self, unit_id: uuid.UUID) -> tuple[int, int]:
        """How many child units and goals refer to the unit."""
        children = select(func.count()).where(OrgUnit.parent_id == unit_id).scalar_subquery()
        goals = select(func.count()).where(Goal.unit_id == unit_id).scalar_subquery()
        row = (await self.session.execute(select(children, goals))).one()
        return int(row[0]), int(row[1])

    async def delete(self, unit: OrgUnit) -> None:
        await self.session.delete(unit)
        await self.session.flush()
