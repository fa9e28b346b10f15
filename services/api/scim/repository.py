"""SQL for SCIM: people found by the attributes a provider filters on, a page of them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import ScimGroup, ScimGroupMember, User


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


class ScimGroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, where: ColumnElement[bool] | None, offset: int, limit: int
    ) -> tuple[int, list[ScimGroup]]:
        counted = select(func.count()).select_from(ScimGroup)
        query = select(ScimGroup).order_by(ScimGroup.created_at, ScimGroup.id)
        if where is not None:
            counted, query = counted.where(where), query.where(where)
        total = await self.session.scalar(counted) or 0
        rows = await self.session.scalars(query.offset(offset).limit(limit)) if limit else None
        return total, list(rows.all()) if rows is not None else []

    async def members(self, group_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        found: dict[uuid.UUID, list[str]] = {g: [] for g in group_ids}
        rows = await self.session.execute(
            select(ScimGroupMember.group_id, ScimGroupMember.user_id)
            .where(ScimGroupMember.group_id.in_(list(found)))
            .order_by(ScimGroupMember.user_id)
        )
        for row in rows:
            found[row.group_id].append(str(row.user_id))
        return found

    async def existing_users(self, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        wanted = list(user_ids)
        if not wanted:
            return set()
        rows = await self.session.scalars(
            select(User.id).where(User.id.in_(wanted), User.scim_deleted_at.is_(None))
        )
        return set(rows.all())

    async def add_members(self, group_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> None:
        values = [{"group_id": group_id, "user_id": u} for u in user_ids]
        if values:
            await self.session.execute(
                insert(ScimGroupMember).values(values).on_conflict_do_nothing()
            )

    async def remove_members(self, group_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> None:
        wanted = list(user_ids)
        if wanted:
            await self.session.execute(
                delete(ScimGroupMember).where(
                    ScimGroupMember.group_id == group_id, ScimGroupMember.user_id.in_(wanted)
                )
            )

    async def leave_all(self, user_id: uuid.UUID) -> None:
        """A person deleted through SCIM is no group's member any more."""
        await self.session.execute(
            delete(ScimGroupMember).where(ScimGroupMember.user_id == user_id)
        )
