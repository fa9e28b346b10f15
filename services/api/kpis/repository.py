"""SQL for KPIs."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import AnomalyCheck, Goal, Kpi, Metric


class KpiRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> Kpi | None:
        return await self.session.get(Kpi, key)

    async def add(self, kpi: Kpi) -> Kpi:
        self.session.add(kpi)
        await self.session.flush()
        await self.session.refresh(kpi)
        return kpi

    async def page(self, limit: int, after: str | None) -> list[Kpi]:
        query = select(Kpi).order_by(Kpi.key).limit(limit)
        if after is not None:
            query = query.where(Kpi.key > after)
        return list((await self.session.scalars(query)).all())

    async def metric_catalogue(self) -> dict[str, list[str]]:
        """Every metric seen, with the dimension keys seen on it (the expression check)."""
        rows = await self.session.execute(select(Metric.name, Metric.dimensions))
        return {name: list(dimensions) for name, dimensions in rows.all()}

    async def goal_ids(self, key: str) -> list[uuid.UUID]:
        """Goals measured by the KPI."""
        query = select(Goal.id).where(Goal.kpi_key == key).order_by(Goal.id)
        return list((await self.session.scalars(query)).all())

    async def goal_count(self, key: str) -> int:
        return int(await self.session.scalar(select(func.count()).where(Goal.kpi_key == key)) or 0)

    async def delete(self, kpi: Kpi) -> None:
        await self.session.delete(kpi)
        await self.session.flush()

    async def forget_anomaly_checks(self, key: str) -> None:
        """Drop how far the KPI's anomaly checks got, so changed settings start afresh."""
        await self.session.execute(delete(AnomalyCheck).where(AnomalyCheck.kpi_key == key))
