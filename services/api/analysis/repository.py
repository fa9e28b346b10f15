"""What the analysis routes read besides the rollups: a KPI's expression, a goal with
its KPI, and the dimensions seen on metrics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from northstar.db.models import Goal, Kpi, Metric


class AnalysisRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def connection(self) -> AsyncConnection:
        """The session's connection, for the rollup reads."""
        return await self._session.connection()

    async def kpi(self, key: str) -> Kpi | None:
        return await self._session.get(Kpi, key)

    async def goal_with_kpi(self, goal_id: uuid.UUID) -> tuple[Goal, Kpi | None] | None:
        row = (
            await self._session.execute(
                select(Goal, Kpi).outerjoin(Kpi, Kpi.key == Goal.kpi_key).where(Goal.id == goal_id)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def dimensions_seen(self, metrics: Sequence[str]) -> list[str]:
        """Every dimension seen on any of the metrics, sorted."""
        name = func.unnest(Metric.dimensions).label("name")
        rows = await self._session.execute(
            select(name).where(Metric.name.in_(list(metrics))).distinct()
        )
        return sorted(r[0] for r in rows)
