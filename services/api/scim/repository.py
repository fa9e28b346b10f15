"""SQL for SCIM: people found by the attributes a provider filters on, a page of them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import User


class ScimUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, where: ColumnElement[bool] | None, offset: int, limit: int
    ) -> tuple[int, list[User]]:
        counted = select(func.count()).select_from(User).where(User.scim_deleted_at.is_(None))
        query = (
            select(User)
            .where(User.scim_deleted_at.is_(None))
            .order_by(User.created_at, User.id)
            .offset(offset)
            .limit(limit)
        )
        if where is not None:
            counted, query = counted.where(where), query.where(where)
        total = await self.session.scalar(counted) or 0
        return total, list((await self.session.scalars(query)).all()) if limit else []
