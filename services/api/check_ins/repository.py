"""SQL for check-ins."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import CheckIn, Goal, Kpi


class CheckInRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def goal_with_kpi(self, goal_id: uuid.UUID) -> Any | None:
        """The goal's id and its KPI's key, source and metrics (None without a KPI)."""
        query = (
            select(Goal.id, Kpi.key, Kpi.source, Kpi.metrics)
            .outerjoin(Kpi, Kpi.key == Goal.kpi_key)
            .where(Goal.id == goal_id)
        )
        return (await self.session.execute(query)).first()

    async def get(self, check_in_id: uuid.UUID) -> CheckIn | None:
        return await self.session.get(CheckIn, check_in_id)

    async def insert(self, values: dict[str, Any]) -> bool:
        """Insert unless a check-in with this id exists; whether it was inserted."""
        inserted = await self.session.scalar(
            insert(CheckIn).values(**values).on_conflict_do_nothing().returning(CheckIn.id)
        )
        return inserted is not None

    async def touch_goal(self, goal_id: uuid.UUID, at: datetime) -> None:
        """Keep `goals.last_check_in_at` at the latest check-in's time."""
        await self.session.execute(
            update(Goal)
            .where(Goal.id == goal_id)
            .values(last_check_in_at=func.greatest(Goal.last_check_in_at, at))
            .execution_options(synchronize_session=False)
        )

    async def page(
        self, goal_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None
    ) -> Sequence[CheckIn]:
        """Newest first."""
        query = (
            select(CheckIn)
            .where(CheckIn.goal_id == goal_id)
            .order_by(CheckIn.at.desc(), CheckIn.id.desc())
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(CheckIn.at, CheckIn.id) < after)
        return (await self.session.scalars(query)).all()
