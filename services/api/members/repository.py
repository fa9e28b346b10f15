"""SQL for unit memberships."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from northstar.db.models import UnitMember, User


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_unit(self, unit_id: uuid.UUID) -> list[Any]:
        rows = await self.session.execute(
            select(
                UnitMember.unit_id,
                UnitMember.user_id,
                User.name,
                User.email,
                UnitMember.role,
                UnitMember.created_at,
            )
            .join(User, User.id == UnitMember.user_id)
            .where(UnitMember.unit_id == unit_id)
            .order_by(UnitMember.role, User.name, User.id)
        )
        return list(rows)

    async def put(self, unit_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
        stmt = insert(UnitMember).values(unit_id=unit_id, user_id=user_id, role=role)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[UnitMember.unit_id, UnitMember.user_id], set_={"role": role}
            )
        )

    async def remove(self, unit_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(UnitMember)
            .where(UnitMember.unit_id == unit_id, UnitMember.user_id == user_id)
            .returning(UnitMember.user_id)
        )
        return result.first() is not None
