"""SQL for sources and their runs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import Source, SourceRun


class SourceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, source: Source) -> Source:
        self.session.add(source)
        await self.session.flush()
        await self.session.refresh(source)
        return source

    async def get(self, source_id: uuid.UUID, *, for_update: bool = False) -> Source | None:
        query = select(Source).where(Source.id == source_id)
        if for_update:
            query = query.with_for_update()
        return (await self.session.scalars(query)).one_or_none()

    async def by_name(self, name: str) -> Source | None:
        return (await self.session.scalars(select(Source).where(Source.name == name))).first()

    async def page(self, limit: int, after: str | None) -> list[Source]:
        query = select(Source).order_by(Source.name).limit(limit)
        if after is not None:
            query = query.where(Source.name > after)
        return list((await self.session.scalars(query)).all())

    async def delete(self, source: Source) -> None:
        await self.session.delete(source)
        await self.session.flush()

    async def add_run(self, run: SourceRun) -> SourceRun:
        self.session.add(run)
        await self.session.flush()
        await self.session.refresh(run)
        return run

    async def runs(
        self, source_id: uuid.UUID, limit: int, after: tuple[object, uuid.UUID] | None
    ) -> list[SourceRun]:
        """Newest first."""
        query = (
            select(SourceRun)
            .where(SourceRun.source_id == source_id)
            .order_by(SourceRun.created_at.desc(), SourceRun.id.desc())
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(SourceRun.created_at, SourceRun.id) < after)
        return list((await self.session.scalars(query)).all())

    async def runs_by_id(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, SourceRun]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(SourceRun).where(SourceRun.id.in_(ids)))
        return {r.id: r for r in rows}

    async def sources_of_metrics(self, metrics: Sequence[str]) -> list[Source]:
        query = select(Source).where(Source.metric.in_(list(metrics))).order_by(Source.name)
        return list((await self.session.scalars(query)).all())

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(Source)) or 0)
